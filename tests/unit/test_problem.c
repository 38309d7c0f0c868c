/*
 * test_problem.c - unit tests for lib/problem.c: title and type for every
 * status certflowd answers with, and problem_json's output read back with
 * json_loads (optional members present exactly when asked for).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "certflow/problem.h"

static const struct {
	int status;
	const char *title, *slug;
} kinds[] = {
	{ 400, "Bad Request", "bad-request" },
	{ 401, "Unauthorized", "unauthorized" },
	{ 403, "Forbidden", "forbidden" },
	{ 404, "Not Found", "not-found" },
	{ 405, "Method Not Allowed", "method-not-allowed" },
	{ 408, "Request Timeout", "request-timeout" },
	{ 409, "Conflict", "conflict" },
	{ 412, "Precondition Failed", "precondition-failed" },
	{ 413, "Content Too Large", "content-too-large" },
	{ 415, "Unsupported Media Type", "unsupported-media-type" },
	{ 422, "Unprocessable Content", "validation-failed" },
	{ 429, "Too Many Requests", "too-many-requests" },
	{ 500, "Internal Server Error", "internal-error" },
	{ 503, "Service Unavailable", "service-unavailable" },
};

static void
test_titles_and_types(void **state)
{
	char want[128];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_string_equal(problem_title(kinds[i].status), kinds[i].title);
		snprintf(want, sizeof(want), "urn:certflow:problem:%s",
		    kinds[i].slug);
		assert_string_equal(problem_type(kinds[i].status), want);
	}
}

static void
test_unknown_status(void **state)
{
	static const int odd[] = { 0, -1, 200, 402, 418, 502, 999 };

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		assert_string_equal(problem_title(odd[i]), "Error");
		assert_string_equal(problem_type(odd[i]),
		    "urn:certflow:problem:error");
	}
}

/* Serialises P and parses it back; the caller json_decref's. */
static json_t *
round_trip(const struct problem *p, char **text)
{
	json_error_t je;
	json_t *o;

	*text = problem_json(p);
	assert_non_null(*text);
	o = json_loads(*text, 0, &je);
	if (o == NULL)
		fail_msg("not JSON: %s (%s)", *text, je.text);
	assert_true(json_is_object(o));
	return o;
}

static void
test_minimal_problem(void **state)
{
	struct problem p = { .status = 404, .detail = "no such user" };
	char *text;
	json_t *o = round_trip(&p, &text);

	assert_int_equal(json_object_size(o), 4);
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "urn:certflow:problem:not-found");
	assert_string_equal(json_string_value(json_object_get(o, "title")),
	    "Not Found");
	assert_true(json_is_integer(json_object_get(o, "status")));
	assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
	assert_string_equal(json_string_value(json_object_get(o, "detail")),
	    "no such user");
	/* Compact: no spaces after separators; members in a stable order. */
	assert_string_equal(text, "{\"type\":\"urn:certflow:problem:not-found\","
	    "\"title\":\"Not Found\",\"status\":404,\"detail\":\"no such user\"}");
	json_decref(o);
	free(text);
}

static void
test_all_members(void **state)
{
	struct problem p = {
		.status = 422, .detail = "must be a string",
		.field = "projects[1].skills[0].code", .line = 3, .column = 14,
		.request_id = "req-0001",
	};
	char *text;
	json_t *o = round_trip(&p, &text);

	assert_int_equal(json_object_size(o), 8);
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "urn:certflow:problem:validation-failed");
	assert_string_equal(json_string_value(json_object_get(o, "title")),
	    "Unprocessable Content");
	assert_string_equal(json_string_value(json_object_get(o, "field")),
	    "projects[1].skills[0].code");
	assert_int_equal(json_integer_value(json_object_get(o, "line")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "column")), 14);
	assert_string_equal(json_string_value(json_object_get(o, "request_id")),
	    "req-0001");
	json_decref(o);
	free(text);
}

static void
test_line_zero_omits_position(void **state)
{
	struct problem p = { .status = 400, .detail = "x", .line = 0,
	    .column = 5, .request_id = "r" };
	char *text;
	json_t *o = round_trip(&p, &text);

	assert_null(json_object_get(o, "line"));
	assert_null(json_object_get(o, "column"));
	assert_null(json_object_get(o, "field"));
	assert_non_null(json_object_get(o, "request_id"));
	json_decref(o);
	free(text);
}

static void
test_special_characters_are_escaped(void **state)
{
	struct problem p = { .status = 400,
	    .detail = "bad \"quote\"\n\\ </script> caf\xc3\xa9",
	    .field = "a\"b" };
	char *text;
	json_t *o = round_trip(&p, &text);

	assert_string_equal(json_string_value(json_object_get(o, "detail")),
	    "bad \"quote\"\n\\ </script> caf\xc3\xa9");
	assert_string_equal(json_string_value(json_object_get(o, "field")),
	    "a\"b");
	assert_null(strchr(text, '\n'));
	json_decref(o);
	free(text);
}

static void
test_invalid_utf8_is_replaced_not_fatal(void **state)
{
	struct problem p = { .status = 422, .detail = "bad \xff byte",
	    .field = "n\xc3", .request_id = "\x80id" };
	char *text;
	json_t *o = round_trip(&p, &text);

	assert_string_equal(json_string_value(json_object_get(o, "detail")),
	    "bad ? byte");
	assert_string_equal(json_string_value(json_object_get(o, "field")), "n?");
	assert_string_equal(json_string_value(json_object_get(o, "request_id")),
	    "?id");
	json_decref(o);
	free(text);
}

static void
test_null_detail_falls_back_to_title(void **state)
{
	struct problem p = { .status = 503 };
	char *text;
	json_t *o = round_trip(&p, &text);

	assert_string_equal(json_string_value(json_object_get(o, "detail")),
	    "Service Unavailable");
	json_decref(o);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_titles_and_types),
		cmocka_unit_test(test_unknown_status),
		cmocka_unit_test(test_minimal_problem),
		cmocka_unit_test(test_all_members),
		cmocka_unit_test(test_line_zero_omits_position),
		cmocka_unit_test(test_special_characters_are_escaped),
		cmocka_unit_test(test_invalid_utf8_is_replaced_not_fatal),
		cmocka_unit_test(test_null_detail_falls_back_to_title),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
