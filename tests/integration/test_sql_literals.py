"""
scripts/check-sql-literals, fed small C files: a libpq call or a wrapper of
one whose SQL text or statement name is not built from literals fails it,
with the file and line; literals, macros, const tables and struct fields
initialised from literals pass. Needs no stack.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "check-sql-literals")

PASSING = r'''
#include <libpq-fe.h>
#define CHUNK "100"
#define SQL_CALL(fn, args) "SELECT status FROM api." fn "(" args ")"
static const char count_sql[] = "SELECT count(*) FROM t";
static const char *const fetch[] = { [0] = "FETCH " CHUNK " FROM a", [1] = "FETCH 1 FROM b" };
struct stmt { const char *name; const char *sql; int n; };
static const struct stmt stmts[] = { { "one", SQL_CALL("one", "$1"), 1 }, { .name = "two",
	.sql = "SELECT 2", .n = 0 } };

static PGresult *
run(PGconn *pg, const char *sql)	/* a wrapper: its callers are checked */
{
	return PQexec(pg, sql);
}

void
fine(PGconn *pg, int which, const struct stmt *s)
{
	const char *q = which ? "SELECT 1" : "SELECT 2";

	PQexec(pg, "SELECT 1 " "FROM t");
	PQexec(pg, count_sql);
	PQexec(pg, fetch[which]);
	PQexec(pg, q);
	PQexecParams(pg, SQL_CALL("f", "$1"), 0, NULL, NULL, NULL, NULL, 0);
	PQsendPrepare(pg, s->name, s->sql, s->n, NULL);
	PQsendQueryPrepared(pg, stmts[which].name, 0, NULL, NULL, NULL, 0);
	run(pg, which ? count_sql : "SELECT 3");
}
'''

FAILING = r'''
#include <stdio.h>
#include <stdlib.h>
#include <libpq-fe.h>
struct stmt { const char *name; const char *sql; };

static void
run(PGconn *pg, const char *sql)
{
	PQclear(PQexec(pg, sql));
}

void
bad(PGconn *pg, const char *table, struct stmt *s)
{
	char sql[64], *input = getenv("QUERY");

	snprintf(sql, sizeof(sql), "FETCH 10 FROM %s", table);
	PQexec(pg, sql);
	run(pg, input);
	s->sql = input;
	PQsendPrepare(pg, "fixed", s->sql, 0, NULL);
	PQexecPrepared(pg, input, 0, NULL, NULL, NULL, 0);
}
'''


def check(tmp_path, source):
    path = tmp_path / "snippet.c"
    path.write_text(source)
    return subprocess.run([sys.executable, SCRIPT, str(path)], capture_output=True, text=True,
                          timeout=60)


def test_literal_sql_passes(tmp_path):
    r = check(tmp_path, PASSING)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wrappers checked: run" in r.stdout


def test_non_literal_sql_fails_with_file_and_line(tmp_path):
    r = check(tmp_path, FAILING)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "snippet.c:" in ln]
    where = {ln.split(": ")[0].rsplit(":", 1)[1] + " " + ln.split(": ")[1] for ln in lines}
    assert where == {"19 PQexec(), argument 2 `sql`",
                     "20 run(), argument 2 `input`",
                     "22 PQsendPrepare(), argument 3 `s -> sql`",
                     "23 PQexecPrepared(), argument 2 `input`"}, r.stdout


WRAPPERS = r'''
#include <libpq-fe.h>
static void inner(PGconn *pg, int n, const char *sql) { PQclear(PQexec(pg, sql)); }
static void outer(PGconn *pg, const char *what) { inner(pg, 0, what); }
void caller(PGconn *pg, char *buf)
{
	outer(pg, "SELECT 1");
	outer(pg, buf);
	inner(pg, 1, "SELECT 2");
}
void entry(PGconn *pg, char *line) { caller(pg, line); }
'''


def test_a_wrapper_is_checked_at_its_callers(tmp_path):
    # buf is caller()'s parameter: caller() is a wrapper too, and its caller
    # entry() passes a parameter again; nothing calls entry(), so nothing
    # fails until a call that is not from literals appears.
    r = check(tmp_path, WRAPPERS)
    assert r.returncode == 0, r.stdout
    assert "wrappers checked: caller, entry, inner, outer" in r.stdout
    r = check(tmp_path, WRAPPERS + "void bad(PGconn *pg) { char b[8] = \"x\"; entry(pg, b); }\n")
    assert r.returncode == 1
    assert "snippet.c:12: entry(), argument 2 `b`" in r.stdout, r.stdout


@pytest.mark.parametrize("call", [
    'PQexec(pg, "SELECT " NAME);',		# NAME is no macro: not a literal
    'PQexec(pg, table_name);',
    'PQsendQuery(pg, tables[0]);',		# a table that is not const
])
def test_anything_but_literals_fails(tmp_path, call):
    r = check(tmp_path, '#include <libpq-fe.h>\nchar *tables[] = { "a" };\n'
              'void f(PGconn *pg, const char *unused)\n{\n\t%s\n}\n' % call)
    assert r.returncode == 1, r.stdout + r.stderr


def test_the_tree_passes():
    r = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
