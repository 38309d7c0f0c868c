/*
 * test_jsonin.c - unit tests for lib/jsonin.c: parsing (syntax errors with
 * their position, duplicate keys, non-objects, nesting depth, JSONTestSuite),
 * schema validation (unknown, missing, null, types, bounds, nested paths)
 * and every string format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certflow/jsonin.h"

#define SUITE_DIR "../shared/testdata/JSONTestSuite/test_parsing"

/* ---- a schema shaped like certflowd's request bodies ---- */

static const char *const statuses[] = { "validated", "needs_improvement", NULL };

static const struct jf_field skill_fields[] = {
	{ .name = "code", .type = JF_STRING, .required = true,
	    .format = JF_FMT_CODE },
	{ .name = "status", .type = JF_STRING, .required = true,
	    .choices = statuses },
};
static const struct jf_schema skill_schema = JF_SCHEMA(skill_fields);

static const struct jf_field project_fields[] = {
	{ .name = "title", .type = JF_STRING, .required = true, .min = 1,
	    .max = 10 },
	{ .name = "skills", .type = JF_ARRAY, .required = true, .max = 5,
	    .item = JF_OBJECT, .sub = &skill_schema },
};
static const struct jf_schema project_schema = JF_SCHEMA(project_fields);

static const struct jf_field address_fields[] = {
	{ .name = "city", .type = JF_STRING, .required = true },
};
static const struct jf_schema address_schema = JF_SCHEMA(address_fields);

static const struct jf_field top_fields[] = {
	{ .name = "name", .type = JF_STRING, .required = true, .min = 1,
	    .max = 40 },
	{ .name = "email", .type = JF_STRING, .format = JF_FMT_EMAIL,
	    .nullable = true },
	{ .name = "score", .type = JF_INT, .min = 0, .max = 100 },
	{ .name = "count", .type = JF_INT },
	{ .name = "user_id", .type = JF_ID },
	{ .name = "active", .type = JF_BOOL },
	{ .name = "tags", .type = JF_ARRAY, .min = 1, .max = 3,
	    .item = JF_STRING, .format = JF_FMT_CODE },
	{ .name = "levels", .type = JF_ARRAY, .item = JF_STRING,
	    .choices = statuses },
	{ .name = "ids", .type = JF_ARRAY, .item = JF_ID },
	{ .name = "scores", .type = JF_ARRAY, .max = 2, .item = JF_INT },
	{ .name = "week", .type = JF_STRING, .format = JF_FMT_ISO_WEEK },
	{ .name = "digest", .type = JF_STRING, .format = JF_FMT_SHA256 },
	{ .name = "url", .type = JF_STRING, .format = JF_FMT_URI },
	{ .name = "at", .type = JF_STRING, .format = JF_FMT_TIMESTAMP },
	{ .name = "level", .type = JF_STRING, .choices = statuses },
	{ .name = "address", .type = JF_OBJECT, .sub = &address_schema },
	{ .name = "projects", .type = JF_ARRAY, .item = JF_OBJECT,
	    .sub = &project_schema },
};
static const struct jf_schema top_schema = JF_SCHEMA(top_fields);

static const struct jf_field length_fields[] = {
	{ .name = "upto", .type = JF_STRING, .max = 5 },
	{ .name = "atleast", .type = JF_STRING, .min = 3 },
	{ .name = "exact", .type = JF_STRING, .min = 2, .max = 2 },
	{ .name = "note", .type = JF_STRING, .required = true, .nullable = true },
	{ .name = "anything", .type = JF_OBJECT },
};
static const struct jf_schema length_schema = JF_SCHEMA(length_fields);

static struct jsonin_error err;

/* ---- helpers ---- */

static json_t *
parse(const char *text)
{
	return jsonin_parse(text, strlen(text), &err);
}

static void
expect_parse_error(const char *text, const char *detail_prefix)
{
	json_t *v = parse(text);

	if (v != NULL) {
		json_decref(v);
		fail_msg("accepted: %s", text);
	}
	assert_int_equal(err.status, 400);
	assert_string_equal(err.field, "");
	if (strncmp(err.detail, detail_prefix, strlen(detail_prefix)) != 0)
		fail_msg("for %s: detail '%s', want '%s...'", text, err.detail,
		    detail_prefix);
}

static bool
validate(const struct jf_schema *schema, const char *text)
{
	json_t *v = parse(text);
	bool ok;

	if (v == NULL)
		fail_msg("cannot parse %s: %s", text, err.detail);
	ok = jsonin_validate(v, schema, &err);
	json_decref(v);
	return ok;
}

static void
expect_valid_in(const struct jf_schema *schema, const char *text)
{
	if (!validate(schema, text))
		fail_msg("rejected %s: %s: %s", text, err.field, err.detail);
	assert_int_equal(err.status, 0);
}

static void
expect_invalid_in(const struct jf_schema *schema, const char *text,
    const char *field, const char *detail)
{
	if (validate(schema, text))
		fail_msg("accepted %s", text);
	assert_int_equal(err.status, 422);
	if (strcmp(err.field, field) != 0 || strcmp(err.detail, detail) != 0)
		fail_msg("for %s: got %s: %s; want %s: %s", text, err.field,
		    err.detail, field, detail);
	assert_int_equal(err.line, 0);
}

#define expect_valid(text) expect_valid_in(&top_schema, text)
#define expect_invalid(text, field, detail) \
	expect_invalid_in(&top_schema, text, field, detail)

/* ---- parsing ---- */

static void
test_parse_object(void **state)
{
	json_t *v = parse("{\"a\": [1, {\"b\": null}], \"c\": \"d\"}");

	assert_non_null(v);
	assert_int_equal(err.status, 0);
	assert_true(json_is_object(v));
	assert_int_equal(json_object_size(v), 2);
	json_decref(v);
}

static void
test_parse_uses_length_not_nul(void **state)
{
	json_t *v = jsonin_parse("{}garbage", 2, &err);

	assert_non_null(v);
	json_decref(v);
	assert_null(jsonin_parse("{} {}", 5, &err));
	assert_int_equal(err.status, 400);
}

static void
test_syntax_error_position(void **state)
{
	expect_parse_error("{\"a\": 1,\n  \"b\": x}", "malformed JSON: ");
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 8);
	assert_non_null(strstr(err.detail, "invalid token"));
	expect_parse_error("{\"a\":1,}", "malformed JSON: ");
	assert_int_equal(err.line, 1);
	assert_true(err.column > 0);
}

static void
test_duplicate_keys_rejected(void **state)
{
	expect_parse_error("{\"a\":1,\"a\":2}", "malformed JSON: duplicate");
	expect_parse_error("{\"a\":{\"b\":1,\"b\":1}}", "malformed JSON: duplicate");
	expect_parse_error("{\"list\":[{\"x\":1,\"x\":2}]}",
	    "malformed JSON: duplicate");
}

static void
test_non_objects_rejected(void **state)
{
	expect_parse_error("[1,2]", "the body must be a JSON object");
	assert_int_equal(err.line, 0);
	expect_parse_error("[]", "the body must be a JSON object");
	expect_parse_error("42", "malformed JSON: ");
	expect_parse_error("\"s\"", "malformed JSON: ");
	expect_parse_error("null", "malformed JSON: ");
	expect_parse_error("", "malformed JSON: ");
	expect_parse_error("   ", "malformed JSON: ");
	assert_null(jsonin_parse(NULL, 0, &err));
	assert_int_equal(err.status, 400);
}

static void
test_junk_and_odd_values_rejected(void **state)
{
	expect_parse_error("{} {}", "malformed JSON: ");
	expect_parse_error("{}x", "malformed JSON: ");
	expect_parse_error("{\"a\":\"\\u0000\"}", "malformed JSON: ");
	expect_parse_error("{\"a\":99999999999999999999}", "malformed JSON: ");
	expect_parse_error("{\"a\":1e400}", "malformed JSON: ");
	expect_parse_error("{'a':1}", "malformed JSON: ");
	expect_parse_error("{\"a\":NaN}", "malformed JSON: ");
}

static void
test_syntax_detail_is_printable_ascii(void **state)
{
	expect_parse_error("{\"a\":\"\xc3\"}", "malformed JSON: ");
	for (const char *c = err.detail; *c != '\0'; c++)
		assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
	expect_parse_error("{\"a\": \xc3\xa9}", "malformed JSON: invalid token near '?\?'");
	expect_parse_error("\xff\xfe{}", "malformed JSON: ");
	for (const char *c = err.detail; *c != '\0'; c++)
		assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
}

/* An object nesting LEVELS containers: objects, or arrays inside one object. */
static char *
nested(int levels, bool arrays)
{
	char *s = malloc((size_t)levels * 8 + 16), *p = s;

	assert_non_null(s);
	if (arrays) {
		p += sprintf(p, "{\"a\":");
		for (int i = 1; i < levels; i++)
			*p++ = '[';
		for (int i = 1; i < levels; i++)
			*p++ = ']';
		*p++ = '}';
	} else {
		for (int i = 1; i < levels; i++)
			p += sprintf(p, "{\"a\":");
		p += sprintf(p, "{}");
		for (int i = 1; i < levels; i++)
			*p++ = '}';
	}
	*p = '\0';
	return s;
}

static void
test_depth_limit(void **state)
{
	for (int arrays = 0; arrays < 2; arrays++) {
		char *ok = nested(32, arrays), *deep = nested(33, arrays);
		json_t *v = parse(ok);

		assert_non_null(v);
		json_decref(v);
		expect_parse_error(deep, "the body nests deeper than 32 levels");
		free(ok);
		free(deep);
	}
}

static void
test_very_deep_input_does_not_crash(void **state)
{
	char *deep = nested(5000, true);

	expect_parse_error(deep, "malformed JSON: ");
	free(deep);
}

/* True when the first non-whitespace byte of BUF is '{'. */
static bool
starts_object(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0')
		i++;
	return i < len && buf[i] == '{';
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	assert_false(ferror(f));
	fclose(f);
	return buf;
}

/* y_ objects jansson reads but certflow refuses on purpose. */
static bool
refused_on_purpose(const char *name)
{
	return strcmp(name, "y_object_duplicated_key.json") == 0 ||
	    strcmp(name, "y_object_duplicated_key_and_value.json") == 0 ||
	    strcmp(name, "y_object_escaped_null_in_key.json") == 0;
}

static void
check_suite_file(const char *name, int *n_count, int *y_count)
{
	char path[512];
	size_t len;
	char *buf;
	json_t *v;

	snprintf(path, sizeof(path), "%s/%s", SUITE_DIR, name);
	buf = slurp(path, &len);
	v = jsonin_parse(buf, len, &err);
	if (name[0] == 'n' || !starts_object(buf, len) || refused_on_purpose(name)) {
		if (v != NULL)
			fail_msg("%s accepted", name);
		assert_int_equal(err.status, 400);
		*n_count += name[0] == 'n';
	} else {
		if (v == NULL)
			fail_msg("%s rejected: %s", name, err.detail);
		++*y_count;
	}
	json_decref(v);
	free(buf);
}

static void
test_json_test_suite(void **state)
{
	DIR *d = opendir(SUITE_DIR);
	struct dirent *e;
	int n_count = 0, y_count = 0;

	if (d == NULL) {
		print_message("skipping: ../shared/testdata absent\n");
		skip();
	}
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 ||
		    (e->d_name[0] != 'n' && e->d_name[0] != 'y') ||
		    e->d_name[1] != '_')
			continue;
		check_suite_file(e->d_name, &n_count, &y_count);
	}
	closedir(d);
	assert_true(n_count > 100);
	assert_true(y_count >= 5);
}

/* ---- validation ---- */

static void
test_valid_document(void **state)
{
	expect_valid("{\"name\":\"Ada\"}");
	expect_valid("{\"name\":\"Ada\",\"email\":\"ada@example.org\",\"score\":100,"
	    "\"count\":-99999999999,\"user_id\":9223372036854775807,"
	    "\"active\":false,\"tags\":[\"a\",\"b-c\"],\"levels\":[],"
	    "\"ids\":[1,2],\"scores\":[-5,1000],\"week\":\"2026-W53\","
	    "\"digest\":\"" "0123456789abcdef0123456789ABCDEF"
	    "0123456789abcdef0123456789abcdef" "\",\"url\":\"https://x.org/a\","
	    "\"at\":\"2026-11-22T10:30:00Z\",\"level\":\"validated\","
	    "\"address\":{\"city\":\"Lyon\"},"
	    "\"projects\":[{\"title\":\"P\",\"skills\":[]},{\"title\":\"Q\","
	    "\"skills\":[{\"code\":\"C1\",\"status\":\"needs_improvement\"}]}]}");
}

static void
test_unknown_fields(void **state)
{
	expect_invalid("{\"name\":\"A\",\"nickname\":\"a\"}", "nickname",
	    "unknown field");
	expect_invalid("{\"nick\":1,\"name\":\"A\",\"zz\":2}", "nick",
	    "unknown field");
	expect_invalid("{\"name\":\"A\",\"address\":{\"city\":\"L\",\"zip\":1}}",
	    "address.zip", "unknown field");
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"P\",\"skills\":[]},"
	    "{\"title\":\"Q\",\"skills\":[{\"code\":\"C\",\"status\":\"validated\","
	    "\"bogus\":true}]}]}", "projects[1].skills[0].bogus", "unknown field");
	expect_invalid("{\"NAME\":\"A\"}", "NAME", "unknown field");
	expect_invalid_in(&length_schema, "{\"note\":\"x\",\"anything\":{\"k\":1}}",
	    "anything.k", "unknown field");
}

static void
test_schema_requires(void **state)
{
	static const struct jf_field optional_fields[] = {
		{ .name = "comment", .type = JF_STRING },
	};
	static const struct jf_schema optional_schema = JF_SCHEMA(optional_fields);
	static const struct jf_schema no_fields = { NULL, 0 };

	(void)state;
	assert_true(jsonin_schema_requires(&top_schema));
	assert_true(jsonin_schema_requires(&length_schema));	/* required though nullable */
	assert_false(jsonin_schema_requires(&optional_schema));
	assert_false(jsonin_schema_requires(&no_fields));
}

static void
test_required_fields(void **state)
{
	expect_invalid("{}", "name", "is required");
	expect_invalid("{\"email\":\"a@b.c\"}", "name", "is required");
	expect_invalid("{\"name\":\"A\",\"address\":{}}", "address.city",
	    "is required");
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"P\"}]}",
	    "projects[0].skills", "is required");
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"P\",\"skills\":"
	    "[{\"code\":\"x\",\"status\":\"validated\"},{\"code\":\"y\"}]}]}",
	    "projects[0].skills[1].status", "is required");
}

static void
test_null_handling(void **state)
{
	expect_valid("{\"name\":\"A\",\"email\":null}");
	expect_invalid("{\"name\":null}", "name", "must not be null");
	expect_invalid("{\"name\":\"A\",\"score\":null}", "score",
	    "must not be null");
	/* Required and nullable: null counts as absent, so still required. */
	expect_invalid_in(&length_schema, "{\"note\":null}", "note", "is required");
	expect_valid_in(&length_schema, "{\"note\":\"x\"}");
	expect_invalid("{\"name\":\"A\",\"ids\":[1,null]}", "ids[1]",
	    "must be a positive integer id");
}

static void
test_type_errors(void **state)
{
	expect_invalid("{\"name\":5}", "name", "must be a string");
	expect_invalid("{\"name\":[\"A\"]}", "name", "must be a string");
	expect_invalid("{\"name\":\"A\",\"score\":\"5\"}", "score",
	    "must be an integer");
	expect_invalid("{\"name\":\"A\",\"score\":5.0}", "score",
	    "must be an integer");
	expect_invalid("{\"name\":\"A\",\"count\":true}", "count",
	    "must be an integer");
	expect_invalid("{\"name\":\"A\",\"active\":\"true\"}", "active",
	    "must be true or false");
	expect_invalid("{\"name\":\"A\",\"active\":1}", "active",
	    "must be true or false");
	expect_invalid("{\"name\":\"A\",\"address\":[]}", "address",
	    "must be an object");
	expect_invalid("{\"name\":\"A\",\"tags\":{}}", "tags", "must be an array");
	expect_invalid("{\"name\":\"A\",\"tags\":\"a\"}", "tags", "must be an array");
}

static void
test_integer_bounds(void **state)
{
	expect_valid("{\"name\":\"A\",\"score\":0}");
	expect_invalid("{\"name\":\"A\",\"score\":101}", "score",
	    "must be an integer between 0 and 100");
	expect_invalid("{\"name\":\"A\",\"score\":-1}", "score",
	    "must be an integer between 0 and 100");
	expect_valid("{\"name\":\"A\",\"count\":-9223372036854775808}");
}

static void
test_ids(void **state)
{
	expect_valid("{\"name\":\"A\",\"user_id\":1}");
	expect_invalid("{\"name\":\"A\",\"user_id\":0}", "user_id",
	    "must be a positive integer id");
	expect_invalid("{\"name\":\"A\",\"user_id\":-3}", "user_id",
	    "must be a positive integer id");
	expect_invalid("{\"name\":\"A\",\"user_id\":\"3\"}", "user_id",
	    "must be a positive integer id");
	expect_invalid("{\"name\":\"A\",\"user_id\":3.5}", "user_id",
	    "must be a positive integer id");
}

static void
test_string_lengths_count_code_points(void **state)
{
	char doc[256];
	char name[128] = "";

	for (int i = 0; i < 40; i++)
		strcat(name, "\xc3\xa9");	/* 40 code points, 80 bytes */
	snprintf(doc, sizeof(doc), "{\"name\":\"%s\"}", name);
	expect_valid(doc);
	snprintf(doc, sizeof(doc), "{\"name\":\"%s\xe2\x82\xac\"}", name);
	expect_invalid(doc, "name", "must be between 1 and 40 characters long");
	expect_invalid("{\"name\":\"\"}", "name",
	    "must be between 1 and 40 characters long");
	expect_valid("{\"name\":\"\\ud83d\\ude00\"}");
}

static void
test_string_length_messages(void **state)
{
	expect_valid_in(&length_schema, "{\"note\":\"\",\"upto\":\"12345\","
	    "\"atleast\":\"abc\",\"exact\":\"ab\"}");
	expect_invalid_in(&length_schema, "{\"note\":\"\",\"upto\":\"123456\"}",
	    "upto", "must be at most 5 characters long");
	expect_invalid_in(&length_schema, "{\"note\":\"\",\"atleast\":\"ab\"}",
	    "atleast", "must be at least 3 characters long");
	expect_invalid_in(&length_schema, "{\"note\":\"\",\"exact\":\"abc\"}",
	    "exact", "must be exactly 2 characters long");
	expect_invalid_in(&length_schema, "{\"note\":\"\",\"exact\":\"\"}",
	    "exact", "must be exactly 2 characters long");
}

static void
test_choices(void **state)
{
	expect_valid("{\"name\":\"A\",\"level\":\"needs_improvement\"}");
	expect_invalid("{\"name\":\"A\",\"level\":\"maybe\"}", "level",
	    "must be one of validated, needs_improvement");
	expect_invalid("{\"name\":\"A\",\"level\":\"Validated\"}", "level",
	    "must be one of validated, needs_improvement");
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"T\",\"skills\":"
	    "[{\"code\":\"c\",\"status\":\"done\"}]}]}",
	    "projects[0].skills[0].status",
	    "must be one of validated, needs_improvement");
}

static void
test_arrays(void **state)
{
	expect_invalid("{\"name\":\"A\",\"tags\":[]}", "tags",
	    "must have at least 1 item");
	expect_invalid("{\"name\":\"A\",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", "tags",
	    "must have at most 3 items");
	/* The field's format applies to string items; length bounds do not. */
	expect_valid("{\"name\":\"A\",\"tags\":[\"a-long-code-of-more-than-three\"]}");
	expect_invalid("{\"name\":\"A\",\"tags\":[\"ok\",\"bad code\"]}", "tags[1]",
	    "must be a code of letters, digits, '_', '.' and '-'");
	expect_invalid("{\"name\":\"A\",\"tags\":[7]}", "tags[0]",
	    "must be a string");
	expect_invalid("{\"name\":\"A\",\"levels\":[\"validated\",\"nope\"]}",
	    "levels[1]", "must be one of validated, needs_improvement");
	expect_invalid("{\"name\":\"A\",\"ids\":[1,2,0]}", "ids[2]",
	    "must be a positive integer id");
	/* Integer items ignore min/max, which count the items. */
	expect_invalid("{\"name\":\"A\",\"scores\":[1,2,3]}", "scores",
	    "must have at most 2 items");
	expect_invalid("{\"name\":\"A\",\"scores\":[1,\"2\"]}", "scores[1]",
	    "must be an integer");
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"T\","
	    "\"skills\":[]},7]}", "projects[1]", "must be an object");
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"T\",\"skills\":"
	    "[{},{},{},{},{},{}]}]}", "projects[0].skills",
	    "must have at most 5 items");
}

static void
test_nested_paths(void **state)
{
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"T\",\"skills\":[]},"
	    "{\"title\":\"U\",\"skills\":[{\"code\":\"ok\",\"status\":\"validated\"},"
	    "{\"code\":\"-bad\",\"status\":\"validated\"}]}]}",
	    "projects[1].skills[1].code",
	    "must be a code of letters, digits, '_', '.' and '-'");
	expect_invalid("{\"name\":\"A\",\"projects\":[{\"title\":\"far too long\","
	    "\"skills\":[]}]}", "projects[0].title",
	    "must be between 1 and 10 characters long");
}

static void
test_format_messages(void **state)
{
	expect_invalid("{\"name\":\"A\",\"email\":\"nobody\"}", "email",
	    "must be an e-mail address");
	expect_invalid("{\"name\":\"A\",\"digest\":\"abc\"}", "digest",
	    "must be 64 hexadecimal digits (SHA-256)");
	expect_invalid("{\"name\":\"A\",\"week\":\"2026-W54\"}", "week",
	    "must be an ISO week such as 2026-W07");
	expect_invalid("{\"name\":\"A\",\"url\":\"example.org\"}", "url",
	    "must be a URI such as https://example.org/x");
	expect_invalid("{\"name\":\"A\",\"at\":\"yesterday\"}", "at",
	    "must be an RFC 3339 timestamp such as 2026-11-22T10:30:00Z");
}

static void
test_validate_rejects_non_object(void **state)
{
	json_t *a = json_array();

	assert_false(jsonin_validate(a, &top_schema, &err));
	assert_int_equal(err.status, 422);
	json_decref(a);
}

static void
test_embedded_nul_rejected(void **state)
{
	json_t *o = json_pack("{s:s%}", "name", "a\0b", (size_t)3);

	assert_non_null(o);
	assert_false(jsonin_validate(o, &top_schema, &err));
	assert_string_equal(err.field, "name");
	assert_string_equal(err.detail, "must not contain NUL characters");
	json_decref(o);
}

static void
test_long_field_path_cut_on_character_boundary(void **state)
{
	char doc[1024], key[512] = "";

	for (int i = 0; i < 200; i++)
		strcat(key, "\xc3\xa9");
	snprintf(doc, sizeof(doc), "{\"name\":\"A\",\"%s\":1}", key);
	assert_false(validate(&top_schema, doc));
	assert_string_equal(err.detail, "unknown field");
	assert_int_equal(strlen(err.field), 158);
	assert_memory_equal(err.field, key, 158);
}

/* ---- formats ---- */

static void
expect_format(enum jf_format fmt, const char *s, bool want)
{
	if (jsonin_format_ok(fmt, s) != want)
		fail_msg("format %d: '%s' should be %s", (int)fmt, s,
		    want ? "valid" : "invalid");
}

static void
expect_formats(enum jf_format fmt, const char *const *good,
    const char *const *bad)
{
	for (; *good != NULL; good++)
		expect_format(fmt, *good, true);
	for (; *bad != NULL; bad++)
		expect_format(fmt, *bad, false);
}

static char *
repeat(char c, size_t n, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s = malloc(pl + n + sl + 1);

	assert_non_null(s);
	memcpy(s, prefix, pl);
	memset(s + pl, c, n);
	memcpy(s + pl + n, suffix, sl + 1);
	return s;
}

static void
test_format_none_and_null(void **state)
{
	expect_format(JF_FMT_NONE, "", true);
	expect_format(JF_FMT_NONE, "anything at all", true);
	assert_false(jsonin_format_ok(JF_FMT_EMAIL, NULL));
	assert_false(jsonin_format_ok(JF_FMT_NONE, NULL));
}

static void
test_format_email(void **state)
{
	static const char *const good[] = { "a@b.c", "first.last+tag@example.co.uk",
	    "\xc3\xbc@ex\xc3\xa4mple.de", "admin@localhost", NULL };
	static const char *const bad[] = { "", "@b.c", "a@", "a@@b.c",
	    "a@b@c.d", "a b@c.d", "a@b.c ", " a@b.c", "a@.c", "a@b.", "a\t@b.c",
	    "a@b.c\n", "a@b\x7f.c", "ab.c", NULL };
	char *s;

	expect_formats(JF_FMT_EMAIL, good, bad);
	s = repeat('a', 254 - 6, "", "@ex.fr");
	expect_format(JF_FMT_EMAIL, s, true);
	free(s);
	s = repeat('a', 255 - 6, "", "@ex.fr");
	expect_format(JF_FMT_EMAIL, s, false);
	free(s);
}

static void
test_format_sha256(void **state)
{
	static const char *const good[] = {
	    "2572edd10308d09d56cfa8a1d555af02987241fa3ae113449de332b91bbafd5f",
	    "2572EDD10308D09D56CFA8A1D555AF02987241FA3AE113449DE332B91BBAFD5F",
	    NULL };
	static const char *const bad[] = { "",
	    "2572edd10308d09d56cfa8a1d555af02987241fa3ae113449de332b91bbafd5",
	    "2572edd10308d09d56cfa8a1d555af02987241fa3ae113449de332b91bbafd5f0",
	    "g572edd10308d09d56cfa8a1d555af02987241fa3ae113449de332b91bbafd5f",
	    "2572edd10308d09d56cfa8a1d555af02987241fa3ae113449de332b91bbafd5 ",
	    "0x72edd10308d09d56cfa8a1d555af02987241fa3ae113449de332b91bbafd5f",
	    NULL };

	expect_formats(JF_FMT_SHA256, good, bad);
}

static void
test_format_iso_week(void **state)
{
	static const char *const good[] = { "2026-W01", "2026-W07", "2026-W52",
	    "2026-W53", "2025-W52", "2020-W53", "2015-W53", "2004-W53",
	    "1992-W53", "1000-W01", "9999-W52", NULL };
	static const char *const bad[] = { "2026-W54", "2025-W53", "2021-W53",
	    "2019-W53", "2026-W00", "0999-W01", "2026-w07", "2026W07",
	    "2026-W7", "2026-W070", " 2026-W07", "2026-W07 ", "20260-W07",
	    "2026-07", "", "2026-W99", "abcd-W01", NULL };

	expect_formats(JF_FMT_ISO_WEEK, good, bad);
}

static void
test_format_uri(void **state)
{
	static const char *const good[] = { "https://example.org/x?y=1#z",
	    "urn:isbn:0451450523", "mailto:a@b.c", "a:b", "git+ssh://h/x",
	    "HTTP://X", "x-y.z:1", NULL };
	static const char *const bad[] = { "", "example.org", "://x",
	    "1http://x", "http:", "http://a b", "http://a\tb", "http://a\x7f",
	    "http://a\n", "ht_tp://x", "http://\xc3\xa9", ":", "-a:b", NULL };
	char *s;

	expect_formats(JF_FMT_URI, good, bad);
	s = repeat('a', 2048 - 8, "https://", "");
	expect_format(JF_FMT_URI, s, true);
	free(s);
	s = repeat('a', 2049 - 8, "https://", "");
	expect_format(JF_FMT_URI, s, false);
	free(s);
}

static void
test_format_code(void **state)
{
	static const char *const good[] = { "a", "A1", "RNCP-35.2_b", "0", "a-",
	    NULL };
	static const char *const bad[] = { "", "-a", "_a", ".a", "a b", "a/b",
	    "\xc3\xa9", "a\xc3\xa9", "a\n", NULL };
	char *s;

	expect_formats(JF_FMT_CODE, good, bad);
	s = repeat('x', 64, "", "");
	expect_format(JF_FMT_CODE, s, true);
	free(s);
	s = repeat('x', 65, "", "");
	expect_format(JF_FMT_CODE, s, false);
	free(s);
}

static void
test_format_timestamp(void **state)
{
	static const char *const good[] = { "2026-11-22T10:30:00Z",
	    "2026-11-22T10:30:00.123Z", "2026-11-22T10:30:00+01:00",
	    "2026-11-22T10:30:00.5-05:30", "2024-02-29T00:00:00Z",
	    "2000-02-29T12:00:00Z", "2026-11-22t10:30:00z",
	    "0001-01-01T00:00:00Z", "2026-12-31T23:59:59.999999999+15:59",
	    "2026-04-30T00:00:00-00:00", NULL };
	static const char *const bad[] = { "", "2026-11-22",
	    "2026-11-22 10:30:00Z", "2026-11-22T10:30:00", "2025-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
	    "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
	    "2026-11-22T24:00:00Z", "2026-11-22T10:60:00Z", "2026-11-22T10:30:60Z",
	    "2026-11-22T10:30:00.Z", "2026-11-22T10:30:00+1:00",
	    "2026-11-22T10:30:00+01:60", "2026-11-22T10:30:00+24:00",
	    "2026-11-22T10:30:00+16:00", "2026-11-22T10:30:00-23:59",
	    "2026-11-22T10:30:00+0100", "2026-11-22T10:30:00Zjunk",
	    "2026-11-22T10:30:00+01:00 ", "0000-01-01T00:00:00Z",
	    "2026-11-22T10:30:00.1234567890Z", "2026-11-22T10:30Z",
	    "26-11-22T10:30:00Z", "2026-1-22T10:30:00Z", "2026-11-22T1:30:00Z",
	    NULL };

	expect_formats(JF_FMT_TIMESTAMP, good, bad);
}

static void
test_format_uuid(void **state)
{
	static const char *const good[] = { "0f8fad5b-d9cb-469f-a165-70867728950e",
	    "00000000-0000-0000-0000-000000000000", NULL };
	static const char *const bad[] = { "", "0F8FAD5B-D9CB-469F-A165-70867728950E",
	    "0f8fad5bd9cb469fa16570867728950e", "0f8fad5b-d9cb-469f-a165-70867728950",
	    "0f8fad5b-d9cb-469f-a165-70867728950e0", "0f8fad5b_d9cb-469f-a165-70867728950e",
	    "{0f8fad5b-d9cb-469f-a165-70867728950e}", "0f8fad5b-d9cb-469f-a165-70867728950g",
	    NULL };

	expect_formats(JF_FMT_UUID, good, bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_object),
		cmocka_unit_test(test_parse_uses_length_not_nul),
		cmocka_unit_test(test_syntax_error_position),
		cmocka_unit_test(test_duplicate_keys_rejected),
		cmocka_unit_test(test_non_objects_rejected),
		cmocka_unit_test(test_junk_and_odd_values_rejected),
		cmocka_unit_test(test_syntax_detail_is_printable_ascii),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_very_deep_input_does_not_crash),
		cmocka_unit_test(test_json_test_suite),
		cmocka_unit_test(test_valid_document),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_required_fields),
		cmocka_unit_test(test_schema_requires),
		cmocka_unit_test(test_null_handling),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_integer_bounds),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_string_lengths_count_code_points),
		cmocka_unit_test(test_string_length_messages),
		cmocka_unit_test(test_choices),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_nested_paths),
		cmocka_unit_test(test_format_messages),
		cmocka_unit_test(test_validate_rejects_non_object),
		cmocka_unit_test(test_embedded_nul_rejected),
		cmocka_unit_test(test_long_field_path_cut_on_character_boundary),
		cmocka_unit_test(test_format_none_and_null),
		cmocka_unit_test(test_format_email),
		cmocka_unit_test(test_format_sha256),
		cmocka_unit_test(test_format_iso_week),
		cmocka_unit_test(test_format_uri),
		cmocka_unit_test(test_format_code),
		cmocka_unit_test(test_format_timestamp),
		cmocka_unit_test(test_format_uuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
