/*
 * jsonpeek.c - reads one integer member of a JSON object's top level
 * straight from the text. The daemon's answers come from PostgreSQL as JSON
 * text and go out as they are; a header such as ETag needs one number of
 * them, and parsing a large document into a tree for it would cost an
 * allocation per value. One pass, no allocation, never past LEN.
 */
#include <string.h>

#include <certflow/jsonpeek.h>

struct scan {
	const char *p;
	const char *end;
};

static void
skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
	    *s->p == '\r'))
		s->p++;
}

/* At an opening quote: moves past the closing one; false when unterminated. */
static bool
skip_string(struct scan *s, bool *escaped)
{
	*escaped = false;
	for (s->p++; s->p < s->end; s->p++) {
		if (*s->p == '\\') {
			*escaped = true;
			if (++s->p == s->end)
				return false;
		} else if (*s->p == '"') {
			s->p++;
			return true;
		}
	}
	return false;
}

/*
 * At the start of a member's value: moves to the "," or "}" after it at the
 * object's level (strings and nested containers skipped whole); false at
 * the end of the text.
 */
static bool
skip_value(struct scan *s)
{
	int depth = 0;
	bool escaped;

	while (s->p < s->end) {
		char c = *s->p;

		if (c == '"') {
			if (!skip_string(s, &escaped))
				return false;
			continue;
		}
		if (depth == 0 && (c == ',' || c == '}' || c == ']'))
			return true;
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		s->p++;
	}
	return false;
}

/* An integer filling the value exactly: digits, an optional minus, in range. */
static bool
read_int(struct scan *s, int64_t *out)
{
	bool neg = false;
	uint64_t v = 0, limit = (uint64_t)INT64_MAX;
	const char *start;

	if (s->p < s->end && *s->p == '-') {
		neg = true;
		limit++;
		s->p++;
	}
	start = s->p;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		unsigned d = (unsigned)(*s->p - '0');

		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
		s->p++;
	}
	if (s->p == start || (*start == '0' && s->p - start > 1))
		return false;
	skip_space(s);
	if (s->p == s->end || (*s->p != ',' && *s->p != '}'))
		return false;
	*out = neg ? (v == limit ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return true;
}

bool
json_peek_int(const char *text, size_t len, const char *key, int64_t *out)
{
	struct scan s = { text, text + len };
	size_t klen = strlen(key);

	skip_space(&s);
	if (s.p == s.end || *s.p++ != '{')
		return false;
	for (;;) {
		const char *name;
		bool escaped, match;

		skip_space(&s);
		if (s.p == s.end || *s.p != '"')
			return false;	/* the "}" of an empty object, or not JSON */
		name = s.p + 1;
		if (!skip_string(&s, &escaped))
			return false;
		/* the name is NAME up to the closing quote, just before s.p */
		match = !escaped && (size_t)(s.p - 1 - name) == klen &&
		    memcmp(name, key, klen) == 0;
		skip_space(&s);
		if (s.p == s.end || *s.p++ != ':')
			return false;
		skip_space(&s);
		if (match)
			return read_int(&s, out);
		if (!skip_value(&s) || *s.p++ != ',')
			return false;	/* the end of the object: no such member */
	}
}
