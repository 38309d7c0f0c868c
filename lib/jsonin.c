/*
 * jsonin.c - strict reading of request bodies: parse, schema check, formats.
 * Accepts exactly one JSON object without duplicate keys or deep nesting, then
 * checks it against a static jf_schema, naming the first offending field by
 * its path. Pure: no I/O, no logging; the only allocation is jansson's tree,
 * which the caller owns.
 */
#include "certflow/jsonin.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define JSONIN_MAX_DEPTH	32
#define EMAIL_MAX		254
#define URI_MAX			2048
#define CODE_MAX		64
#define FRACTION_MAX		9

/* The path of the value being checked: "projects[1].skills[0].code". */
struct path {
	char buf[256];
	size_t len;
};

/* ---- errors ---- */

/* Copies SRC into DST (SIZE bytes) without cutting a UTF-8 sequence in two. */
static void
copy_utf8(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = len < size - 1 ? len : size - 1;

	while (n > 0 && n < len && ((unsigned char)src[n] & 0xC0) == 0x80)
		n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool invalid(struct jsonin_error *err, const struct path *path,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records a 422 about the value at PATH; returns false. */
static bool
invalid(struct jsonin_error *err, const struct path *path, const char *fmt, ...)
{
	va_list ap;

	err->status = 422;
	err->line = err->column = 0;
	copy_utf8(err->field, sizeof(err->field), path->buf, path->len);
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return false;
}

/* Appends ".name" (or "name" at the top) or "[i]"; returns the length to restore. */
static size_t
path_push(struct path *p, const char *name, size_t index)
{
	size_t old = p->len, room = sizeof(p->buf) - p->len;
	int n;

	if (name != NULL)
		n = snprintf(p->buf + p->len, room, "%s%s", old > 0 ? "." : "", name);
	else
		n = snprintf(p->buf + p->len, room, "[%zu]", index);
	if (n > 0)
		p->len += (size_t)n < room ? (size_t)n : room - 1;
	return old;
}

static void
path_pop(struct path *p, size_t len)
{
	p->len = len;
	p->buf[len] = '\0';
}

/* ---- parsing ---- */

/* Copies jansson's message, which may quote input bytes, as printable ASCII. */
static void
syntax_error(struct jsonin_error *err, const json_error_t *je)
{
	char text[sizeof(je->text)];
	size_t i;

	for (i = 0; i < sizeof(text) - 1 && je->text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)je->text[i];

		text[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	text[i] = '\0';
	err->status = 400;
	snprintf(err->detail, sizeof(err->detail), "malformed JSON: %s", text);
	err->line = je->line > 0 ? je->line : 0;
	err->column = je->column > 0 ? je->column : 0;
}

/* False when V nests containers deeper than JSONIN_MAX_DEPTH (DEPTH is V's). */
static bool
depth_ok(json_t *v, int depth)
{
	const char *key;
	json_t *child;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return true;
	if (depth > JSONIN_MAX_DEPTH)
		return false;
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
			if (!depth_ok(child, depth + 1))
				return false;
		return true;
	}
	json_object_foreach(v, key, child)
		if (!depth_ok(child, depth + 1))
			return false;
	return true;
}

static json_t *
reject_400(json_t *v, struct jsonin_error *err, const char *detail)
{
	json_decref(v);
	err->status = 400;
	snprintf(err->detail, sizeof(err->detail), "%s", detail);
	return NULL;
}

json_t *
jsonin_parse(const char *buf, size_t len, struct jsonin_error *err)
{
	json_error_t je;
	json_t *v;

	memset(err, 0, sizeof(*err));
	if (buf == NULL)
		buf = "";
	if ((v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		syntax_error(err, &je);
		return NULL;
	}
	if (!json_is_object(v))
		return reject_400(v, err, "the body must be a JSON object");
	if (!depth_ok(v, 1))
		return reject_400(v, err, "the body nests deeper than 32 levels");
	return v;
}

/* ---- schema checks ---- */

static bool check_value(const struct jf_field *f, enum jf_type type,
    bool is_item, const json_t *v, struct path *path, struct jsonin_error *err);
static bool validate_object(const json_t *obj, const struct jf_schema *schema,
    struct path *path, struct jsonin_error *err);

static const char *const format_details[] = {
	[JF_FMT_NONE] = "has an invalid format",
	[JF_FMT_EMAIL] = "must be an e-mail address",
	[JF_FMT_SHA256] = "must be 64 hexadecimal digits (SHA-256)",
	[JF_FMT_ISO_WEEK] = "must be an ISO week such as 2026-W07",
	[JF_FMT_URI] = "must be a URI such as https://example.org/x",
	[JF_FMT_CODE] = "must be a code of letters, digits, '_', '.' and '-'",
	[JF_FMT_TIMESTAMP] = "must be an RFC 3339 timestamp such as "
	    "2026-11-22T10:30:00Z",
	[JF_FMT_UUID] = "must be a lower-case UUID such as "
	    "0f8fad5b-d9cb-469f-a165-70867728950e",
};

static size_t
utf8_code_points(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static bool
check_length(const struct jf_field *f, size_t bytes, const char *s,
    struct path *path, struct jsonin_error *err)
{
	long long n = (long long)utf8_code_points(s, bytes);

	if (f->max > 0 && f->min == f->max && n != f->max)
		return invalid(err, path, "must be exactly %lld characters long",
		    f->max);
	if (f->max > 0 && f->min > 0 && (n < f->min || n > f->max))
		return invalid(err, path, "must be between %lld and %lld "
		    "characters long", f->min, f->max);
	if (f->max > 0 && n > f->max)
		return invalid(err, path, "must be at most %lld characters long",
		    f->max);
	if (f->min > 0 && n < f->min)
		return invalid(err, path, "must be at least %lld characters long",
		    f->min);
	return true;
}

static bool
check_choices(const struct jf_field *f, const char *s, struct path *path,
    struct jsonin_error *err)
{
	char list[200] = "";
	size_t used = 0;

	if (f->choices == NULL)
		return true;
	for (size_t i = 0; f->choices[i] != NULL; i++)
		if (strcmp(s, f->choices[i]) == 0)
			return true;
	for (size_t i = 0; f->choices[i] != NULL && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
		    "%s%s", i > 0 ? ", " : "", f->choices[i]);
	return invalid(err, path, "must be one of %s", list);
}

/* Strings: length (not for array items), then format, then choices. */
static bool
check_string(const struct jf_field *f, bool is_item, const json_t *v,
    struct path *path, struct jsonin_error *err)
{
	const char *s = json_string_value(v);

	if (!json_is_string(v))
		return invalid(err, path, "must be a string");
	if (strlen(s) != json_string_length(v))
		return invalid(err, path, "must not contain NUL characters");
	if (!is_item && !check_length(f, json_string_length(v), s, path, err))
		return false;
	if (!jsonin_format_ok(f->format, s)) {
		size_t fmt = (size_t)f->format;

		return invalid(err, path, "%s", fmt < sizeof(format_details) /
		    sizeof(format_details[0]) ? format_details[fmt] :
		    format_details[JF_FMT_NONE]);
	}
	return check_choices(f, s, path, err);
}

static bool
check_int(const struct jf_field *f, bool is_item, const json_t *v,
    struct path *path, struct jsonin_error *err)
{
	json_int_t n = json_integer_value(v);
	bool bounded = !is_item && !(f->min == 0 && f->max == 0);

	if (!json_is_integer(v))
		return invalid(err, path, "must be an integer");
	if (bounded && (n < f->min || n > f->max))
		return invalid(err, path, "must be an integer between %lld and "
		    "%lld", f->min, f->max);
	return true;
}

static bool
check_array(const struct jf_field *f, const json_t *v, struct path *path,
    struct jsonin_error *err)
{
	long long n = (long long)json_array_size(v);
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return invalid(err, path, "must be an array");
	if (f->max > 0 && n > f->max)
		return invalid(err, path, "must have at most %lld item%s", f->max,
		    f->max == 1 ? "" : "s");
	if (f->min > 0 && n < f->min)
		return invalid(err, path, "must have at least %lld item%s",
		    f->min, f->min == 1 ? "" : "s");
	json_array_foreach((json_t *)v, i, item) {
		size_t saved = path_push(path, NULL, i);

		if (!check_value(f, f->item, true, item, path, err))
			return false;
		path_pop(path, saved);
	}
	return true;
}

/*
 * Checks V as TYPE under F's rules. Array items (IS_ITEM) skip F's min/max,
 * which count the items; an array nested in an array is checked for shape only.
 */
static bool
check_value(const struct jf_field *f, enum jf_type type, bool is_item,
    const json_t *v, struct path *path, struct jsonin_error *err)
{
	static const struct jf_schema empty = { NULL, 0 };

	switch (type) {
	case JF_STRING:
		return check_string(f, is_item, v, path, err);
	case JF_INT:
		return check_int(f, is_item, v, path, err);
	case JF_ID:
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return invalid(err, path, "must be a positive integer id");
		return true;
	case JF_BOOL:
		if (!json_is_boolean(v))
			return invalid(err, path, "must be true or false");
		return true;
	case JF_OBJECT:
		if (!json_is_object(v))
			return invalid(err, path, "must be an object");
		return validate_object(v, f->sub != NULL ? f->sub : &empty,
		    path, err);
	case JF_ARRAY:
		if (is_item && !json_is_array(v))
			return invalid(err, path, "must be an array");
		return is_item || check_array(f, v, path, err);
	}
	return invalid(err, path, "has an unsupported type");
}

static bool
check_field(const struct jf_field *f, const json_t *v, struct path *path,
    struct jsonin_error *err)
{
	if (v == NULL || (json_is_null(v) && f->nullable)) {
		if (f->required)
			return invalid(err, path, "is required");
		return true;
	}
	if (json_is_null(v))
		return invalid(err, path, "must not be null");
	return check_value(f, f->type, false, v, path, err);
}

static const struct jf_field *
find_field(const struct jf_schema *schema, const char *name)
{
	for (size_t i = 0; i < schema->nfields; i++)
		if (strcmp(schema->fields[i].name, name) == 0)
			return &schema->fields[i];
	return NULL;
}

/* Unknown keys first (in document order), then each declared field in order. */
static bool
validate_object(const json_t *obj, const struct jf_schema *schema,
    struct path *path, struct jsonin_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		if (find_field(schema, key) == NULL) {
			path_push(path, key, 0);
			return invalid(err, path, "unknown field");
		}
	}
	for (size_t i = 0; i < schema->nfields; i++) {
		const struct jf_field *f = &schema->fields[i];
		size_t saved = path_push(path, f->name, 0);

		if (!check_field(f, json_object_get(obj, f->name), path, err))
			return false;
		path_pop(path, saved);
	}
	return true;
}

bool
jsonin_validate(const json_t *obj, const struct jf_schema *schema,
    struct jsonin_error *err)
{
	struct path path = { "", 0 };

	memset(err, 0, sizeof(*err));
	if (!json_is_object(obj))
		return invalid(err, &path, "the body must be a JSON object");
	return validate_object(obj, schema, &path, err);
}

bool
jsonin_schema_requires(const struct jf_schema *schema)
{
	size_t i;

	for (i = 0; i < schema->nfields; i++)
		if (schema->fields[i].required)
			return true;
	return false;
}

/* ---- formats ---- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* True when S starts with SHAPE, where 'd' is any digit and the rest literal. */
static bool
shape_ok(const char *s, const char *shape)
{
	for (; *shape != '\0'; s++, shape++)
		if (*shape == 'd' ? !is_digit(*s) : *s != *shape)
			return false;
	return true;
}

/* The value of N digits already known to be digits. */
static int
digits_value(const char *s, int n)
{
	int v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Day of the week of Y-M-D in the Gregorian calendar, 0 = Sunday. */
static int
weekday(int y, int m, int d)
{
	static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };

	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* ISO 8601: 53 weeks when 1 January is a Thursday, or a Wednesday in a leap year. */
static int
iso_weeks_in_year(int y)
{
	int jan1 = weekday(y, 1, 1);

	return (jan1 == 4 || (jan1 == 3 && is_leap(y))) ? 53 : 52;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* A control character, space or DEL: never inside an address or a URI. */
static bool
is_space_or_control(char c)
{
	unsigned char u = (unsigned char)c;

	return u <= 0x20 || u == 0x7f;
}

static bool
fmt_email(const char *s)
{
	const char *at = strchr(s, '@'), *dom;
	size_t dlen;

	if (strlen(s) > EMAIL_MAX || at == NULL || at == s ||
	    strchr(at + 1, '@') != NULL)
		return false;
	dom = at + 1;
	dlen = strlen(dom);
	/* A dotless domain is valid (admin@localhost on a development stack). */
	if (dlen == 0 || dom[0] == '.' || dom[dlen - 1] == '.')
		return false;
	for (; *s != '\0'; s++)
		if (is_space_or_control(*s))
			return false;
	return true;
}

static bool
fmt_sha256(const char *s)
{
	size_t i;

	for (i = 0; is_hex(s[i]); i++)
		;
	return i == 64 && s[i] == '\0';
}

static bool
fmt_iso_week(const char *s)
{
	int year, week;

	if (!shape_ok(s, "dddd-Wdd") || s[8] != '\0')
		return false;
	year = digits_value(s, 4);
	week = digits_value(s + 6, 2);
	return year >= 1000 && week >= 1 && week <= iso_weeks_in_year(year);
}

/* RFC 3986 absolute URI, ASCII only: scheme ":" and at least one more char. */
static bool
fmt_uri(const char *s)
{
	size_t i = 1;

	if (strlen(s) > URI_MAX || !is_alpha(s[0]))
		return false;
	while (is_alnum(s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-')
		i++;
	if (s[i] != ':' || s[i + 1] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (is_space_or_control(*s) || (unsigned char)*s >= 0x80)
			return false;
	return true;
}

static bool
fmt_code(const char *s)
{
	size_t i;

	if (!is_alnum(s[0]))
		return false;
	for (i = 1; is_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-';
	    i++)
		;
	return s[i] == '\0' && i <= CODE_MAX;
}

/* 8-4-4-4-12 lower-case hex digits. */
static bool
fmt_uuid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' :
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return i == 36;
}

/* "YYYY-MM-DD" naming a real day of years 0001..9999. */
static bool
date_ok(const char *s)
{
	int y, m, d;

	if (!shape_ok(s, "dddd-dd-dd"))
		return false;
	y = digits_value(s, 4);
	m = digits_value(s + 5, 2);
	d = digits_value(s + 8, 2);
	return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* "HH:MM" (or "HH:MM:SS" when SECONDS) within a day; no leap second. */
static bool
clock_ok(const char *s, bool seconds)
{
	if (!shape_ok(s, seconds ? "dd:dd:dd" : "dd:dd"))
		return false;
	if (digits_value(s, 2) > 23 || digits_value(s + 3, 2) > 59)
		return false;
	return !seconds || digits_value(s + 6, 2) <= 59;
}

/* RFC 3339 date-time: date "T" time [fraction] ("Z" / offset). */
static bool
fmt_timestamp(const char *s)
{
	size_t n = 0;

	if (!date_ok(s) || (s[10] != 'T' && s[10] != 't') || !clock_ok(s + 11, true))
		return false;
	s += 19;
	if (*s == '.') {
		while (is_digit(*++s))
			n++;
		if (n == 0 || n > FRACTION_MAX)
			return false;
	}
	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0';
	/* Offsets beyond 15:59 are valid RFC 3339 but no time zone uses them,
	 * and PostgreSQL refuses them: refuse them here, naming the field. */
	return (*s == '+' || *s == '-') && clock_ok(s + 1, false) && s[6] == '\0' &&
	    (s[1] == '0' || (s[1] == '1' && s[2] <= '5'));
}

bool
jsonin_format_ok(enum jf_format fmt, const char *s)
{
	if (s == NULL)
		return false;
	switch (fmt) {
	case JF_FMT_NONE: return true;
	case JF_FMT_EMAIL: return fmt_email(s);
	case JF_FMT_SHA256: return fmt_sha256(s);
	case JF_FMT_ISO_WEEK: return fmt_iso_week(s);
	case JF_FMT_URI: return fmt_uri(s);
	case JF_FMT_CODE: return fmt_code(s);
	case JF_FMT_TIMESTAMP: return fmt_timestamp(s);
	case JF_FMT_UUID: return fmt_uuid(s);
	}
	return false;
}
