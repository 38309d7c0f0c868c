/*
 * json_where.c - where an answer's JSON is cheaper to build: in PostgreSQL
 * (json_build_object and json_agg, what certflowd's SQL functions do, the
 * text passed on as it is) or in the daemon (the same rows fetched as
 * columns, then built with jansson and serialised). Same data, same one
 * prepared statement per answer, same connection; only where the JSON is
 * made differs. Two shapes: one enrollment (an object of nine members) and
 * one enrollment's 40 weekly notes (an array of objects, the bulk of a
 * jury dossier).
 *
 *   json_where ITERATIONS      (PGHOST, PGPORT, PGDATABASE, PGUSER from the environment)
 *
 * Prints one line per shape and place: microseconds per answer of wall
 * time, of the client's CPU (libpq, and jansson when it builds), of the
 * server backend's CPU (/proc/PID/stat of PQbackendPID: the bench runs on
 * the database's machine), their sum, and the answer's bytes.
 * Built by scripts/bench: cc -O2 json_where.c $(pkg-config --cflags --libs libpq jansson)
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#define ENROLLMENT_COLUMNS "e.id, e.kind, e.state, e.student_id, e.mentor_id, e.path_id, " \
	"e.created_at, e.updated_at, e.version"
#define NOTE_COLUMNS "n.id, n.week, n.progress, n.body, n.at_risk, n.author_id, n.created_at"

struct shape {
	const char *name;
	const char *in_sql;	/* the JSON text, built by PostgreSQL */
	const char *rows_sql;	/* the same data as columns */
	const char *ids_sql;	/* the ids to ask for */
};

static const struct shape shapes[] = {
	{ "one enrollment",
	  "SELECT json_build_object('id', e.id, 'kind', e.kind, 'state', e.state, "
	  "'student_id', e.student_id, 'mentor_id', e.mentor_id, 'path_id', e.path_id, "
	  "'created_at', e.created_at, 'updated_at', e.updated_at, 'version', e.version)::text "
	  "FROM enrollments e WHERE e.id = $1",
	  "SELECT " ENROLLMENT_COLUMNS " FROM enrollments e WHERE e.id = $1",
	  "SELECT id FROM enrollments ORDER BY id LIMIT 1000" },
	{ "40 weekly notes",
	  "SELECT coalesce(json_agg(json_build_object('id', n.id, 'week', n.week, "
	  "'progress', n.progress, 'body', n.body, 'at_risk', n.at_risk, "
	  "'author_id', n.author_id, 'created_at', n.created_at) ORDER BY n.week), '[]')::text "
	  "FROM notes n WHERE n.enrollment_id = $1",
	  "SELECT " NOTE_COLUMNS " FROM notes n WHERE n.enrollment_id = $1 ORDER BY n.week",
	  "SELECT enrollment_id FROM notes GROUP BY 1 HAVING count(*) = 40 ORDER BY 1 LIMIT 1000" },
};

/* What a column becomes in JSON: what PostgreSQL's json_build_object writes. */
enum kind { K_INT, K_TEXT, K_BOOL, K_TIME };

static const enum kind enrollment_kinds[] = {
	K_INT, K_TEXT, K_TEXT, K_INT, K_INT, K_INT, K_TIME, K_TIME, K_INT };
static const enum kind note_kinds[] = { K_INT, K_TEXT, K_INT, K_TEXT, K_BOOL, K_INT, K_TIME };

static double
now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The backend's CPU time so far, in microseconds. */
static double
backend_cpu_us(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &utime, &stime) != 2)
		return 0;
	return (utime + stime) * 1e6 / sysconf(_SC_CLK_TCK);
}

/* "2026-11-22 16:31:18.123+00" as json_build_object writes it: "2026-11-22T16:31:18.123+00:00". */
static json_t *
json_time(const char *v)
{
	char buf[64];
	size_t n = strlen(v);

	if (n + 4 > sizeof(buf))
		return json_string(v);
	memcpy(buf, v, n + 1);
	if (n > 10 && buf[10] == ' ')
		buf[10] = 'T';
	if (n > 3 && (buf[n - 3] == '+' || buf[n - 3] == '-'))
		memcpy(buf + n, ":00", 4);
	return json_string(buf);
}

static json_t *
row_object(const PGresult *res, int row, const enum kind *kinds)
{
	json_t *o = json_object();

	for (int c = 0; c < PQnfields(res); c++) {
		const char *v = PQgetvalue(res, row, c);
		json_t *j;

		if (PQgetisnull(res, row, c))
			j = json_null();
		else if (kinds[c] == K_INT)
			j = json_integer(strtoll(v, NULL, 10));
		else if (kinds[c] == K_BOOL)
			j = json_boolean(v[0] == 't');
		else if (kinds[c] == K_TIME)
			j = json_time(v);
		else
			j = json_string(v);
		json_object_set_new(o, PQfname(res, c), j);
	}
	return o;
}

/* The rows as certflowd would answer them: one object, or an array of them. */
static char *
build_with_jansson(const PGresult *res, bool list, const enum kind *kinds)
{
	json_t *doc;
	char *text;

	if (!list) {
		doc = PQntuples(res) == 1 ? row_object(res, 0, kinds) : json_null();
	} else {
		doc = json_array();
		for (int i = 0; i < PQntuples(res); i++)
			json_array_append_new(doc, row_object(res, i, kinds));
	}
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

static void
measure(PGconn *pg, const struct shape *s, bool list, const enum kind *kinds, int iterations)
{
	PGresult *res;
	char **ids;
	int nids, pid = PQbackendPID(pg);

	res = PQexec(pg, s->ids_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || (nids = PQntuples(res)) == 0) {
		fprintf(stderr, "json_where: %s: no ids (%s)\n", s->name, PQerrorMessage(pg));
		exit(1);
	}
	ids = calloc((size_t)nids, sizeof(*ids));
	for (int i = 0; i < nids; i++)
		ids[i] = strdup(PQgetvalue(res, i, 0));
	PQclear(res);
	for (int place = 0; place < 2; place++) {
		const char *name = place == 0 ? "json_in_sql" : "json_in_c";
		double wall, client, server;
		long bytes = 0;

		res = PQprepare(pg, name, place == 0 ? s->in_sql : s->rows_sql, 1, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			fprintf(stderr, "json_where: %s", PQerrorMessage(pg));
			exit(1);
		}
		PQclear(res);
		for (int warm = 0; warm < 2; warm++) {
			wall = now_us(CLOCK_MONOTONIC);
			client = now_us(CLOCK_PROCESS_CPUTIME_ID);
			server = backend_cpu_us(pid);
			bytes = 0;
			for (int i = 0; i < iterations; i++) {
				const char *param = ids[i % nids];
				char *text = NULL;

				res = PQexecPrepared(pg, name, 1, &param, NULL, NULL, 0);
				if (PQresultStatus(res) != PGRES_TUPLES_OK) {
					fprintf(stderr, "json_where: %s\n", PQerrorMessage(pg));
					exit(1);
				}
				if (place == 0)
					bytes += PQntuples(res) ? (long)strlen(PQgetvalue(res, 0, 0)) : 0;
				else if ((text = build_with_jansson(res, list, kinds)) != NULL)
					bytes += (long)strlen(text);
				free(text);
				PQclear(res);
			}
		}
		wall = (now_us(CLOCK_MONOTONIC) - wall) / iterations;
		client = (now_us(CLOCK_PROCESS_CPUTIME_ID) - client) / iterations;
		server = (backend_cpu_us(pid) - server) / iterations;
		printf("%s|%s|%.1f|%.1f|%.1f|%.1f|%ld\n", s->name,
		    place == 0 ? "PostgreSQL (json_build_object)" : "certflowd (jansson)",
		    wall, client, server, client + server, bytes / iterations);
		PQclear(PQexec(pg, "DEALLOCATE ALL"));
	}
	for (int i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
}

int
main(int argc, char **argv)
{
	int iterations = argc > 1 ? atoi(argv[1]) : 0;
	PGconn *pg;

	if (iterations < 1) {
		fprintf(stderr, "usage: json_where ITERATIONS\n");
		return 2;
	}
	pg = PQconnectdb("");
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "json_where: %s", PQerrorMessage(pg));
		return 1;
	}
	measure(pg, &shapes[0], false, enrollment_kinds, iterations);
	measure(pg, &shapes[1], true, note_kinds, iterations);
	PQfinish(pg);
	return 0;
}
