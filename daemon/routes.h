/*
 * routes.h - the table of every HTTP route: its method and path, who may
 * call it, the schema of its body, and the one SQL statement that serves it.
 * Adding a route means adding one row here and one function in sql/.
 */
#ifndef CERTFLOW_ROUTES_H
#define CERTFLOW_ROUTES_H

#include <stddef.h>

#include <certflow/jsonin.h>
#include <certflow/router.h>

#include "db_pool.h"
#include "request.h"

enum route_flags {
	ROUTE_PUBLIC		= 1 << 0,	/* no bearer token needed */
	ROUTE_ISSUES_TOKEN	= 1 << 1,	/* generates a token, passes its digest last */
};

struct route {
	unsigned method;
	const char *pattern;
	void (*handle)(struct request *r);
	/*
	 * For route_sql_handle: the statement's parameters are the token
	 * digest, the request id, the path's ids, the body (when SCHEMA is set)
	 * and the new token's digest (ROUTE_ISSUES_TOKEN), in that order.
	 */
	const char *sql;
	const struct jf_schema *schema;	/* POST body; NULL: the route reads no body */
	unsigned flags;
};

extern const struct route routes[];
extern const size_t nroutes;

/* Router patterns, metric labels and prepared statements derived from routes[]. */
bool routes_init(void) __attribute__((warn_unused_result));
const struct route_pattern *routes_patterns(void);
const char *const *routes_labels(void);
const struct db_statement *routes_statements(int *n);
/* The prepared statement index of route I, or -1. */
int routes_statement_of(const struct route *route);
void routes_free(void);

/* Handlers. */
void route_sql_handle(struct request *r);	/* route_sql.c */
void route_healthz(struct request *r);		/* route_health.c */
void route_metrics(struct request *r);		/* route_health.c */

/* The healthz probe's statement index. */
int routes_ping_statement(void);

#endif
