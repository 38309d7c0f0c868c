/*
 * signer.c - owns the credential signer: every credential_sign_interval_s,
 * fetches up to BATCH credentials without a stored document
 * (api.credentials_unsigned), signs them on the loop (credentials.c) and
 * stores them in one statement (api.credentials_store); a full batch is
 * followed by the next one at once. One step in flight at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <certflow/log.h>

#include "credentials.h"
#include "job.h"
#include "routes.h"
#include "signer.h"

#define BATCH 50
#define BATCH_TEXT "50"

struct signer {
	struct db_pool *pool;
	struct job job;
	bool more;		/* the last batch was full: fetch again once stored */
};

static void fetch(void *arg);

static void
store_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct signer *s = arg;

	s->job.running = false;
	if (outcome != DB_OK)
		log_debug("signer: could not store; next round later");
	else if (s->more)
		fetch(s);
}

/* {"id", "key_id", "document"} for one unsigned credential; NULL on failure. */
static json_t *
sign_one(const json_t *item)
{
	const char *key_id;
	char err[256] = "";
	char *text = credentials_sign_facts(json_object_get(item, "facts"), &key_id,
	    err, sizeof(err));
	json_t *out;

	if (text == NULL) {
		log_error("signer: credential %s cannot be signed: %s",
		    json_string_value(json_object_get(item, "id")), err);
		return NULL;
	}
	out = json_pack("{sOssss}", "id", json_object_get(item, "id"), "key_id", key_id,
	    "document", text);
	free(text);
	return out;
}

/* Signs the batch in BODY and stores it; true when a statement was sent. */
static bool
sign_and_store(struct signer *s, const char *body, size_t *n)
{
	json_t *items = json_loads(body, 0, NULL), *docs = json_array(), *item;
	const char *params[2];
	char *text = NULL;
	size_t i;
	bool sent = false;

	*n = json_array_size(items);
	json_array_foreach(items, i, item)
		json_array_append_new(docs, sign_one(item));
	if (json_array_size(docs) > 0 && (text = json_dumps(docs, JSON_COMPACT)) != NULL) {
		params[0] = s->job.rid;
		params[1] = text;
		sent = db_pool_submit(s->pool, routes_internal_statement(STMT_CREDENTIALS_STORE),
		    2, params, store_done, s);
	}
	free(text);
	json_decref(docs);
	json_decref(items);
	return sent;
}

static void
fetch_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct signer *s = arg;
	size_t n = 0;

	s->job.running = false;
	if (outcome != DB_OK || PQntuples(res) != 1 || atoi(PQgetvalue(res, 0, 0)) != 200)
		return;
	if (sign_and_store(s, PQgetvalue(res, 0, 1), &n)) {
		s->job.running = true;
		s->more = n == BATCH;
	}
}

static void
fetch(void *arg)
{
	struct signer *s = arg;
	const char *params[2];

	if (!credentials_enabled() || !job_new_request_id(&s->job))
		return;
	params[0] = s->job.rid;
	params[1] = BATCH_TEXT;
	if (db_pool_submit(s->pool, routes_internal_statement(STMT_CREDENTIALS_UNSIGNED), 2,
	    params, fetch_done, s))
		s->job.running = true;
}

struct signer *
signer_new(struct event_base *base, struct db_pool *pool, const struct config *cfg)
{
	struct signer *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->pool = pool;
	if (!job_start(&s->job, base, cfg->credential_sign_interval_s, "signer", fetch, s)) {
		free(s);
		return NULL;
	}
	return s;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	job_stop(&s->job);
	free(s);
}
