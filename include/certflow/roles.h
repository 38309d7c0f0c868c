/*
 * roles.h - the closed sets of user roles and jury categories.
 * The database enforces the same sets with CHECK constraints (sql/0001).
 */
#ifndef CERTFLOW_ROLES_H
#define CERTFLOW_ROLES_H

#include <stdbool.h>

#define ROLE_COUNT 6
#define JURY_CATEGORY_COUNT 4

/* NULL-terminated lists, in a fixed order: admin, pedagogy, mentor, evaluator, jury, student. */
extern const char *const role_names[ROLE_COUNT + 1];
/* expert, recruiter, pedagogy, mentor */
extern const char *const jury_category_names[JURY_CATEGORY_COUNT + 1];

bool role_valid(const char *name);
bool jury_category_valid(const char *name);

#endif
