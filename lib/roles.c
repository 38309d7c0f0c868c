/*
 * roles.c - the closed sets of user roles and jury categories.
 * These lists must stay identical to the CHECK constraints in sql/0001; they
 * are data only, with no knowledge of what each role may do.
 */
#include "certflow/roles.h"

#include <string.h>

const char *const role_names[ROLE_COUNT + 1] = {
	"admin", "pedagogy", "mentor", "evaluator", "jury", "student", NULL,
};

const char *const jury_category_names[JURY_CATEGORY_COUNT + 1] = {
	"expert", "recruiter", "pedagogy", "mentor", NULL,
};

static bool
in_list(const char *const *list, const char *name)
{
	if (name == NULL)
		return false;
	for (; *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

bool
role_valid(const char *name)
{
	return in_list(role_names, name);
}

bool
jury_category_valid(const char *name)
{
	return in_list(jury_category_names, name);
}
