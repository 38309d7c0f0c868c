/*
 * routes.c - owns the route table and what is derived from it: the router's
 * patterns, the metric labels ("GET /v1/me") and one prepared statement per
 * SQL route. Every SQL text of the daemon is a literal in this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <certflow/schemas.h>

#include "routes.h"

#define SQL_CALL(fn, args) "SELECT status, body::text FROM api." fn "(" args ")"

const struct route routes[] = {
	{ METHOD_GET, "/healthz", route_healthz, NULL, NULL, ROUTE_PUBLIC },
	{ METHOD_GET, "/metrics", route_metrics, NULL, NULL, ROUTE_PUBLIC },
	{ METHOD_GET, "/v1/me", route_sql_handle,
	  SQL_CALL("me", "$1, $2"), NULL, 0 },
	{ METHOD_POST, "/v1/users", route_sql_handle,
	  SQL_CALL("user_create", "$1, $2, $3::jsonb, $4"),
	  &schema_user_create, ROUTE_ISSUES_TOKEN },
	{ METHOD_GET, "/v1/users/{id}", route_sql_handle,
	  SQL_CALL("user_get", "$1, $2, $3::bigint"), NULL, 0 },
	{ METHOD_POST, "/v1/users/{id}/tokens", route_sql_handle,
	  SQL_CALL("token_create", "$1, $2, $3::bigint, $4::jsonb, $5"),
	  &schema_empty, ROUTE_ISSUES_TOKEN },
	{ METHOD_DELETE, "/v1/tokens/{id}", route_sql_handle,
	  SQL_CALL("token_revoke", "$1, $2, $3::bigint"), NULL, 0 },
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);

#define PING_SQL "SELECT 1"

static struct route_pattern *patterns;
static char **labels;
static struct db_statement *statements;	/* one per SQL route, then ping */
static int *statement_of;		/* route index -> statement index or -1 */
static char **statement_names;
static int nstatements;

static int
count_params(const struct route *rt)
{
	int n = 2;	/* token digest, request id */

	for (const char *p = rt->pattern; (p = strchr(p, '{')) != NULL; p++)
		n++;
	if (rt->schema != NULL)
		n++;
	if (rt->flags & ROUTE_ISSUES_TOKEN)
		n++;
	return n;
}

static bool
add_statement(const char *sql, int nparams)
{
	char name[16];

	snprintf(name, sizeof(name), "s%d", nstatements);
	if ((statement_names[nstatements] = strdup(name)) == NULL)
		return false;
	statements[nstatements].name = statement_names[nstatements];
	statements[nstatements].sql = sql;
	statements[nstatements].nparams = nparams;
	nstatements++;
	return true;
}

static bool
add_label(size_t i)
{
	const char *method = router_method_name(routes[i].method);
	size_t len = strlen(method) + 1 + strlen(routes[i].pattern) + 1;

	if ((labels[i] = malloc(len)) == NULL)
		return false;
	snprintf(labels[i], len, "%s %s", method, routes[i].pattern);
	return true;
}

bool
routes_init(void)
{
	patterns = calloc(nroutes, sizeof(*patterns));
	labels = calloc(nroutes + 1, sizeof(*labels));
	statements = calloc(nroutes + 1, sizeof(*statements));
	statement_names = calloc(nroutes + 1, sizeof(*statement_names));
	statement_of = calloc(nroutes, sizeof(*statement_of));
	if (patterns == NULL || labels == NULL || statements == NULL ||
	    statement_names == NULL || statement_of == NULL)
		goto fail;
	for (size_t i = 0; i < nroutes; i++) {
		patterns[i].method = routes[i].method;
		patterns[i].pattern = routes[i].pattern;
		if (!add_label(i))
			goto fail;
		statement_of[i] = -1;
		if (routes[i].sql != NULL) {
			statement_of[i] = nstatements;
			if (count_params(&routes[i]) > DB_MAX_PARAMS ||
			    !add_statement(routes[i].sql, count_params(&routes[i])))
				goto fail;
		}
	}
	if (!add_statement(PING_SQL, 0))
		goto fail;
	return true;
fail:
	routes_free();
	return false;
}

const struct route_pattern *
routes_patterns(void)
{
	return patterns;
}

const char *const *
routes_labels(void)
{
	return (const char *const *)labels;
}

const struct db_statement *
routes_statements(int *n)
{
	*n = nstatements;
	return statements;
}

int
routes_statement_of(const struct route *route)
{
	return statement_of[route - routes];
}

int
routes_ping_statement(void)
{
	return nstatements - 1;
}

void
routes_free(void)
{
	for (size_t i = 0; labels != NULL && i < nroutes; i++)
		free(labels[i]);
	for (int i = 0; statement_names != NULL && i < nstatements; i++)
		free(statement_names[i]);
	free(patterns);
	free(labels);
	free(statements);
	free(statement_names);
	free(statement_of);
	patterns = NULL;
	labels = NULL;
	statements = NULL;
	statement_names = NULL;
	statement_of = NULL;
	nstatements = 0;
}
