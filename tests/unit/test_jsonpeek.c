/*
 * test_jsonpeek.c - lib/jsonpeek.c: the top-level member only, never one of
 * a nested object or text inside a string; integers only, within int64;
 * malformed or truncated text is refused, never read past its length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <certflow/jsonpeek.h>

static bool
peek(const char *text, int64_t *v)
{
	return json_peek_int(text, strlen(text), "version", v);
}

static void
test_top_level_member(void **state)
{
	int64_t v = 0;

	assert_true(peek("{\"version\":7}", &v));
	assert_int_equal(v, 7);
	/* jsonb::text spacing, and the member after others */
	assert_true(peek("{\"id\": 1, \"state\": \"open\", \"version\": 42}", &v));
	assert_int_equal(v, 42);
	assert_true(peek(" \n{ \"version\" :\t-3 , \"x\": []}\n", &v));
	assert_int_equal(v, -3);
	assert_true(peek("{\"version\":0}", &v));
	assert_int_equal(v, 0);
}

static void
test_nested_and_quoted_never_match(void **state)
{
	int64_t v = 0;

	assert_true(peek("{\"attempts\": [{\"version\": 5}, {\"version\": 6}], "
	    "\"credential\": {\"version\": 8, \"x\": {\"version\": 9}}, \"version\": 3}", &v));
	assert_int_equal(v, 3);
	assert_true(peek("{\"note\": \"\\\"version\\\": 9, \", \"version\": 2}", &v));
	assert_int_equal(v, 2);
	assert_true(peek("{\"a\": \"}\", \"b\": \"]\", \"c\": \"{[\", \"version\": 11}", &v));
	assert_int_equal(v, 11);
	assert_false(peek("{\"attempts\": [{\"version\": 5}]}", &v));
	assert_false(peek("{\"note\": \"version\"}", &v));
	/* a name is compared as written: escapes, prefixes and longer names differ */
	assert_false(peek("{\"versio\\u006e\": 4}", &v));
	assert_false(peek("{\"versions\": 4}", &v));
	assert_false(peek("{\"version_\": 4}", &v));
	assert_false(peek("{\"versio\": 4}", &v));
}

static void
test_first_member_wins(void **state)
{
	int64_t v = 0;

	assert_true(peek("{\"version\": 1, \"version\": 2}", &v));
	assert_int_equal(v, 1);
}

static void
test_only_integers_in_range(void **state)
{
	int64_t v = 99;
	static const char *const refused[] = {
		"{\"version\": 1.5}", "{\"version\": 1e3}", "{\"version\": \"3\"}",
		"{\"version\": null}", "{\"version\": true}", "{\"version\": [1]}",
		"{\"version\": {}}", "{\"version\": -}", "{\"version\": 01}",
		"{\"version\": +1}", "{\"version\": 9223372036854775808}",
		"{\"version\": -9223372036854775809}", "{\"version\": 12x}",
		"{\"version\": }", NULL,
	};

	for (int i = 0; refused[i] != NULL; i++) {
		assert_false(peek(refused[i], &v));
		assert_int_equal(v, 99);
	}
	assert_true(peek("{\"version\": 9223372036854775807}", &v));
	assert_int_equal(v, INT64_MAX);
	assert_true(peek("{\"version\": -9223372036854775808}", &v));
	assert_int_equal(v, INT64_MIN);
}

static void
test_malformed_and_truncated(void **state)
{
	static const char *const refused[] = {
		"", "   ", "[{\"version\": 1}]", "\"version\"", "{}", "{ }", "{\"version\"}",
		"{\"version\" 1}", "{version: 1}", "{\"a\": 1 \"version\": 2}",
		"{\"a\": \"unterminated, \"version\": 2", "{\"a\": \"x\\", NULL,
	};
	const char *full = "{\"a\": [1, {\"b\": \"c\"}], \"version\": 12345}";
	int64_t v = 0;

	for (int i = 0; refused[i] != NULL; i++)
		assert_false(peek(refused[i], &v));
	/* every proper prefix is refused, read from a copy of exactly its length */
	for (size_t n = 0; n < strlen(full); n++) {
		char *copy = malloc(n + 1);

		assert_non_null(copy);
		memcpy(copy, full, n);
		assert_false(json_peek_int(copy, n, "version", &v));
		free(copy);
	}
	assert_true(json_peek_int(full, strlen(full), "version", &v));
	assert_int_equal(v, 12345);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_level_member),
		cmocka_unit_test(test_nested_and_quoted_never_match),
		cmocka_unit_test(test_first_member_wins),
		cmocka_unit_test(test_only_integers_in_range),
		cmocka_unit_test(test_malformed_and_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
