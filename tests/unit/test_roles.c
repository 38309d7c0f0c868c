/*
 * test_roles.c - unit tests for lib/roles.c: the two closed lists keep their
 * documented order and terminator, and the validators accept exactly their
 * members (case-sensitive, NULL-safe).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "certflow/roles.h"

static void
test_role_list_order(void **state)
{
	static const char *const want[] = { "admin", "pedagogy", "mentor",
	    "evaluator", "jury", "student" };

	for (int i = 0; i < ROLE_COUNT; i++)
		assert_string_equal(role_names[i], want[i]);
	assert_null(role_names[ROLE_COUNT]);
}

static void
test_jury_category_list_order(void **state)
{
	static const char *const want[] = { "expert", "recruiter", "pedagogy",
	    "mentor" };

	for (int i = 0; i < JURY_CATEGORY_COUNT; i++)
		assert_string_equal(jury_category_names[i], want[i]);
	assert_null(jury_category_names[JURY_CATEGORY_COUNT]);
}

static void
test_role_valid(void **state)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		assert_true(role_valid(role_names[i]));
	assert_false(role_valid("Admin"));
	assert_false(role_valid("admin "));
	assert_false(role_valid("adm"));
	assert_false(role_valid("expert"));
	assert_false(role_valid(""));
	assert_false(role_valid(NULL));
}

static void
test_jury_category_valid(void **state)
{
	for (int i = 0; i < JURY_CATEGORY_COUNT; i++)
		assert_true(jury_category_valid(jury_category_names[i]));
	assert_false(jury_category_valid("student"));
	assert_false(jury_category_valid("admin"));
	assert_false(jury_category_valid("Expert"));
	assert_false(jury_category_valid(""));
	assert_false(jury_category_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_list_order),
		cmocka_unit_test(test_jury_category_list_order),
		cmocka_unit_test(test_role_valid),
		cmocka_unit_test(test_jury_category_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
