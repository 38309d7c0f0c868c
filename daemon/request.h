/*
 * request.h - one HTTP request from dispatch to answer.
 * A request is answered exactly once, by one of the request_reply_* calls,
 * which also log it, count it and free it: after that call, R is gone.
 */
#ifndef CERTFLOW_REQUEST_H
#define CERTFLOW_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <event2/http.h>

#include <certflow/config.h>
#include <certflow/problem.h>
#include <certflow/receipt.h>
#include <certflow/router.h>
#include <certflow/token.h>

#define REQUEST_ID_MAX 64

struct route;
struct server;

struct request {
	struct server *srv;
	struct db_pool *pool;
	struct evhttp_request *req;	/* detached by evhttp if the client leaves */
	const struct route *route;	/* NULL until matched */
	int route_index;		/* -1 when unmatched */
	unsigned method;
	struct router_match match;
	char id[REQUEST_ID_MAX + 1];
	bool has_token;
	char token_hex[TOKEN_DIGEST_HEX_LEN + 1];
	const struct config *cfg;	/* the running configuration */
	char *body;			/* NUL-terminated validated JSON, or NULL; owned */
	char *query;			/* the query string as a validated JSON object, or NULL; owned */
	char new_token[TOKEN_TEXT_LEN + 1];	/* issued by this request, "" if none */
	char receipt[RECEIPT_TEXT_LEN + 1];	/* a new report's receipt, "" if none */
	char receipt_digits[RECEIPT_DIGITS + 1];	/* the receipt this request hashes */
	char receipt_hash[2 * RECEIPT_HASH_LEN + 1];	/* its slow hash, in hex */
	const char *idem_key;		/* the Idempotency-Key header, or NULL */
	long long if_match;		/* the If-Match version; 0 when none */
	char request_hash[65];		/* with a key: SHA-256 of the request, hex */
	bool dispatched;		/* goes through api.dispatch (route_dispatch.c) */
	struct timespec started;
};

/* Answers STATUS with JSON (NULL: no body, e.g. 204). */
void request_reply_json(struct request *r, int status, const char *json);

/* Answers with a problem+json body built from P (P->request_id is filled in). */
void request_reply_problem(struct request *r, struct problem *p);

/* Shorthand for a problem with DETAIL and an optional FIELD. */
void request_fail(struct request *r, int status, const char *detail, const char *field);

/* Answers with BODY of CONTENT_TYPE as is (metrics). */
void request_reply_raw(struct request *r, int status, const char *content_type,
    struct evbuffer *body);

#endif
