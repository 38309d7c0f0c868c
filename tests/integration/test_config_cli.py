"""certflowd --check-config and --migrate, the schema-version guard, and the certflow CLI."""

import hashlib
import re
import shutil
import subprocess
import uuid

import pytest

from cfclient import TOKEN_RE, Client, slowness
from conftest import REPO, certflowd_argv, conf_with, free_port, pg_environ, unique_email


def run(argv, timeout=60, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout * slowness(), stdin=subprocess.DEVNULL, **kw)


def schema_dump(stack, database=None):
    """pg_dump --schema-only, without the per-dump random \\restrict key lines."""
    env = pg_environ(stack, PGDATABASE=database) if database else pg_environ(stack)
    p = run(["pg_dump", "--schema-only"], env=env)
    assert p.returncode == 0, p.stderr
    return "\n".join(l for l in p.stdout.splitlines()
                     if not l.startswith(("\\restrict", "\\unrestrict")))


def certflowd(stack, *args, timeout=60):
    return run(certflowd_argv(stack, *args), timeout=timeout)


def certflow(stack, *args):
    return run([stack.certflow, "-c", stack.conf] + list(args))


# --------------------------------------------------------------- --check-config

def test_check_config_accepts_the_stack_config(stack):
    p = certflowd(stack, "--check-config", "-c", stack.conf)
    assert p.returncode == 0, p.stderr


def test_check_config_names_the_line_and_the_unknown_key(stack, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("# line 1\n# line 2\nbogus_setting = 1\n" + stack.conf_text())
    p = certflowd(stack, "--check-config", "-c", conf)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert ":3:" in out, out
    assert "bogus_setting" in out, out


@pytest.mark.parametrize("key,value", [("listen_port", "notaport"), ("listen_port", "70000"),
                                       ("max_body_size", "-1"), ("tls_verify_client", "maybe"),
                                       ("db_pool_size", "0")])
def test_check_config_names_the_key_of_a_bad_value(stack, tmp_path, key, value):
    conf = tmp_path / "bad.conf"
    conf.write_text(conf_with(stack.conf_text(), **{key: value}))
    p = certflowd(stack, "--check-config", "-c", conf)
    assert p.returncode != 0
    assert key in p.stdout + p.stderr, p.stdout + p.stderr


def test_check_config_refuses_a_missing_required_key(stack, tmp_path):
    text = "\n".join(l for l in stack.conf_text().splitlines() if not l.startswith("db_conninfo"))
    conf = tmp_path / "bad.conf"
    conf.write_text(text + "\n")
    p = certflowd(stack, "--check-config", "-c", conf)
    assert p.returncode != 0
    assert "db_conninfo" in p.stdout + p.stderr


def test_check_config_refuses_a_missing_file(stack, tmp_path):
    p = certflowd(stack, "--check-config", "-c", tmp_path / "nope.conf")
    assert p.returncode != 0
    assert "nope.conf" in p.stdout + p.stderr


def test_certflowd_refuses_to_start_with_a_bad_config(stack, tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(conf_with(stack.conf_text(), listen_port=str(free_port()), bogus_setting="1"))
    p = certflowd(stack, "-c", conf, timeout=30)
    assert p.returncode != 0
    assert "bogus_setting" in p.stdout + p.stderr


# --------------------------------------------------------------- CLI

def test_cli_user_add_prints_exactly_one_line_the_token(stack):
    email = unique_email("cli")
    p = certflow(stack, "user", "add", "--name", "Cli User", "--email", email, "--role", "student")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 1, "stdout has %d lines" % len(lines)
    assert p.stdout.endswith("\n")
    token = lines[0]
    assert TOKEN_RE.match(token), "stdout is not a token"
    c = Client(stack, token=token)
    try:
        r = c.get("/v1/me")
        assert r.status == 200, r
        me = r.json()
        assert me["email"] == email
        assert me["name"] == "Cli User"
        assert me["roles"] == ["student"]
    finally:
        c.close()


def test_cli_user_add_jury_with_category(stack):
    email = unique_email("clij")
    p = certflow(stack, "user", "add", "--name", "Juror", "--email", email, "--role", "jury",
                 "--jury-category", "expert")
    assert p.returncode == 0, p.stderr
    c = Client(stack, token=p.stdout.strip())
    try:
        me = c.get("/v1/me").json()
        assert me["roles"] == ["jury"] and me["jury_category"] == "expert"
    finally:
        c.close()


def test_cli_user_add_records_an_audit_row_and_a_digest_only(stack, psql):
    email = unique_email("clia")
    p = certflow(stack, "user", "add", "--name", "Audit Cli", "--email", email, "--role", "mentor")
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()
    uid = psql("select id from users where email = '%s'" % email)
    assert uid
    assert psql("select count(*) from audit_log where action = 'user.create' and entity_id = %s"
                % uid) == "1"
    digest = psql("select encode(digest, 'hex') from api_tokens where user_id = %s" % uid)
    assert digest == hashlib.sha256(token.encode()).hexdigest()


def test_cli_unknown_role_fails_without_creating_the_user(stack, psql):
    email = unique_email("clibad")
    p = certflow(stack, "user", "add", "--name", "X", "--email", email, "--role", "nonsense")
    assert p.returncode != 0
    assert not TOKEN_RE.match(p.stdout.strip())
    assert p.stderr.strip(), "no error message"
    assert psql("select count(*) from users where email = '%s'" % email) == "0"


def test_cli_jury_without_category_fails(stack, psql):
    email = unique_email("clijury")
    p = certflow(stack, "user", "add", "--name", "X", "--email", email, "--role", "jury")
    assert p.returncode != 0
    assert not TOKEN_RE.match(p.stdout.strip())
    assert psql("select count(*) from users where email = '%s'" % email) == "0"


def test_cli_duplicate_email_fails(stack):
    email = unique_email("clidup")
    assert certflow(stack, "user", "add", "--name", "A", "--email", email, "--role", "student").returncode == 0
    p = certflow(stack, "user", "add", "--name", "B", "--email", email, "--role", "student")
    assert p.returncode != 0
    assert p.stdout.strip() == ""


def test_cli_bad_email_fails(stack):
    p = certflow(stack, "user", "add", "--name", "A", "--email", "not-an-email", "--role", "student")
    assert p.returncode != 0
    assert p.stdout.strip() == ""


def test_cli_unknown_command_fails_with_usage(stack):
    p = certflow(stack, "frobnicate")
    assert p.returncode != 0
    assert p.stderr.strip()


# --------------------------------------------------------------- migrations

def test_migrate_twice_is_a_no_op(stack, psql):
    before_rows = psql("select * from schema_migrations order by 1")
    before_schema = schema_dump(stack)
    p = certflowd(stack, "--migrate", "-c", stack.conf)
    assert p.returncode == 0, p.stderr
    assert psql("select * from schema_migrations order by 1") == before_rows
    assert schema_dump(stack) == before_schema


@pytest.fixture
def empty_database(stack, psql):
    name = "cf_empty_" + uuid.uuid4().hex[:8]
    psql("CREATE DATABASE %s OWNER %s" % (name, stack.pg_env["PGUSER"]), database="postgres",
         user="postgres")
    yield name
    psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name, database="postgres", user="postgres")


def conf_for_database(stack, dbname, **more):
    text = stack.conf_text()
    m = re.search(r"^db_conninfo\s*=\s*(.*)$", text, re.M)
    assert m, "no db_conninfo in the stack config"
    conninfo = m.group(1).strip().strip('"')
    if re.search(r"\bdbname\s*=", conninfo):
        conninfo = re.sub(r"\bdbname\s*=\s*\S+", "dbname=" + dbname, conninfo)
    else:
        conninfo += " dbname=" + dbname
    return conf_with(text, db_conninfo=conninfo, **more)


def test_certflowd_refuses_to_start_on_an_unmigrated_database(stack, empty_database, tmp_path):
    conf = tmp_path / "empty.conf"
    conf.write_text(conf_for_database(stack, empty_database, listen_port=str(free_port())))
    p = certflowd(stack, "-c", conf, timeout=30)
    assert p.returncode != 0
    assert "--migrate" in p.stdout + p.stderr, p.stdout + p.stderr


def test_migrate_brings_an_empty_database_to_the_current_schema(stack, psql, empty_database, tmp_path):
    conf = tmp_path / "empty.conf"
    conf.write_text(conf_for_database(stack, empty_database))
    p = certflowd(stack, "--migrate", "-c", conf)
    assert p.returncode == 0, p.stderr
    q = "select count(*) from schema_migrations"
    assert psql(q, database=empty_database) == psql(q)
    assert schema_dump(stack, empty_database) == schema_dump(stack), \
        "an empty database, once migrated, differs from the stack's schema"


def migrated_database_conf(stack, dbname, tmp_path, **more):
    """A config for DBNAME, which --migrate brings to the current schema; returns its path."""
    conf = tmp_path / ("%s.conf" % dbname)
    conf.write_text(conf_for_database(stack, dbname, **more))
    p = certflowd(stack, "--migrate", "-c", conf)
    assert p.returncode == 0, p.stderr
    return conf


def test_certflowd_refuses_an_older_schema_and_says_to_migrate(stack, psql, empty_database,
                                                               tmp_path):
    conf = migrated_database_conf(stack, empty_database, tmp_path, listen_port=str(free_port()))
    latest = int(psql("select max(version) from schema_migrations", database=empty_database))
    # One version behind: the last migration's row is gone.
    psql("delete from schema_migrations where version = %d" % latest, database=empty_database)
    behind = int(psql("select max(version) from schema_migrations", database=empty_database))
    assert behind < latest
    p = certflowd(stack, "-c", conf, timeout=30)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert re.search(r"(?<!\d)%d(?!\d)" % behind, out), out
    assert re.search(r"(?<!\d)%d(?!\d)" % latest, out), out
    assert "--migrate" in out, out


def test_a_failing_migration_is_rolled_back_whole(stack, psql, empty_database, tmp_path):
    sql_dir = tmp_path / "sql"
    shutil.copytree(REPO / "sql", sql_dir)
    real = sorted(f.name for f in sql_dir.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    broken = "%04d_broken_on_purpose.sql" % (int(real[-1][:4]) + 1)
    # The first statement succeeds; the second fails, and takes the first with it.
    (sql_dir / broken).write_text("CREATE TABLE broken_on_purpose (id int);\n"
                                  "INSERT INTO no_such_table_here VALUES (1);\n")
    conf = tmp_path / "broken.conf"
    conf.write_text(conf_for_database(stack, empty_database, sql_dir=str(sql_dir)))
    p = certflowd(stack, "--migrate", "-c", conf)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert broken in out, out
    assert psql("select to_regclass('broken_on_purpose') is null", database=empty_database) == "t"
    assert psql("select count(*) from schema_migrations where version = %d" % int(broken[:4]),
                database=empty_database) == "0"
    # Every migration before it stays applied.
    applied = psql("select name from schema_migrations order by version", database=empty_database)
    assert applied.splitlines() == real
