/*
 * db_migrate.c - applies sql/NNNN_name.sql in order, each file and its
 * schema_migrations row in one transaction, under an advisory lock so that
 * two certflowd --migrate never interleave. Records each file's SHA-256 and
 * warns when an applied file was edited afterwards. Startup only: blocking.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include <certflow/log.h>
#include <certflow/token.h>
#include <certflow/workflow.h>

#include "db_migrate.h"

#ifndef CF_SCHEMA_VERSION
#error "CF_SCHEMA_VERSION must be defined by the Makefile"
#endif

#define MIGRATE_LOCK_KEY	"7263541001"
#define MAX_SQL_FILE		(4 << 20)

static PGconn *
migrate_connect(const char *conninfo)
{
	const char *keys[] = { "application_name", "connect_timeout", "dbname",
	    "options", NULL };
	const char *vals[] = { "certflowd-migrate", "10", conninfo,
	    "-c client_min_messages=warning", NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);

	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		log_error("cannot connect to PostgreSQL: %s",
		    pg != NULL ? PQerrorMessage(pg) : "out of memory");
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* Runs a command with text parameters; logs and returns false on failure. */
static bool
exec_ok(PGconn *pg, const char *sql, int n, const char *const *params, const char *what)
{
	/* Without parameters: the simple protocol, which takes a whole file. */
	PGresult *res = n == 0 ? PQexec(pg, sql) :
	    PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;

	if (!ok)
		log_error("%s: %s", what, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* scandir filter: "NNNN_name.sql" with name in [a-z0-9_]. */
static int
migration_file(const struct dirent *d)
{
	const char *s = d->d_name;
	size_t n = strlen(s), body;

	if (n < strlen("0000_x.sql") || strcmp(s + n - 4, ".sql") != 0)
		return 0;
	if (strspn(s, "0123456789") != 4 || s[4] != '_')
		return 0;
	body = n - 5 - 4;
	return strspn(s + 5, "abcdefghijklmnopqrstuvwxyz0123456789_") == body;
}

/* Reads PATH whole; malloc'ed and NUL-terminated, the caller frees. */
static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (f == NULL) {
		log_error("cannot open %s: %m", path);
		return NULL;
	}
	if ((buf = malloc(MAX_SQL_FILE + 1)) == NULL)
		goto done;
	*len = fread(buf, 1, MAX_SQL_FILE, f);
	if (ferror(f) || !feof(f)) {
		log_error("cannot read %s (or larger than %d bytes)", path, MAX_SQL_FILE);
		free(buf);
		buf = NULL;
		goto done;
	}
	buf[*len] = '\0';
done:
	fclose(f);
	return buf;
}

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), out);
}

/* The recorded checksum of VERSION into SUM, "" when not applied. */
static bool
applied_checksum(PGconn *pg, const char *version, char sum[65])
{
	const char *params[] = { version };
	PGresult *res = PQexecParams(pg,
	    "SELECT checksum FROM schema_migrations WHERE version = $1::int",
	    1, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	sum[0] = '\0';
	if (!ok)
		log_error("reading schema_migrations: %s", PQresultErrorMessage(res));
	else if (PQntuples(res) == 1)
		snprintf(sum, 65, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return ok;
}

static bool
apply_one(PGconn *pg, const char *dir, const char *name)
{
	char path[4096], version[5], sum[65], applied[65];
	const char *params[3];
	char *sql;
	size_t len;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(version, sizeof(version), "%.4s", name);
	if ((sql = read_file(path, &len)) == NULL)
		return false;
	sha256_hex(sql, len, sum);
	if (!applied_checksum(pg, version, applied)) {
		free(sql);
		return false;
	}
	if (applied[0] != '\0') {
		if (strcmp(applied, sum) != 0)
			log_warn("%s was edited after it was applied; it is not applied again", name);
		free(sql);
		return true;
	}
	params[0] = version;
	params[1] = name;
	params[2] = sum;
	/* The file is trusted SQL from the installation, never from input. */
	ok = exec_ok(pg, "BEGIN", 0, NULL, "BEGIN") &&
	    exec_ok(pg, sql, 0, NULL, name) &&
	    exec_ok(pg, "INSERT INTO schema_migrations (version, name, checksum) "
		"VALUES ($1::int, $2, $3)", 3, params, "recording the migration") &&
	    exec_ok(pg, "COMMIT", 0, NULL, "COMMIT");
	if (!ok)
		exec_ok(pg, "ROLLBACK", 0, NULL, "ROLLBACK");
	else
		log_info("applied %s", name);
	free(sql);
	return ok;
}

static bool
apply_all(PGconn *pg, const char *dir)
{
	struct dirent **files = NULL;
	int n = scandir(dir, &files, migration_file, alphasort);
	bool ok = true;

	if (n < 0) {
		log_error("cannot read the migrations directory %s: %m", dir);
		return false;
	}
	if (n == 0) {
		log_error("no migration in %s", dir);
		ok = false;
	}
	for (int i = 0; i < n; i++) {
		if (ok && !apply_one(pg, dir, files[i]->d_name))
			ok = false;
		free(files[i]);
	}
	free(files);
	return ok;
}

/* Replaces the database's copy of the state machine by lib/workflow.c's, in one transaction. */
static bool
sync_workflow(PGconn *pg)
{
	bool ok = exec_ok(pg, "BEGIN", 0, NULL, "BEGIN") &&
	    exec_ok(pg, "DELETE FROM workflow_transitions", 0, NULL, "clearing the workflow");

	for (size_t i = 0; ok && i < workflow_table_len; i++) {
		const struct wf_transition *t = &workflow_table[i];
		const char *params[] = { t->entity, t->from, t->event, t->role, t->to };

		ok = exec_ok(pg, "INSERT INTO workflow_transitions "
		    "(entity, from_state, event, role, to_state) VALUES ($1, $2, $3, $4, $5)",
		    5, params, "copying the workflow");
	}
	ok = ok && exec_ok(pg, "COMMIT", 0, NULL, "COMMIT");
	if (!ok)
		exec_ok(pg, "ROLLBACK", 0, NULL, "ROLLBACK");
	else
		log_info("workflow: %zu transitions in place", workflow_table_len);
	return ok;
}

/* True when the database holds exactly lib/workflow.c's transitions. */
static bool
workflow_matches(PGconn *pg)
{
	PGresult *res = PQexec(pg, "SELECT entity, from_state, event, role, to_state "
	    "FROM workflow_transitions");
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
	    (size_t)PQntuples(res) == workflow_table_len;

	for (int i = 0; ok && i < PQntuples(res); i++) {
		const char *to = workflow_next(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));

		ok = to != NULL && strcmp(to, PQgetvalue(res, i, 4)) == 0;
	}
	PQclear(res);
	return ok;
}

bool
migrate_apply(const char *conninfo, const char *sql_dir)
{
	PGconn *pg = migrate_connect(conninfo);
	bool ok;

	if (pg == NULL)
		return false;
	ok = exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL,
		"taking the migration lock") &&
	    exec_ok(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
		"version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
		"applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL,
		"creating schema_migrations") &&
	    apply_all(pg, sql_dir) && sync_workflow(pg);
	PQfinish(pg);	/* releases the advisory lock */
	return ok;
}

bool
migrate_check(const char *conninfo, char *err, size_t errlen)
{
	PGconn *pg = migrate_connect(conninfo);
	PGresult *res;
	int version;

	if (pg == NULL) {
		snprintf(err, errlen, "cannot connect to PostgreSQL to check the schema");
		return false;
	}
	res = PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "the database has no certflow schema; "
		    "run: certflowd --migrate -c FILE");
		PQclear(res);
		PQfinish(pg);
		return false;
	}
	version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (version >= CF_SCHEMA_VERSION && !workflow_matches(pg)) {
		snprintf(err, errlen, "the database's workflow transitions differ from "
		    "this certflowd's; run: certflowd --migrate -c FILE");
		PQfinish(pg);
		return false;
	}
	PQfinish(pg);
	if (version < CF_SCHEMA_VERSION) {
		snprintf(err, errlen, "the database schema is at version %d and this "
		    "certflowd needs %d; run: certflowd --migrate -c FILE",
		    version, CF_SCHEMA_VERSION);
		return false;
	}
	if (version > CF_SCHEMA_VERSION)
		log_warn("the database schema (version %d) is newer than this certflowd (%d)",
		    version, CF_SCHEMA_VERSION);
	return true;
}
