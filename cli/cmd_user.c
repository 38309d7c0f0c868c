/*
 * cmd_user.c - "certflow user add": bootstraps an installation's first users.
 * Validates with the same schema as POST /v1/users, creates the user and a
 * token through api.user_create_as (audited, actor NULL), prints the token
 * alone on stdout, once. Only its SHA-256 digest reaches the database.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include <certflow/jsonin.h>
#include <certflow/schemas.h>
#include <certflow/token.h>

#include "cli.h"

static void
user_usage(void)
{
	fprintf(stderr, "usage: certflow user add --name NAME --email EMAIL "
	    "--role ROLE [--role ROLE...] [--jury-category CATEGORY]\n");
	exit(2);
}

/* The request body from the options; NULL on a usage error. */
static json_t *
user_body(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "email", required_argument, NULL, 'e' },
		{ "role", required_argument, NULL, 'r' },
		{ "jury-category", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *body = json_object(), *roles = json_array();
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': json_object_set_new(body, "name", json_string(optarg)); break;
		case 'e': json_object_set_new(body, "email", json_string(optarg)); break;
		case 'r': json_array_append_new(roles, json_string(optarg)); break;
		case 'j': json_object_set_new(body, "jury_category", json_string(optarg)); break;
		default:
			json_decref(roles);
			json_decref(body);
			return NULL;
		}
	}
	if (optind != argc) {
		json_decref(roles);
		json_decref(body);
		return NULL;
	}
	json_object_set_new(body, "roles", roles);
	return body;
}

static int
user_add(PGconn *pg, const json_t *body)
{
	char token[TOKEN_TEXT_LEN + 1], hex[TOKEN_DIGEST_HEX_LEN + 1], rid[24];
	unsigned char digest[TOKEN_DIGEST_LEN];
	char *text = json_dumps(body, JSON_COMPACT), *answer = NULL;
	const char *params[3];
	int status = -1;

	if (text == NULL || !token_generate(token) ||
	    !token_digest(token, strlen(token), digest)) {
		fprintf(stderr, "certflow: cannot generate a token\n");
		goto done;
	}
	hex_encode(digest, sizeof(digest), hex);
	cli_request_id(rid);
	params[0] = rid;
	params[1] = text;
	params[2] = hex;
	status = cli_call(pg, "SELECT status, body::text FROM "
	    "api.user_create_as(NULL, $1, $2::jsonb, $3)", 3, params, &answer);
	if (status == 201) {
		printf("%s\n", token);
		fprintf(stderr, "certflow: created %s; the token above is shown only once\n",
		    answer != NULL ? answer : "the user");
	} else if (status > 0) {
		fprintf(stderr, "certflow: refused (%d): %s\n", status,
		    answer != NULL ? answer : "");
	}
done:
	OPENSSL_cleanse(token, sizeof(token));
	free(answer);
	free(text);
	return status == 201 ? 0 : 1;
}

int
cmd_user(int argc, char **argv, const char *config_path)
{
	struct jsonin_error err;
	json_t *body;
	PGconn *pg;
	int status;

	if (argc < 1 || strcmp(argv[0], "add") != 0)
		user_usage();
	if ((body = user_body(argc, argv)) == NULL)
		user_usage();
	if (!jsonin_validate(body, &schema_user_create, &err)) {
		fprintf(stderr, "certflow: %s %s\n", err.field, err.detail);
		json_decref(body);
		return 2;
	}
	if ((pg = cli_connect(config_path)) == NULL) {
		json_decref(body);
		return 1;
	}
	status = user_add(pg, body);
	PQfinish(pg);
	json_decref(body);
	return status;
}
