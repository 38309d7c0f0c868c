/*
 * cmd_token.c - "certflow token revoke ID": revokes an API token from the
 * operator's shell (actor NULL in the audit row), e.g. after a leak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int
cmd_token(int argc, char **argv, const char *config_path)
{
	const char *params[2];
	char rid[24], *answer = NULL;
	PGconn *pg;
	int status;

	if (argc != 2 || strcmp(argv[0], "revoke") != 0 ||
	    strspn(argv[1], "0123456789") != strlen(argv[1]) || argv[1][0] == '\0') {
		fprintf(stderr, "usage: certflow token revoke ID\n");
		return 2;
	}
	if ((pg = cli_connect(config_path)) == NULL)
		return 1;
	cli_request_id(rid);
	params[0] = rid;
	params[1] = argv[1];
	status = cli_call(pg, "SELECT status, body::text FROM "
	    "api.token_revoke_as(NULL, $1, $2::bigint)", 2, params, &answer);
	if (status == 204)
		fprintf(stderr, "certflow: token %s revoked\n", argv[1]);
	else if (status > 0)
		fprintf(stderr, "certflow: refused (%d): %s\n", status, answer != NULL ? answer : "");
	free(answer);
	PQfinish(pg);
	return status == 204 ? 0 : 1;
}
