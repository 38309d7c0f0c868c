/*
 * router.h - matches a method and a path against a table of route patterns.
 * Patterns are literal segments and "{id}" segments; an {id} matches a
 * canonical positive 64-bit decimal (no sign, no leading zero); a "{uuid}"
 * segment (at most one per pattern) a lower-case 8-4-4-4-12 hex UUID. Pure: no
 * allocation, no I/O. The caller passes the path without its query string.
 */
#ifndef CERTFLOW_ROUTER_H
#define CERTFLOW_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#define ROUTER_MAX_PARAMS 4

enum http_method {
	METHOD_GET	= 1 << 0,
	METHOD_POST	= 1 << 1,
	METHOD_PUT	= 1 << 2,
	METHOD_DELETE	= 1 << 3,
	METHOD_PATCH	= 1 << 4,
	METHOD_HEAD	= 1 << 5,
	METHOD_OPTIONS	= 1 << 6,
};

struct route_pattern {
	unsigned method;	/* one enum http_method bit */
	const char *pattern;	/* "/v1/users/{id}/tokens" */
};

struct router_match {
	size_t index;				/* matched table index (ROUTER_FOUND) */
	int nparams;
	int64_t params[ROUTER_MAX_PARAMS];	/* {id} values, left to right */
	char uuid[37];				/* the {uuid} segment, "" if none */
	unsigned allowed;			/* methods of paths that matched (405) */
};

enum router_result {
	ROUTER_FOUND,
	ROUTER_NOT_FOUND,
	ROUTER_METHOD_NOT_ALLOWED,
};

/* A HEAD request matches GET routes. */
enum router_result router_match(const struct route_pattern *routes, size_t n,
    unsigned method, const char *path, struct router_match *m);

/* Writes "GET, HEAD, POST" for the bits of ALLOWED (GET implies HEAD); returns length. */
size_t router_allow_header(unsigned allowed, char *buf, size_t buflen);

/* "GET" -> METHOD_GET; 0 when unknown. */
unsigned router_method_parse(const char *name);
const char *router_method_name(unsigned method);

#endif
