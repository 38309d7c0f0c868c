/*
 * fuzz_router.c - lib/router.c on arbitrary request paths, against a copy of
 * certflowd's route table (daemon/routes.c, patterns only; a route added
 * there need not be added here, the shapes are what matter). Invariants:
 * a match is the first route whose method fits, its {id} values are
 * positive and putting them (and the {uuid}) back into the pattern gives
 * the path byte for byte (one URL per resource); 405 and 404 agree with the
 * routes taken one by one; the Allow header never overflows its buffer and
 * never holds half a method name.
 */
#include "fuzz.h"

#include <inttypes.h>

#include <certflow/router.h>

#define G(p) { METHOD_GET, p }
#define P(p) { METHOD_POST, p }

static const struct route_pattern routes[] = {
	G("/healthz"), G("/metrics"), G("/v1/me"), P("/v1/users"),
	G("/v1/users/{id}"), P("/v1/users/{id}/tokens"),
	{ METHOD_DELETE, "/v1/tokens/{id}" }, P("/v1/paths"), G("/v1/paths"),
	G("/v1/paths/{id}"), P("/v1/users/{id}/qualifications"),
	P("/v1/conflicts"), P("/v1/enrollments"), G("/v1/enrollments/{id}"),
	P("/v1/enrollments/{id}/notes"), G("/v1/enrollments/{id}/notes"),
	G("/v1/alerts"), P("/v1/attempts/{id}/handover"), G("/v1/defenses"),
	P("/v1/defenses/{id}/verdict"), P("/v1/defenses/{id}/reassign"),
	P("/v1/defenses/{id}/reviews"), G("/v1/reviews"),
	P("/v1/reviews/{id}/verdict"), G("/v1/disagreements"),
	P("/v1/disagreements/{id}/resolve"), G("/v1/evaluators/{id}/calibration"),
	G("/v1/calibration"), P("/v1/reports"), P("/v1/reports/follow-up"),
	P("/v1/reports/follow-up/messages"), G("/v1/reports"),
	G("/v1/reports/{id}"), P("/v1/reports/{id}/acknowledge"),
	P("/v1/reports/{id}/messages"), P("/v1/reports/{id}/link"),
	P("/v1/reports/{id}/notify-subject"), P("/v1/reports/{id}/close"),
	P("/v1/jury-sessions"), G("/v1/jury-sessions/{id}"),
	P("/v1/jury-sessions/{id}/cases"), G("/v1/jury-cases/{id}"),
	G("/v1/jury-cases/{id}/dossier"), P("/v1/jury-cases/{id}/votes"),
	P("/v1/jury-cases/{id}/close"), P("/v1/jury-cases/{id}/extra-project"),
	G("/v1/credentials/{uuid}"), G("/v1/credentials/{uuid}/status"),
	P("/v1/credentials/{uuid}/revoke"), G("/v1/status-lists/{id}"),
	G("/.well-known/certflow/keys"), P("/v1/enrollments/{id}/credential"),
	/* shapes the table above lacks: two ids, a uuid between ids */
	{ METHOD_PUT, "/x/{id}/y/{id}" }, { METHOD_PATCH, "/x/{id}/{uuid}/{id}" },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const unsigned all_methods[] = {
	METHOD_GET, METHOD_POST, METHOD_PUT, METHOD_DELETE, METHOD_PATCH,
	METHOD_HEAD, METHOD_OPTIONS,
};

static bool
fits(unsigned route_method, unsigned method)
{
	return route_method == method ||
	    (method == METHOD_HEAD && route_method == METHOD_GET);
}

/* Rebuilds the path from PATTERN and M's values; it must be PATH itself. */
static void
check_canonical(const char *pattern, const char *path,
    const struct router_match *m)
{
	size_t cap = strlen(path) + 64, used = 0;
	char *buf = malloc(cap);
	int k = 0;

	FUZZ_ASSERT(buf != NULL);
	for (const char *p = pattern; *p != '\0' && used < cap;) {
		int w;

		if (strncmp(p, "{id}", 4) == 0) {
			FUZZ_ASSERT(k < m->nparams && m->params[k] > 0);
			w = snprintf(buf + used, cap - used, "%" PRId64,
			    m->params[k++]);
			p += 4;
		} else if (strncmp(p, "{uuid}", 6) == 0) {
			FUZZ_ASSERT(strlen(m->uuid) == 36);
			w = snprintf(buf + used, cap - used, "%s", m->uuid);
			p += 6;
		} else {
			w = snprintf(buf + used, cap - used, "%c", *p++);
		}
		FUZZ_ASSERT(w > 0);
		used += (size_t)w;
	}
	FUZZ_ASSERT(used < cap);
	FUZZ_ASSERT(k == m->nparams);
	FUZZ_ASSERT(strcmp(buf, path) == 0);
	free(buf);
}

static void
check_method(const char *path, unsigned method)
{
	struct router_match m, one;
	enum router_result r = router_match(routes, NROUTES, method, path, &m);
	unsigned allowed = 0;
	size_t first = NROUTES;

	/* The table taken one route at a time. */
	for (size_t i = 0; i < NROUTES; i++) {
		if (router_match(&routes[i], 1, method, path, &one) ==
		    ROUTER_NOT_FOUND)
			continue;
		allowed |= routes[i].method;
		if (first == NROUTES && fits(routes[i].method, method))
			first = i;
	}
	FUZZ_ASSERT(m.allowed == allowed);
	switch (r) {
	case ROUTER_FOUND:
		FUZZ_ASSERT(m.index == first);
		check_canonical(routes[m.index].pattern, path, &m);
		break;
	case ROUTER_METHOD_NOT_ALLOWED:
		FUZZ_ASSERT(first == NROUTES && allowed != 0);
		break;
	case ROUTER_NOT_FOUND:
		FUZZ_ASSERT(allowed == 0 && m.nparams == 0);
		break;
	default:
		FUZZ_ASSERT(!"unknown router result");
	}
}

/* Every buffer size: a NUL-terminated prefix of the full header, cut between names. */
static void
check_allow(unsigned allowed)
{
	char full[128], buf[128];
	size_t n = router_allow_header(allowed, full, sizeof(full));

	FUZZ_ASSERT(n == strlen(full));
	for (size_t len = 0; len <= n + 1; len++) {
		size_t got;

		memset(buf, 0x5a, sizeof(buf));
		got = router_allow_header(allowed, buf, len);
		for (size_t i = len; i < sizeof(buf); i++)
			FUZZ_ASSERT(buf[i] == 0x5a);
		if (len == 0) {
			FUZZ_ASSERT(got == 0);
			continue;
		}
		FUZZ_ASSERT(got < len && got == strlen(buf));
		FUZZ_ASSERT(memcmp(buf, full, got) == 0);
		FUZZ_ASSERT(got == 0 || got == n || full[got] == ',');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_cstr(data, size);
	unsigned method;

	for (size_t i = 0; i < sizeof(all_methods) / sizeof(all_methods[0]); i++)
		check_method(path, all_methods[i]);
	if ((method = router_method_parse(path)) != 0)
		FUZZ_ASSERT(strcmp(router_method_name(method), path) == 0);
	check_allow(size > 0 ? data[0] : 0);
	free(path);
	return 0;
}
