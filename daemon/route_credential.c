/*
 * route_credential.c - the credential routes' last step in certflowd: a
 * credential the signer has not stored yet, and every status list, come
 * from the database as facts (status 203) and leave signed (200); the keys
 * document needs no database at all.
 */
#include <stdlib.h>

#include <certflow/log.h>

#include "credentials.h"
#include "routes.h"

#define STATUS_FACTS 203	/* the SQL functions' "sign me", never sent */

/* Parses the facts body; answers 500 itself when it cannot. */
static json_t *
facts_of(struct request *r, const char *body)
{
	json_t *v = json_loads(body, JSON_REJECT_DUPLICATES, NULL);

	if (v == NULL || !json_is_object(v)) {
		json_decref(v);
		log_error("rid=%s unreadable credential facts", r->id);
		request_fail(r, 500, "internal error", NULL);
		return NULL;
	}
	return v;
}

static void
reply_signed(struct request *r, char *text, const char *err)
{
	if (text == NULL) {
		log_error("rid=%s cannot sign: %s", r->id, err);
		request_fail(r, 500, "the document cannot be signed", NULL);
		return;
	}
	request_reply_json(r, 200, text);
	free(text);
}

/* GET /v1/credentials/{uuid}: the stored document, or the facts signed now. */
void
route_credential_finish(struct request *r, int status, const char *body)
{
	const char *key_id;
	char err[256] = "";
	json_t *v;
	char *text;

	if (status != STATUS_FACTS) {
		request_reply_json(r, status, body);
		return;
	}
	if (!credentials_enabled()) {
		request_fail(r, 503, "credentials are not signed on this server "
		    "(signing_key_file is not set)", NULL);
		return;
	}
	if ((v = facts_of(r, body)) == NULL)
		return;
	text = credentials_sign_facts(json_object_get(v, "facts"), &key_id, err, sizeof(err));
	json_decref(v);
	reply_signed(r, text, err);
}

/* GET /v1/status-lists/{id}: the list's revoked bits, encoded and signed. */
void
route_status_list_finish(struct request *r, int status, const char *body)
{
	char err[256] = "";
	json_t *v;
	char *text;

	if (!credentials_enabled()) {
		request_fail(r, 503, "status lists are not signed on this server "
		    "(signing_key_file is not set)", NULL);
		return;
	}
	if ((v = facts_of(r, body)) == NULL)
		return;
	text = credentials_sign_status_list(v, err, sizeof(err));
	json_decref(v);
	reply_signed(r, text, err);
}

/* GET /.well-known/certflow/keys: every key, current and retired. */
void
route_keys(struct request *r)
{
	char *text;

	if (!credentials_enabled()) {
		request_fail(r, 503, "no signing keys on this server "
		    "(signing_key_file is not set)", NULL);
		return;
	}
	if ((text = credentials_keys_json()) == NULL) {
		request_fail(r, 500, "out of memory", NULL);
		return;
	}
	request_reply_json(r, 200, text);
	free(text);
}
