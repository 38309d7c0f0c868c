/*
 * router.c - matches (method, path) against a table of route patterns.
 * Pure: walks the pattern and the path segment by segment without copying,
 * allocating or decoding anything. An {id} accepts only the canonical decimal
 * form of a positive int64, so one resource has exactly one URL.
 */
#include "certflow/router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ID_SEGMENT "{id}"
#define UUID_SEGMENT "{uuid}"
#define UUID_LEN 36

static const struct {
	unsigned bit;
	const char *name;
} methods[] = {	/* the order of the Allow header */
	{ METHOD_GET, "GET" },
	{ METHOD_HEAD, "HEAD" },
	{ METHOD_POST, "POST" },
	{ METHOD_PUT, "PUT" },
	{ METHOD_PATCH, "PATCH" },
	{ METHOD_DELETE, "DELETE" },
	{ METHOD_OPTIONS, "OPTIONS" },
};

#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* Parses [s, s+len) as a canonical positive int64 ("1".."9223372036854775807"). */
static bool
parse_id(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || s[0] < '1' || s[0] > '9')
		return false;
	for (size_t i = 0; i < len; i++) {
		int d = s[i] - '0';

		if (d < 0 || d > 9 || v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* True for a canonical lower-case UUID, 8-4-4-4-12 hex digits. */
static bool
is_uuid(const char *s, size_t len)
{
	if (len != UUID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' :
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static size_t
segment_len(const char *s)
{
	return strcspn(s, "/");
}

/* True when PATH matches PATTERN; fills the {id} values into M. */
static bool
match_pattern(const char *pattern, const char *path, struct router_match *m)
{
	const char *p = pattern, *s = path;

	m->nparams = 0;
	if (*p != '/' || *s != '/')
		return false;
	while (*p == '/' && *s == '/') {
		size_t pl = segment_len(++p), sl = segment_len(++s);

		if (pl == strlen(ID_SEGMENT) && memcmp(p, ID_SEGMENT, pl) == 0) {
			if (m->nparams == ROUTER_MAX_PARAMS ||
			    !parse_id(s, sl, &m->params[m->nparams]))
				return false;
			m->nparams++;
		} else if (pl == strlen(UUID_SEGMENT) && memcmp(p, UUID_SEGMENT, pl) == 0) {
			if (m->uuid[0] != '\0' || !is_uuid(s, sl))
				return false;
			memcpy(m->uuid, s, UUID_LEN);
			m->uuid[UUID_LEN] = '\0';
		} else if (pl != sl || memcmp(p, s, pl) != 0) {
			return false;
		}
		p += pl;
		s += sl;
	}
	return *p == '\0' && *s == '\0';
}

static bool
method_fits(unsigned route_method, unsigned method)
{
	return route_method == method ||
	    (method == METHOD_HEAD && route_method == METHOD_GET);
}

enum router_result
router_match(const struct route_pattern *routes, size_t n, unsigned method,
    const char *path, struct router_match *m)
{
	struct router_match cur;
	bool found = false;

	memset(m, 0, sizeof(*m));
	if (path == NULL)
		return ROUTER_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		memset(&cur, 0, sizeof(cur));
		if (!match_pattern(routes[i].pattern, path, &cur))
			continue;
		m->allowed |= routes[i].method;
		if (!found && method_fits(routes[i].method, method)) {
			found = true;
			m->index = i;
			m->nparams = cur.nparams;
			memcpy(m->params, cur.params, sizeof(m->params));
			memcpy(m->uuid, cur.uuid, sizeof(m->uuid));
		}
	}
	if (found)
		return ROUTER_FOUND;
	return m->allowed != 0 ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

size_t
router_allow_header(unsigned allowed, char *buf, size_t buflen)
{
	size_t used = 0;

	if (buflen == 0)
		return 0;
	buf[0] = '\0';
	if (allowed & METHOD_GET)
		allowed |= METHOD_HEAD;
	for (size_t i = 0; i < NMETHODS; i++) {
		int w;

		if (!(allowed & methods[i].bit))
			continue;
		w = snprintf(buf + used, buflen - used, "%s%s",
		    used > 0 ? ", " : "", methods[i].name);
		if (w < 0 || (size_t)w >= buflen - used) {
			buf[used] = '\0';	/* never a half method name */
			return used;
		}
		used += (size_t)w;
	}
	return used;
}

unsigned
router_method_parse(const char *name)
{
	if (name == NULL)
		return 0;
	for (size_t i = 0; i < NMETHODS; i++)
		if (strcmp(name, methods[i].name) == 0)
			return methods[i].bit;
	return 0;
}

const char *
router_method_name(unsigned method)
{
	for (size_t i = 0; i < NMETHODS; i++)
		if (methods[i].bit == method)
			return methods[i].name;
	return NULL;
}
