/*
 * jsonin.h - strict reading of request bodies.
 * jsonin_parse accepts exactly one JSON object (duplicate keys rejected);
 * jsonin_validate checks it against a declarative schema: unknown fields,
 * missing required ones, types, lengths, ranges and formats, naming the
 * offending field by its path ("projects[1].skills[0].code").
 */
#ifndef CERTFLOW_JSONIN_H
#define CERTFLOW_JSONIN_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct jsonin_error {
	int status;		/* 400 (syntax) or 422 (schema) */
	char field[160];	/* path of the offending field; "" for syntax errors */
	char detail[256];
	int line, column;	/* syntax errors only */
};

enum jf_type {
	JF_STRING,	/* min/max: length in code points */
	JF_INT,		/* min/max: value */
	JF_ID,		/* positive int64 identifier; min/max ignored */
	JF_BOOL,
	JF_OBJECT,	/* sub: its schema */
	JF_ARRAY,	/* min/max: item count; item: the items' type; sub: items' schema when objects */
};

enum jf_format {
	JF_FMT_NONE = 0,
	JF_FMT_EMAIL,		/* local@domain, no spaces, one @ */
	JF_FMT_SHA256,		/* 64 lower- or upper-case hex digits */
	JF_FMT_ISO_WEEK,	/* "YYYY-Www" naming a week that exists in that ISO year */
	JF_FMT_URI,		/* scheme ":" rest, no spaces or control characters */
	JF_FMT_CODE,		/* [A-Za-z0-9][A-Za-z0-9_.-]*  */
	JF_FMT_TIMESTAMP,	/* RFC 3339 date-time */
	JF_FMT_UUID,		/* 8-4-4-4-12 lower-case hex digits */
};

struct jf_schema;

struct jf_field {
	const char *name;
	enum jf_type type;
	bool required;
	long long min, max;		/* 0, 0 = unbounded */
	enum jf_format format;		/* strings, and string items of arrays */
	const char *const *choices;	/* NULL-terminated allowed strings, or NULL */
	enum jf_type item;		/* JF_ARRAY only */
	const struct jf_schema *sub;	/* JF_OBJECT, or JF_ARRAY of JF_OBJECT */
	bool nullable;			/* JSON null accepted (as absent) */
};

struct jf_schema {
	const struct jf_field *fields;
	size_t nfields;
};

#define JF_SCHEMA(arr) { (arr), sizeof(arr) / sizeof((arr)[0]) }

/* Parses BUF; returns a new reference to an object, or NULL with ERR set (400). */
json_t *jsonin_parse(const char *buf, size_t len, struct jsonin_error *err);

/* True when OBJ satisfies SCHEMA; otherwise ERR (422) names the first offending field. */
bool jsonin_validate(const json_t *obj, const struct jf_schema *schema,
    struct jsonin_error *err);

/* True when SCHEMA has at least one required field: a body is then needed. */
bool jsonin_schema_requires(const struct jf_schema *schema);

/* Format checks, exposed for reuse and unit tests. */
bool jsonin_format_ok(enum jf_format fmt, const char *s);

#endif
