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

#include <certflow/draw.h>
#include <certflow/log.h>

#include "routes.h"

static void route_sql_done(void *arg, enum db_outcome outcome, const PGresult *res);

/* Appends the route's extras to PARAMS; false (answered) on failure. BUF holds their text. */
static bool
add_extras(struct request *r, const char **params, int *n, char buf[][TOKEN_DIGEST_HEX_LEN + 1])
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
		case EXTRA_END:
			break;
		}
		params[(*n)++] = buf[i];
	}
	return true;
}

void
route_sql_handle(struct request *r)
{
	const char *params[DB_MAX_PARAMS];
	char ids[ROUTER_MAX_PARAMS][24];
	char extras[ROUTE_MAX_EXTRAS][TOKEN_DIGEST_HEX_LEN + 1];
	int n = 0;

	params[n++] = r->has_token ? r->token_hex : NULL;
	params[n++] = r->id;
	for (int i = 0; i < r->match.nparams; i++) {
		snprintf(ids[i], sizeof(ids[i]), "%" PRId64, r->match.params[i]);
		params[n++] = ids[i];
	}
	if (r->route->schema != NULL)
		params[n++] = r->body != NULL ? r->body : "{}";
	if (r->route->query != NULL)
		params[n++] = r->query != NULL ? r->query : "{}";
	if (!add_extras(r, params, &n, extras))
		return;
	if (!db_pool_submit(r->pool, routes_statement_of(r->route), n, params,
	    route_sql_done, r))
		request_fail(r, 503, "the database is unavailable", NULL);
}

/* The function's error body {"detail", "field"?} becomes a problem answer. */
static void
reply_function_error(struct request *r, int status, const char *body)
{
	json_t *obj = body != NULL ? json_loads(body, 0, NULL) : NULL;
	struct problem p = { .status = status };

	p.detail = json_string_value(json_object_get(obj, "detail"));
	p.field = json_string_value(json_object_get(obj, "field"));
	if (p.detail == NULL)
		p.detail = problem_title(status);
	request_reply_problem(r, &p);
	json_decref(obj);
}

/* Adds the token generated for this request to the function's answer. */
static void
reply_with_token(struct request *r, int status, const char *body)
{
	json_t *obj = json_loads(body, 0, NULL);
	char *text;

	if (obj == NULL || json_object_set_new(obj, "token", json_string(r->new_token)) != 0 ||
	    (text = json_dumps(obj, JSON_COMPACT)) == NULL) {
		json_decref(obj);
		request_fail(r, 500, "cannot build the answer", NULL);
		return;
	}
	json_decref(obj);
	request_reply_json(r, status, text);
	free(text);
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
	if (PQntuples(res) != 1 || PQnfields(res) != 2) {
		log_error("rid=%s statement returned %d rows", r->id, PQntuples(res));
		request_fail(r, 500, "internal error", NULL);
		return;
	}
	status = atoi(PQgetvalue(res, 0, 0));
	body = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
	if (status >= 400)
		reply_function_error(r, status, body);
	else if (r->route->finish != NULL && body != NULL)
		r->route->finish(r, status, body);
	else if (r->new_token[0] != '\0' && status == 201 && body != NULL)
		reply_with_token(r, status, body);
	else
		request_reply_json(r, status, body);
}
