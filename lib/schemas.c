/*
 * schemas.c - request body schemas, one per route that takes a body.
 * Pure data: limits here are the API's contract (docs/openapi.yaml says
 * the same), and the SQL functions rely on shapes checked here.
 */
#include <certflow/roles.h>
#include <certflow/schemas.h>

const struct jf_schema schema_empty = { NULL, 0 };

static const struct jf_field user_create_fields[] = {
	{ .name = "name", .type = JF_STRING, .required = true, .min = 1, .max = 200 },
	{ .name = "email", .type = JF_STRING, .required = true, .min = 3, .max = 254,
	  .format = JF_FMT_EMAIL },
	{ .name = "roles", .type = JF_ARRAY, .required = true, .min = 1, .max = ROLE_COUNT,
	  .item = JF_STRING, .choices = role_names },
	{ .name = "jury_category", .type = JF_STRING, .choices = jury_category_names,
	  .nullable = true },
};
const struct jf_schema schema_user_create = JF_SCHEMA(user_create_fields);
