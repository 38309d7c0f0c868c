/*
 * route_sql.c - serves every route whose work is one SQL function call:
 * binds the token digest, the request id, the path's ids and the validated
 * body as parameters of the route's prepared statement, and turns the
 * function's (status, body) row into the HTTP answer. Builds no SQL.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <openssl/crypto.h>

#include <certflow/draw.h>
#include <certflow/jsonpeek.h>
#include <certflow/log.h>
#include <certflow/seal.h>

#include "reports.h"
#include "routes.h"

static void route_sql_done(void *arg, enum db_outcome outcome, const PGresult *res);

#define EXTRA_TEXT_MAX 512

/* {"key": hex K, "key_sealed": K sealed, "key_id": the current key}: see sql/0004. */
static bool
reporter_key(char *out, size_t len)
{
	const struct seal_keyring *ring = reports_keyring();
	unsigned char key[32];
	char hex[65], *sealed;
	int n;

	if (!draw_seed(key) || (sealed = seal_encrypt(ring, "report.reporter_key", key,
	    sizeof(key))) == NULL)
		return false;
	hex_encode(key, sizeof(key), hex);
	n = snprintf(out, len, "{\"key\": \"%s\", \"key_sealed\": \"%s\", \"key_id\": \"%s\"}",
	    hex, sealed, ring->keys[ring->n - 1].id);
	free(sealed);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(hex, sizeof(hex));
	return n > 0 && (size_t)n < len;
}

/* Appends the route's extras to PARAMS; false (answered) on failure. BUF holds their text. */
static bool
add_extras(struct request *r, const char **params, int *n, char buf[][EXTRA_TEXT_MAX])
{
	unsigned char bytes[TOKEN_DIGEST_LEN];

	for (int i = 0; i < ROUTE_MAX_EXTRAS && r->route->extras[i] != EXTRA_END; i++) {
		switch (r->route->extras[i]) {
		case EXTRA_NEW_TOKEN:
			if (!token_generate(r->new_token) ||
			    !token_digest(r->new_token, strlen(r->new_token), bytes)) {
				request_fail(r, 500, "cannot generate a token", NULL);
				return false;
			}
			hex_encode(bytes, sizeof(bytes), buf[i]);
			break;
		case EXTRA_SEED:
		case EXTRA_SEED2:
			if (!draw_seed(bytes)) {
				request_fail(r, 500, "cannot draw a random seed", NULL);
				return false;
			}
			hex_encode(bytes, sizeof(bytes), buf[i]);
			break;
		case EXTRA_SETTINGS:
			params[(*n)++] = routes_settings();
			continue;
		case EXTRA_RECEIPT_HASH:
			params[(*n)++] = r->receipt_hash;
			continue;
		case EXTRA_SOURCE:
			if (!reports_source_key(r->req, buf[i])) {
				request_fail(r, 500, "cannot key the source", NULL);
				return false;
			}
			break;
		case EXTRA_REPORTER_KEY:
			if (!reporter_key(buf[i], EXTRA_TEXT_MAX)) {
				request_fail(r, 500, "cannot seal the reporter's key", NULL);
				return false;
			}
			break;
		case EXTRA_END:
			break;
		}
		params[(*n)++] = buf[i];
	}
	return true;
}

/* Binds the parameters and sends the statement; the request then belongs to route_sql_done. */
static void
route_sql_submit(struct request *r)
{
	const char *params[DB_MAX_PARAMS];
	char ids[ROUTER_MAX_PARAMS][24];
	char extras[ROUTE_MAX_EXTRAS][EXTRA_TEXT_MAX];
	int n = 0;

	params[n++] = r->has_token ? r->token_hex : NULL;
	params[n++] = r->id;
	for (int i = 0; i < r->match.nparams; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%" PRId64, r->match.params[i]);
		params[n++] = ids[i];
	}
	if (r->match.uuid[0] != '\0')
		params[n++] = r->match.uuid;
	if (r->route->schema != NULL)
		params[n++] = r->body != NULL ? r->body : "{}";
	if (r->route->query != NULL)
		params[n++] = r->query != NULL ? r->query : "{}";
	if (!add_extras(r, params, &n, extras))
		return;
	if (r->dispatched ? !route_dispatch_submit(r, params, n, route_sql_done) :
	    !db_pool_submit(r->pool, routes_statement_of(r->route), n, params,
	    route_sql_done, r))
		request_fail(r, 503, "the database is unavailable", NULL);
	OPENSSL_cleanse(extras, sizeof(extras));
}

void
route_sql_handle(struct request *r)
{
	/* before any sealing: a retry's hash must match the first request's */
	if (!route_dispatch_prepare(r))
		return;
	if (r->route->sealed != NULL ||
	    (r->route->flags & (ROUTE_RECEIPT_NEW | ROUTE_RECEIPT_GIVEN)))
		route_report_prepare(r, route_sql_submit);
	else
		route_sql_submit(r);
}

/* The function's error body {"detail", "field"?} becomes a problem answer. */
static void
reply_function_error(struct request *r, int status, const char *body)
{
	json_t *obj = body != NULL ? json_loads(body, 0, NULL) : NULL;
	struct problem p = { .status = status };

	p.detail = json_string_value(json_object_get(obj, "detail"));
	p.field = json_string_value(json_object_get(obj, "field"));
	if (status == 429 && json_integer_value(json_object_get(obj, "retry_after")) > 0) {
		char wait[24];

		snprintf(wait, sizeof(wait), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(json_object_get(obj, "retry_after")));
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", wait);
	}
	if (p.detail == NULL)
		p.detail = problem_title(status);
	request_reply_problem(r, &p);
	json_decref(obj);
}

/* Adds the secret made for this request (NAME: VALUE) to the function's answer. */
static void
reply_with_secret(struct request *r, int status, const char *body, const char *name,
    const char *value)
{
	json_t *obj = json_loads(body, 0, NULL);
	char *text;

	if (obj == NULL || json_object_set_new(obj, name, json_string(value)) != 0 ||
	    (text = json_dumps(obj, JSON_COMPACT)) == NULL) {
		json_decref(obj);
		request_fail(r, 500, "cannot build the answer", NULL);
		return;
	}
	json_decref(obj);
	request_reply_json(r, status, text);
	free(text);
}

/* ETag: "N" from the answer's top-level "version", read without parsing the rest. */
static void
add_etag(struct request *r, const char *body)
{
	int64_t v;
	char tag[32];

	if (json_peek_int(body, strlen(body), "version", &v) && v > 0) {
		snprintf(tag, sizeof(tag), "\"%" PRId64 "\"", v);
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "ETag", tag);
	}
}

/* SQLSTATEs that mean "try again later" rather than a bug. */
static bool
sqlstate_transient(const char *state)
{
	static const char *const transient[] = {
		"40001",	/* serialization_failure */
		"40P01",	/* deadlock_detected */
		"55P03",	/* lock_not_available */
		"57014",	/* query_canceled: statement_timeout */
		"25006",	/* read_only_sql_transaction */
		"53300",	/* too_many_connections */
		"57P01",	/* admin_shutdown */
		NULL,
	};

	for (int i = 0; state != NULL && transient[i] != NULL; i++)
		if (strcmp(state, transient[i]) == 0)
			return true;
	return false;
}

static void
reply_statement_failure(struct request *r, const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (sqlstate_transient(state)) {
		log_warn("rid=%s statement failed, transient: %s %s", r->id,
		    state, msg != NULL ? msg : "");
		request_fail(r, 503, "the database is busy; retry shortly", NULL);
		return;
	}
	log_error("rid=%s statement failed: %s %s", r->id,
	    state != NULL ? state : "?", msg != NULL ? msg : "");
	request_fail(r, 500, "internal error", NULL);
}

static void
route_sql_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct request *r = arg;
	const char *body;
	int status;

	if (outcome == DB_UNAVAILABLE) {
		request_fail(r, 503, "the database is unavailable", NULL);
		return;
	}
	if (outcome == DB_FAILED) {
		reply_statement_failure(r, res);
		return;
	}
	if (PQntuples(res) != 1 || PQnfields(res) < 2) {
		log_error("rid=%s statement returned %d rows", r->id, PQntuples(res));
		request_fail(r, 500, "internal error", NULL);
		return;
	}
	status = atoi(PQgetvalue(res, 0, 0));
	body = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
	if (PQnfields(res) == 3 && strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
		/* api.dispatch replayed a kept answer: this request's secrets were never used */
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
		    "Idempotent-Replayed", "true");
		r->new_token[0] = '\0';
		r->receipt[0] = '\0';
	}
	if (status == 200 && (r->route->flags & ROUTE_ETAG) && body != NULL)
		add_etag(r, body);
	if (status >= 400)
		reply_function_error(r, status, body);
	else if (r->route->finish != NULL && body != NULL)
		r->route->finish(r, status, body);
	else if (r->new_token[0] != '\0' && status == 201 && body != NULL)
		reply_with_secret(r, status, body, "token", r->new_token);
	else if (r->receipt[0] != '\0' && status == 201 && body != NULL)
		reply_with_secret(r, status, body, "receipt", r->receipt);
	else
		request_reply_json(r, status, body);
}
