/*
 * main.c - the certflow command line: global options and the command table.
 * Each command lives in its own file (cmd_*.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include <certflow/config.h>
#include <certflow/log.h>
#include <certflow/token.h>

#include "cli.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: certflow [-c FILE] COMMAND ...\n"
	    "  -c FILE   certflowd.conf to take db_conninfo from (default: PG* variables)\n"
	    "commands:\n"
	    "  user add --name NAME --email EMAIL --role ROLE [--role ROLE...] [--jury-category C]\n"
	    "            create a user; prints its API token (shown once) on stdout\n"
	    "  token revoke ID\n"
	    "            revoke an API token\n"
	    "  draw replay ID\n"
	    "            recompute a stored evaluator draw and say whether it matches\n"
	    "  sample replay DEFENSE_ID\n"
	    "            recompute whether a verdict was sampled for a blind review\n"
	    "  keys rotate-reports\n"
	    "            re-seal every report under the newest key of report_key_file\n"
	    "  verify FILE|- [--keys FILE|URL] [--status FILE|URL] [--ca FILE]\n"
	    "            check a signed diploma or certificate (no database; exit 0 valid,\n"
	    "            1 not valid, 2 unreadable or unreachable, 3 revoked)\n"
	    "  audit verify [--keys FILE]\n"
	    "            recompute the audit hash chain and check its signed heads against\n"
	    "            signing_key_file or a keys document (exit 0 intact, 1 tampered)\n");
	exit(2);
}

PGconn *
cli_connect(const char *config_path)
{
	struct config cfg = { 0 };
	char err[512];
	const char *keys[] = { "application_name", "dbname", "options", NULL };
	const char *vals[] = { "certflow", "", "-c TimeZone=UTC", NULL };
	PGconn *pg;

	if (config_path != NULL) {
		if (!config_load(config_path, &cfg, err, sizeof(err))) {
			fprintf(stderr, "certflow: %s\n", err);
			return NULL;
		}
		vals[1] = cfg.db_conninfo;
	}
	pg = PQconnectdbParams(keys, vals, 1);
	config_free(&cfg);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "certflow: cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

int
cli_call(PGconn *pg, const char *sql, int n, const char *const *params, char **body)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	int status = -1;

	*body = NULL;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		fprintf(stderr, "certflow: %s", PQresultErrorMessage(res));
	} else {
		status = atoi(PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			*body = strdup(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return status;
}

bool
cli_bytea_decode(const char *text, unsigned char *out, size_t n)
{
	if (strncmp(text, "\\x", 2) != 0 || strlen(text + 2) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(text + 2 + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (unsigned char)v;
	}
	return true;
}

void
cli_request_id(char out[24])
{
	unsigned char raw[4] = { 0 };
	char hex[9];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	hex_encode(raw, sizeof(raw), hex);
	snprintf(out, 24, "cli-%s", hex);
}

int
cli_replay(int argc, char **argv, const char *config_path,
    const char *usage_line, const char *sql, const char *what,
    int (*replay)(const char *id, PGresult *res))
{
	const char *params[1];
	PGresult *res;
	PGconn *pg;
	int status = 1;

	if (argc != 2 || strcmp(argv[0], "replay") != 0 || argv[1][0] == '\0' ||
	    strspn(argv[1], "0123456789") != strlen(argv[1])) {
		fprintf(stderr, "usage: %s\n", usage_line);
		return 2;
	}
	if ((pg = cli_connect(config_path)) == NULL)
		return 1;
	params[0] = argv[1];
	res = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "certflow: %s", PQresultErrorMessage(res));
	else if (PQntuples(res) != 1)
		fprintf(stderr, "certflow: no %s %s\n", what, argv[1]);
	else
		status = replay(argv[1], res);
	PQclear(res);
	PQfinish(pg);
	return status;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	int i = 1;

	log_init("certflow", LOG_LVL_WARN);
	if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
		config_path = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		usage();
	if (strcmp(argv[i], "user") == 0)
		return cmd_user(argc - i - 1, argv + i + 1, config_path);
	if (strcmp(argv[i], "token") == 0)
		return cmd_token(argc - i - 1, argv + i + 1, config_path);
	if (strcmp(argv[i], "draw") == 0)
		return cmd_draw(argc - i - 1, argv + i + 1, config_path);
	if (strcmp(argv[i], "keys") == 0)
		return cmd_keys(argc - i - 1, argv + i + 1, config_path);
	if (strcmp(argv[i], "sample") == 0)
		return cmd_sample(argc - i - 1, argv + i + 1, config_path);
	if (strcmp(argv[i], "verify") == 0)
		return cmd_verify(argc - i - 1, argv + i + 1, config_path);
	if (strcmp(argv[i], "audit") == 0)
		return cmd_audit(argc - i - 1, argv + i + 1, config_path);
	usage();
	return 2;
}
