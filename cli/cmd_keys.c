/*
 * cmd_keys.c - "certflow keys rotate-reports": after a new key is appended
 * to report_key_file, re-seals every report value still under an older key
 * with the new one, in one transaction, so that the old key can be retired.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <certflow/config.h>
#include <certflow/seal.h>

#include "cli.h"

/* The sealed columns and the purpose (AAD) each was sealed for. */
static const struct {
	const char *column, *aad;
} report_columns[] = {
	{ "subject_sealed", "report.description" },
	{ "body_sealed", "report.body" },
	{ "evidence_sealed", "report.evidence" },
	{ "feedback_sealed", "report.feedback" },
	{ "reporter_key_sealed", "report.reporter_key" },
};
#define NCOLUMNS (sizeof(report_columns) / sizeof(report_columns[0]))

/* Opens TEXT with any key and seals it again with the current one; NULL stays NULL. */
static char *
reseal(const struct seal_keyring *ring, const char *aad, const char *text, bool *ok,
    const char *table, const char *id)
{
	unsigned char *plain;
	char *sealed;
	size_t n = 0;

	if (text == NULL || !*ok)
		return NULL;
	if ((plain = seal_decrypt(ring, aad, text, &n)) == NULL) {
		fprintf(stderr, "certflow: %s %s: a value sealed for %s does not open with "
		    "the keys of report_key_file; nothing was changed\n", table, id, aad);
		*ok = false;
		return NULL;
	}
	sealed = seal_encrypt(ring, aad, plain, n);
	OPENSSL_cleanse(plain, n);
	free(plain);
	if (sealed == NULL)
		*ok = false;
	return sealed;
}

static bool
exec_ok(PGconn *pg, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "certflow: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

static bool
rotate_reports(PGconn *pg, const struct seal_keyring *ring, const char *current, int *count)
{
	const char *params[1] = { current };
	PGresult *res = PQexecParams(pg, "SELECT id, subject_sealed, body_sealed, evidence_sealed, "
	    "feedback_sealed, reporter_key_sealed FROM reports WHERE key_id <> $1 FOR UPDATE",
	    1, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	for (int i = 0; ok && i < PQntuples(res); i++) {
		char *v[NCOLUMNS];
		const char *up[NCOLUMNS + 2];

		for (size_t c = 0; c < NCOLUMNS; c++) {
			v[c] = reseal(ring, report_columns[c].aad, PQgetisnull(res, i, (int)c + 1) ?
			    NULL : PQgetvalue(res, i, (int)c + 1), &ok, "report",
			    PQgetvalue(res, i, 0));
			up[c] = v[c];
		}
		up[NCOLUMNS] = current;
		up[NCOLUMNS + 1] = PQgetvalue(res, i, 0);
		ok = ok && exec_ok(pg, "UPDATE reports SET subject_sealed = $1, body_sealed = $2, "
		    "evidence_sealed = $3, feedback_sealed = $4, reporter_key_sealed = $5, "
		    "key_id = $6 WHERE id = $7::bigint", 7, up);
		for (size_t c = 0; c < NCOLUMNS; c++)
			free(v[c]);
		(*count)++;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "certflow: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

static bool
rotate_messages(PGconn *pg, const struct seal_keyring *ring, const char *current, int *count)
{
	const char *params[1] = { current };
	PGresult *res = PQexecParams(pg, "SELECT id, body_sealed FROM report_messages "
	    "WHERE key_id <> $1 FOR UPDATE", 1, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	for (int i = 0; ok && i < PQntuples(res); i++) {
		char *body = reseal(ring, "report.body", PQgetvalue(res, i, 1), &ok,
		    "report message", PQgetvalue(res, i, 0));
		const char *up[3] = { body, current, PQgetvalue(res, i, 0) };

		ok = ok && exec_ok(pg, "UPDATE report_messages SET body_sealed = $1, key_id = $2 "
		    "WHERE id = $3::bigint", 3, up);
		free(body);
		(*count)++;
	}
	PQclear(res);
	return ok;
}

int
cmd_keys(int argc, char **argv, const char *config_path)
{
	struct config cfg = { 0 };
	struct seal_keyring ring = { NULL, 0 };
	char err[512], rid[24];
	int reports = 0, messages = 0;
	PGconn *pg = NULL;
	bool ok = false;
	int rc;

	if (cmd_signing(argc, argv, &rc))
		return rc;
	if (argc != 1 || strcmp(argv[0], "rotate-reports") != 0 || config_path == NULL) {
		fprintf(stderr, "usage: certflow -c FILE keys rotate-reports\n"
		    "       certflow keys new-signing ID\n"
		    "       certflow keys public-signing FILE\n");
		return 2;
	}
	if (!config_load(config_path, &cfg, err, sizeof(err)) ||
	    !seal_keyring_load(cfg.report_key_file, &ring, err, sizeof(err))) {
		fprintf(stderr, "certflow: %s\n", err);
		goto done;
	}
	if ((pg = cli_connect(config_path)) == NULL)
		goto done;
	cli_request_id(rid);
	{
		const char *current = ring.keys[ring.n - 1].id;
		const char *audit[2] = { rid, current };

		ok = exec_ok(pg, "BEGIN", 0, NULL) &&
		    rotate_reports(pg, &ring, current, &reports) &&
		    rotate_messages(pg, &ring, current, &messages) &&
		    exec_ok(pg, "SELECT api.audit(NULL, $1, 'reports.rotate_keys', 'report', NULL, "
			"jsonb_build_object('key_id', $2::text))", 2, audit) &&
		    exec_ok(pg, "COMMIT", 0, NULL);
		if (!ok)
			exec_ok(pg, "ROLLBACK", 0, NULL);
		else
			printf("re-sealed %d reports and %d messages under key %s\n",
			    reports, messages, current);
	}
done:
	PQfinish(pg);
	seal_keyring_free(&ring);
	config_free(&cfg);
	return ok ? 0 : 1;
}
