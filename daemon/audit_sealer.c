/*
 * audit_sealer.c - owns the audit sealer: every audit_seal_interval_s, one
 * statement seals up to BATCH unsealed audit rows into the hash chain
 * (api.audit_seal_batch) and answers the new head; the head is signed here
 * (credentials.c) and stored by a second statement (api.audit_head_store).
 * A full batch is followed by the next one at once. One step in flight at a
 * time; it never touches a request, and a failed step waits for the next tick.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <certflow/auditchain.h>
#include <certflow/log.h>
#include <certflow/sign.h>
#include <certflow/token.h>

#include "audit_sealer.h"
#include "credentials.h"
#include "job.h"
#include "routes.h"

#define BATCH 1000
#define BATCH_TEXT "1000"

struct audit_sealer {
	struct db_pool *pool;
	struct job job;
	bool more;		/* the last batch was full: seal again once stored */
};

static void seal(void *arg);

static void
store_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct audit_sealer *s = arg;

	s->job.running = false;
	if (outcome != DB_OK || PQntuples(res) != 1) {
		log_debug("audit sealer: could not store the head; next round later");
		return;
	}
	if (atoi(PQgetvalue(res, 0, 0)) != 200) {
		/* the row at the head's seq changed between sealing and storing */
		log_error("audit sealer: head refused: %s", PQgetvalue(res, 0, 1));
		return;
	}
	if (s->more)
		seal(s);
}

/*
 * Signs the head of BODY ({"seq", "hash", "sealed"}) when signing is on and
 * stores it; true when the statement was sent.
 */
static bool
sign_and_store(struct audit_sealer *s, const char *body)
{
	json_t *head = json_loads(body, 0, NULL);
	json_int_t seq = json_integer_value(json_object_get(head, "seq"));
	json_int_t sealed = json_integer_value(json_object_get(head, "sealed"));
	const char *hash_hex = json_string_value(json_object_get(head, "hash"));
	unsigned char hash[AUDITCHAIN_HASH_LEN], msg[AUDITCHAIN_HEAD_MSG_LEN], sig[SIGN_SIG_LEN];
	char seq_text[24], sig_hex[2 * SIGN_SIG_LEN + 1];
	const char *params[5], *key_id = NULL;
	bool sent = false;

	if (seq < 1 || !auditchain_hex_decode(hash_hex, hash, sizeof(hash))) {
		log_error("audit sealer: malformed head from the database: %s", body);
		goto done;
	}
	snprintf(seq_text, sizeof(seq_text), "%" JSON_INTEGER_FORMAT, seq);
	params[0] = s->job.rid;
	params[1] = seq_text;
	params[2] = hash_hex;
	params[3] = NULL;
	params[4] = NULL;
	if (credentials_enabled()) {
		auditchain_head_message(seq, hash, msg);
		if (!credentials_sign_raw(msg, sizeof(msg), sig, &key_id)) {
			/* not stored: the next round offers this head again */
			log_error("audit sealer: cannot sign the head at seq %s", seq_text);
			goto done;
		}
		hex_encode(sig, sizeof(sig), sig_hex);
		params[3] = key_id;
		params[4] = sig_hex;
	}
	sent = db_pool_submit(s->pool, routes_internal_statement(STMT_AUDIT_HEAD_STORE), 5,
	    params, store_done, s);
	if (sent)
		log_info("audit sealer: %" JSON_INTEGER_FORMAT " rows sealed; head seq %s %s%s",
		    sealed, seq_text, key_id != NULL ? "signed by " : "unsigned",
		    key_id != NULL ? key_id : "");
	s->more = sealed == BATCH;
done:
	json_decref(head);
	return sent;
}

static void
seal_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct audit_sealer *s = arg;
	int status;

	s->job.running = false;
	if (outcome != DB_OK || PQntuples(res) != 1) {
		log_debug("audit sealer: database unavailable or failed; next round later");
		return;
	}
	status = atoi(PQgetvalue(res, 0, 0));
	if (status == 200 && sign_and_store(s, PQgetvalue(res, 0, 1)))
		s->job.running = true;
	else if (status == 409)
		log_debug("audit sealer: another instance is sealing");
	else if (status != 200 && status != 204)
		log_warn("audit sealer: %d %s", status, PQgetvalue(res, 0, 1));
}

static void
seal(void *arg)
{
	struct audit_sealer *s = arg;
	const char *params[2];

	if (!job_new_request_id(&s->job))
		return;
	params[0] = s->job.rid;
	params[1] = BATCH_TEXT;
	s->more = false;
	if (db_pool_submit(s->pool, routes_internal_statement(STMT_AUDIT_SEAL), 2, params,
	    seal_done, s))
		s->job.running = true;
}

struct audit_sealer *
audit_sealer_new(struct event_base *base, struct db_pool *pool, const struct config *cfg)
{
	struct audit_sealer *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->pool = pool;
	if (cfg->audit_seal_interval_s == 0)
		log_warn("audit_seal_interval_s is 0: this instance does not seal the audit chain");
	if (!job_start(&s->job, base, cfg->audit_seal_interval_s, "sealer", seal, s)) {
		free(s);
		return NULL;
	}
	return s;
}

void
audit_sealer_free(struct audit_sealer *s)
{
	if (s == NULL)
		return;
	job_stop(&s->job);
	free(s);
}
