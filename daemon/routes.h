/*
 * routes.h - the table of every HTTP route: its method and path, who may
 * call it, the schema of its body, and the one SQL statement that serves it.
 * Adding a route means adding one row here and one function in sql/.
 */
#ifndef CERTFLOW_ROUTES_H
#define CERTFLOW_ROUTES_H

#include <stddef.h>

#include <certflow/config.h>
#include <certflow/jsonin.h>
#include <certflow/router.h>

#include "db_pool.h"
#include "request.h"

enum route_flags {
	ROUTE_PUBLIC		= 1 << 0,	/* no bearer token needed */
	ROUTE_OPTIONAL_AUTH	= 1 << 1,	/* a token if sent (checked), else anonymous */
	ROUTE_RECEIPT_NEW	= 1 << 2,	/* draws a receipt; it joins the answer */
	ROUTE_RECEIPT_GIVEN	= 1 << 3,	/* the body's "receipt" is hashed, then dropped */
	ROUTE_ETAG		= 1 << 4,	/* a 200 carries ETag: "version" */
};

/* Values certflowd adds after the request's own, for the SQL function. */
enum route_extra {
	EXTRA_END = 0,
	EXTRA_NEW_TOKEN,	/* digest of a token generated here; the token joins the answer */
	EXTRA_SEED,		/* 32 fresh random bytes (hex) for a draw */
	EXTRA_SEED2,		/* a second, independent seed */
	EXTRA_SETTINGS,		/* the workflow settings of the configuration, as JSON */
	EXTRA_RECEIPT_HASH,	/* the receipt's slow hash (hex) */
	EXTRA_SOURCE,		/* HMAC of the client's address (hex): a rate-limit key */
	EXTRA_REPORTER_KEY,	/* {"key", "key_sealed", "key_id"}: a one-time key for the reporter's id */
};
#define ROUTE_MAX_EXTRAS 4

struct route {
	unsigned method;
	const char *pattern;
	void (*handle)(struct request *r);
	/*
	 * For route_sql_handle: the statement's parameters are the token
	 * digest, the request id, the path's ids, its uuid, the body (when SCHEMA is
	 * set), the query string as a JSON object (when QUERY is set), then
	 * the EXTRAS in order.
	 */
	const char *sql;
	const struct jf_schema *schema;	/* body; NULL: the route reads no body */
	const struct jf_schema *query;	/* query string; NULL: none accepted */
	enum route_extra extras[ROUTE_MAX_EXTRAS];
	unsigned flags;
	/* Optional: turns a 2xx (status, body) of the SQL function into the answer. */
	void (*finish)(struct request *r, int status, const char *body);
	/* Body fields sealed before they reach SQL ("body", "subject.description"). */
	const char *const *sealed;
	/* The SQL function and its argument list, for api.dispatch. */
	const char *fn;
	const char *args;
	/* The table whose row (the path's first id) If-Match checks; NULL: none. */
	const char *versioned;
};

/* Statements that serve no route: the daemon's own work. */
enum internal_statement {
	STMT_PING,		/* /healthz */
	STMT_REASSIGN_OVERDUE,	/* the deadline scanner: (request id, seed, settings) */
	STMT_CREDENTIALS_UNSIGNED,	/* the signer: (request id, limit) */
	STMT_CREDENTIALS_STORE,		/* the signer: (request id, documents) */
	STMT_AUDIT_SEAL,		/* the audit sealer: (request id, limit) */
	STMT_AUDIT_HEAD_STORE,		/* the audit sealer: (request id, seq, hash, key id, signature) */
	STMT_DISPATCH,			/* a route through api.dispatch (route_dispatch.c) */
	STMT_INTERNAL_COUNT,
};

extern const struct route routes[];
extern const size_t nroutes;

/* Router patterns, metric labels and prepared statements derived from routes[]. */
bool routes_init(const struct config *cfg) __attribute__((warn_unused_result));
/* {"defense_due_days": 14, ...}: what EXTRA_SETTINGS passes; built by routes_init. */
const char *routes_settings(void);
const struct route_pattern *routes_patterns(void);
const char *const *routes_labels(void);
const struct db_statement *routes_statements(int *n);
/* The prepared statement index of route I, or -1. */
int routes_statement_of(const struct route *route);
void routes_free(void);

/* Handlers. */
void route_sql_handle(struct request *r);	/* route_sql.c */
/* route_dispatch.c: reads Idempotency-Key and If-Match; false when answered. */
bool route_dispatch_prepare(struct request *r);
/* Sends the route's call through api.dispatch; false when it cannot. */
bool route_dispatch_submit(struct request *r, const char **params, int n, db_done_fn done);
void route_healthz(struct request *r);		/* route_health.c */
void route_metrics(struct request *r);		/* route_health.c */
void route_calibration_one(struct request *r, int status, const char *body);
void route_calibration_all(struct request *r, int status, const char *body);
/* route_report.c: seals the body's fields and hashes receipts, then calls NEXT. */
void route_report_prepare(struct request *r, void (*next)(struct request *r));
void route_report_unseal(struct request *r, int status, const char *body);
/* route_credential.c */
void route_credential_finish(struct request *r, int status, const char *body);
void route_status_list_finish(struct request *r, int status, const char *body);
void route_keys(struct request *r);

/* The prepared statement index of an internal statement. */
int routes_internal_statement(enum internal_statement which);

#endif
