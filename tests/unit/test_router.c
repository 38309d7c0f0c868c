/*
 * test_router.c - unit tests for lib/router.c against a table shaped like
 * certflowd's: literal and {id} segments, canonical ids only, 404 versus 405
 * with the allowed set, HEAD on GET routes, the Allow header and method names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certflow/router.h"

enum {
	R_HEALTHZ, R_ME, R_USERS_CREATE, R_USER_TOKENS, R_TOKEN_DELETE,
	R_ENROLLMENT, R_ENROLLMENT_NOTES, R_NOTE, R_ROOT, R_CREDENTIAL,
};

static const struct route_pattern routes[] = {
	[R_HEALTHZ] = { METHOD_GET, "/healthz" },
	[R_ME] = { METHOD_GET, "/v1/me" },
	[R_USERS_CREATE] = { METHOD_POST, "/v1/users" },
	[R_USER_TOKENS] = { METHOD_POST, "/v1/users/{id}/tokens" },
	[R_TOKEN_DELETE] = { METHOD_DELETE, "/v1/tokens/{id}" },
	[R_ENROLLMENT] = { METHOD_GET, "/v1/enrollments/{id}" },
	[R_ENROLLMENT_NOTES] = { METHOD_POST, "/v1/enrollments/{id}/notes" },
	[R_NOTE] = { METHOD_PATCH, "/v1/enrollments/{id}/notes/{id}" },
	[R_ROOT] = { METHOD_OPTIONS, "/" },
	[R_CREDENTIAL] = { METHOD_GET, "/v1/credentials/{uuid}" },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static struct router_match m;

static enum router_result
route(unsigned method, const char *path)
{
	return router_match(routes, NROUTES, method, path, &m);
}

static void
expect_found(unsigned method, const char *path, size_t index)
{
	if (route(method, path) != ROUTER_FOUND)
		fail_msg("%s %s not found", router_method_name(method), path);
	assert_int_equal(m.index, index);
}

static void
expect_not_found(const char *path)
{
	if (route(METHOD_GET, path) != ROUTER_NOT_FOUND)
		fail_msg("GET %s matched", path);
	assert_int_equal(m.allowed, 0);
	assert_int_equal(m.nparams, 0);
}

static void
test_literal_routes(void **state)
{
	expect_found(METHOD_GET, "/healthz", R_HEALTHZ);
	assert_int_equal(m.nparams, 0);
	expect_found(METHOD_GET, "/v1/me", R_ME);
	expect_found(METHOD_POST, "/v1/users", R_USERS_CREATE);
	expect_found(METHOD_OPTIONS, "/", R_ROOT);
}

static void
test_id_routes_capture_params(void **state)
{
	expect_found(METHOD_POST, "/v1/users/42/tokens", R_USER_TOKENS);
	assert_int_equal(m.nparams, 1);
	assert_int_equal(m.params[0], 42);
	expect_found(METHOD_DELETE, "/v1/tokens/1", R_TOKEN_DELETE);
	assert_int_equal(m.params[0], 1);
	expect_found(METHOD_PATCH, "/v1/enrollments/7/notes/9001", R_NOTE);
	assert_int_equal(m.nparams, 2);
	assert_int_equal(m.params[0], 7);
	assert_int_equal(m.params[1], 9001);
}

static void
test_id_bounds(void **state)
{
	expect_found(METHOD_GET, "/v1/enrollments/9223372036854775807",
	    R_ENROLLMENT);
	assert_true(m.params[0] == INT64_MAX);
	expect_not_found("/v1/enrollments/9223372036854775808");
	expect_not_found("/v1/enrollments/9999999999999999999");
	expect_not_found("/v1/enrollments/18446744073709551617");
	expect_not_found("/v1/enrollments/92233720368547758070");
}

static void
test_non_canonical_ids_do_not_match(void **state)
{
	static const char *const bad[] = {
		"/v1/enrollments/0", "/v1/enrollments/007", "/v1/enrollments/+1",
		"/v1/enrollments/-1", "/v1/enrollments/", "/v1/enrollments/1a",
		"/v1/enrollments/ 1", "/v1/enrollments/1.0", "/v1/enrollments/0x1",
		"/v1/enrollments/%31", "/v1/enrollments/{id}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_not_found(bad[i]);
}

static void
test_structure_must_match_exactly(void **state)
{
	expect_not_found("/healthz/");
	expect_not_found("//healthz");
	expect_not_found("/v1//me");
	expect_not_found("/v1/me/");
	expect_not_found("/V1/me");
	expect_not_found("/v1/m");
	expect_not_found("/v1/mee");
	expect_not_found("v1/me");
	expect_not_found("");
	expect_not_found("/v1");
	expect_not_found("/v1/enrollments/5/notes/");
	expect_not_found("/v1/enrollments/5/notes/6/7");
	expect_not_found("/v1/me?x=1");
	assert_int_equal(router_match(routes, NROUTES, METHOD_GET, NULL, &m),
	    ROUTER_NOT_FOUND);
}

static void
test_method_not_allowed_reports_allowed_set(void **state)
{
	assert_int_equal(route(METHOD_POST, "/healthz"),
	    ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, METHOD_GET);
	assert_int_equal(route(METHOD_GET, "/v1/users"),
	    ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, METHOD_POST);
	assert_int_equal(route(METHOD_DELETE, "/v1/enrollments/3"),
	    ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, METHOD_GET);
	assert_int_equal(route(METHOD_HEAD, "/v1/users/3/tokens"),
	    ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, METHOD_POST);
}

static void
test_allowed_is_union_of_matching_patterns(void **state)
{
	static const struct route_pattern t[] = {
		{ METHOD_GET, "/v1/tokens" },
		{ METHOD_GET, "/v1/tokens/{id}" },
		{ METHOD_DELETE, "/v1/tokens/{id}" },
		{ METHOD_PUT, "/v1/tokens/{id}" },
		{ METHOD_POST, "/v1/tokens/{id}/x" },
	};
	const size_t n = sizeof(t) / sizeof(t[0]);

	assert_int_equal(router_match(t, n, METHOD_POST, "/v1/tokens/5", &m),
	    ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, METHOD_GET | METHOD_DELETE | METHOD_PUT);
	assert_int_equal(router_match(t, n, METHOD_PUT, "/v1/tokens/5", &m),
	    ROUTER_FOUND);
	assert_int_equal(m.index, 3);
	assert_int_equal(m.params[0], 5);
	assert_int_equal(router_match(t, n, METHOD_POST, "/v1/tokens/05", &m),
	    ROUTER_NOT_FOUND);
}

static void
test_head_matches_get_routes(void **state)
{
	expect_found(METHOD_HEAD, "/healthz", R_HEALTHZ);
	expect_found(METHOD_HEAD, "/v1/enrollments/12", R_ENROLLMENT);
	assert_int_equal(m.params[0], 12);
	/* ...but GET does not match HEAD-only routes. */
	static const struct route_pattern t[] = { { METHOD_HEAD, "/x" } };
	assert_int_equal(router_match(t, 1, METHOD_GET, "/x", &m),
	    ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(router_match(t, 1, METHOD_HEAD, "/x", &m), ROUTER_FOUND);
}

static void
test_first_matching_route_wins(void **state)
{
	static const struct route_pattern t[] = {
		{ METHOD_GET, "/a/{id}" },
		{ METHOD_GET, "/a/{id}" },
	};

	assert_int_equal(router_match(t, 2, METHOD_GET, "/a/1", &m),
	    ROUTER_FOUND);
	assert_int_equal(m.index, 0);
}

static void
test_too_many_params_never_match(void **state)
{
	static const struct route_pattern t[] = {
		{ METHOD_GET, "/{id}/{id}/{id}/{id}" },
		{ METHOD_GET, "/{id}/{id}/{id}/{id}/{id}" },
	};

	assert_int_equal(router_match(t, 2, METHOD_GET, "/1/2/3/4", &m),
	    ROUTER_FOUND);
	assert_int_equal(m.nparams, 4);
	assert_int_equal(m.params[3], 4);
	assert_int_equal(router_match(t, 2, METHOD_GET, "/1/2/3/4/5", &m),
	    ROUTER_NOT_FOUND);
}

static void
expect_allow(unsigned allowed, const char *want)
{
	char buf[128];

	assert_int_equal(router_allow_header(allowed, buf, sizeof(buf)),
	    strlen(want));
	assert_string_equal(buf, want);
}

static void
test_allow_header(void **state)
{
	char small[12];

	expect_allow(METHOD_GET, "GET, HEAD");
	expect_allow(METHOD_POST, "POST");
	expect_allow(METHOD_DELETE | METHOD_GET | METHOD_POST,
	    "GET, HEAD, POST, DELETE");
	expect_allow(METHOD_OPTIONS | METHOD_PATCH | METHOD_PUT | METHOD_HEAD,
	    "HEAD, PUT, PATCH, OPTIONS");
	expect_allow(0x7f, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	expect_allow(0, "");
	/* Truncation never leaves half a method name. */
	assert_int_equal(router_allow_header(METHOD_GET | METHOD_POST, small,
	    sizeof(small)), 9);
	assert_string_equal(small, "GET, HEAD");
	assert_int_equal(router_allow_header(METHOD_GET, small, 0), 0);
}

static void
test_method_names(void **state)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		unsigned bit = router_method_parse(names[i]);

		assert_int_not_equal(bit, 0);
		assert_int_equal(bit & (bit - 1), 0);
		assert_string_equal(router_method_name(bit), names[i]);
	}
	assert_int_equal(router_method_parse("GET"), METHOD_GET);
	assert_int_equal(router_method_parse("get"), 0);
	assert_int_equal(router_method_parse("TRACE"), 0);
	assert_int_equal(router_method_parse(""), 0);
	assert_int_equal(router_method_parse(NULL), 0);
	assert_null(router_method_name(0));
	assert_null(router_method_name(METHOD_GET | METHOD_POST));
}

static void
test_uuid_segments(void **state)
{
	static const char *const refused[] = {
		"/v1/credentials/0F8FAD5B-D9CB-469F-A165-70867728950E",	/* upper case */
		"/v1/credentials/0f8fad5bd9cb469fa16570867728950e",	/* no dashes */
		"/v1/credentials/0f8fad5b-d9cb-469f-a165-70867728950",	/* short */
		"/v1/credentials/0f8fad5b-d9cb-469f-a165-70867728950e0",
		"/v1/credentials/0f8fad5b-d9cb-469f-a165_70867728950e",
		"/v1/credentials/0f8fad5b-d9cb-469f-a165-70867728950g",
		"/v1/credentials/", "/v1/credentials/42",
	};

	expect_found(METHOD_GET, "/v1/credentials/0f8fad5b-d9cb-469f-a165-70867728950e",
	    R_CREDENTIAL);
	assert_string_equal(m.uuid, "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_int_equal(m.nparams, 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		expect_not_found(refused[i]);
	expect_found(METHOD_GET, "/v1/me", R_ME);
	assert_string_equal(m.uuid, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_routes),
		cmocka_unit_test(test_id_routes_capture_params),
		cmocka_unit_test(test_id_bounds),
		cmocka_unit_test(test_non_canonical_ids_do_not_match),
		cmocka_unit_test(test_structure_must_match_exactly),
		cmocka_unit_test(test_method_not_allowed_reports_allowed_set),
		cmocka_unit_test(test_allowed_is_union_of_matching_patterns),
		cmocka_unit_test(test_head_matches_get_routes),
		cmocka_unit_test(test_first_matching_route_wins),
		cmocka_unit_test(test_too_many_params_never_match),
		cmocka_unit_test(test_uuid_segments),
		cmocka_unit_test(test_allow_header),
		cmocka_unit_test(test_method_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
