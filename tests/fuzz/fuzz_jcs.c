/*
 * fuzz_jcs.c - lib/jcs.c (RFC 8785) on arbitrary JSON texts, and
 * jcs_number on the input's first 8 bytes read as a double.
 * Invariants, each checked by code independent of jcs.c: the canonical text
 * has no NUL and no whitespace outside strings, escapes exactly the
 * characters RFC 8785 escapes (in its forms), sorts every object's keys by
 * UTF-16 code units, parses back (jansson) to a value equal to the input
 * (numbers compared as doubles) and canonicalises again to the same bytes.
 * A number reads back as itself (strtod), uses an exponent exactly when
 * ECMAScript does, has no more significant digits than the shortest
 * correctly rounded form (printf %.*e), and the same digits when as many.
 */
#include "fuzz.h"

#include <math.h>

#include <certflow/jcs.h>

#define LOAD_FLAGS	(JSON_DECODE_ANY | JSON_ALLOW_NUL)

/* ---- values ---- */

/* Equal JSON values, any two numbers compared as doubles. */
static bool
same_value(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *v;
	size_t i, klen;

	if (json_is_number(a) || json_is_number(b))
		return json_is_number(a) && json_is_number(b) &&
		    json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_keylen_foreach((json_t *)a, key, klen, v) {
			const json_t *w = json_object_getn(b, key, klen);

			if (w == NULL || !same_value(v, w))
				return false;
		}
		return true;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		json_array_foreach((json_t *)a, i, v)
			if (!same_value(v, json_array_get(b, i)))
				return false;
		return true;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b),
		    json_string_length(a)) == 0;
	default:
		return true;	/* true, false, null */
	}
}

/* The UTF-16 code units of valid UTF-8 S (LEN bytes) into OUT; their count. */
static size_t
utf16(const unsigned char *s, size_t len, uint16_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		uint32_t cp;

		if (s[i] < 0x80)
			cp = s[i++];
		else if (s[i] < 0xe0)
			cp = (uint32_t)(s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f), i += 2;
		else if (s[i] < 0xf0)
			cp = (uint32_t)(s[i] & 0x0f) << 12 |
			    (uint32_t)(s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f),
			    i += 3;
		else
			cp = (uint32_t)(s[i] & 0x07) << 18 |
			    (uint32_t)(s[i + 1] & 0x3f) << 12 |
			    (uint32_t)(s[i + 2] & 0x3f) << 6 | (s[i + 3] & 0x3f),
			    i += 4;
		if (cp >= 0x10000) {
			out[n++] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
			out[n++] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
		} else {
			out[n++] = (uint16_t)cp;
		}
	}
	return n;
}

/* <0, 0, >0 as A sorts before, with or after B in UTF-16 code unit order. */
static int
utf16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	uint16_t *ua = malloc((alen + 1) * 2), *ub = malloc((blen + 1) * 2);
	size_t na, nb, i;
	int r = 0;

	FUZZ_ASSERT(ua != NULL && ub != NULL);
	na = utf16((const unsigned char *)a, alen, ua);
	nb = utf16((const unsigned char *)b, blen, ub);
	for (i = 0; i < na && i < nb && ua[i] == ub[i]; i++)
		;
	if (i < na && i < nb)
		r = ua[i] < ub[i] ? -1 : 1;
	else
		r = (na > nb) - (na < nb);
	free(ua);
	free(ub);
	return r;
}

/* Every object of V (as parsed back, in text order) has strictly sorted keys. */
static void
check_sorted(const json_t *v)
{
	const char *key, *prev = NULL;
	size_t i, klen, prevlen = 0;
	json_t *child;

	if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, child)
			check_sorted(child);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_keylen_foreach((json_t *)v, key, klen, child) {
		if (prev != NULL)
			FUZZ_ASSERT(utf16_cmp(prev, prevlen, key, klen) < 0);
		prev = key;
		prevlen = klen;
		check_sorted(child);
	}
}

/* RFC 8785 3.2.2.2: the only escapes, and no whitespace between tokens. */
static void
check_text(const char *t, size_t len)
{
	bool in_string = false;

	FUZZ_ASSERT(strlen(t) == len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];

		if (!in_string) {
			FUZZ_ASSERT(c != ' ' && c != '\t' && c != '\n' && c != '\r');
			in_string = c == '"';
			continue;
		}
		FUZZ_ASSERT(c >= 0x20);
		if (c == '"') {
			in_string = false;
		} else if (c == '\\') {
			c = (unsigned char)t[++i];
			FUZZ_ASSERT(strchr("\"\\bfnrtu", c) != NULL && c != '\0');
			if (c == 'u') {
				unsigned code;

				FUZZ_ASSERT(i + 4 < len);
				FUZZ_ASSERT(strncmp(t + i + 1, "00", 2) == 0 &&
				    strchr("01", t[i + 3]) != NULL &&
				    strchr("0123456789abcdef", t[i + 4]) != NULL);
				code = (unsigned)strtoul((char[]){ t[i + 3], t[i + 4],
				    '\0' }, NULL, 16);
				FUZZ_ASSERT(code != '\b' && code != '\f' &&
				    code != '\n' && code != '\r' && code != '\t');
				i += 4;
			}
		}
	}
	FUZZ_ASSERT(!in_string);
}

static void
check_value(const uint8_t *data, size_t size)
{
	json_t *v, *back;
	char *canon, *again;
	size_t len, len2;

	if ((v = json_loadb((const char *)data, size, LOAD_FLAGS, NULL)) == NULL)
		return;
	if ((canon = jcs_canonical(v, &len)) == NULL) {
		json_decref(v);
		return;
	}
	check_text(canon, len);
	back = json_loadb(canon, len, LOAD_FLAGS | JSON_REJECT_DUPLICATES |
	    JSON_DECODE_INT_AS_REAL, NULL);
	FUZZ_ASSERT(back != NULL);
	FUZZ_ASSERT(same_value(v, back));
	check_sorted(back);
	again = jcs_canonical(back, &len2);
	FUZZ_ASSERT(again != NULL && len2 == len && memcmp(canon, again, len) == 0);
	free(again);
	json_decref(back);
	free(canon);
	json_decref(v);
}

/* ---- numbers ---- */

/* The significant digits of a jcs_number text, without leading or trailing zeros. */
static void
jcs_digits(const char *t, char *out)
{
	size_t n = 0;

	for (; *t != '\0' && *t != 'e'; t++)
		if (*t >= '0' && *t <= '9' && (n > 0 || *t != '0'))
			out[n++] = *t;
	while (n > 0 && out[n - 1] == '0')
		n--;
	out[n] = '\0';
}

/* The fewest digits (1..17) of correctly rounded %.*e that read back as V. */
static void
shortest_digits(double v, char *out)
{
	char text[64];
	size_t n = 0;

	for (int p = 0; p < 17; p++) {
		snprintf(text, sizeof(text), "%.*e", p, v);
		if (strtod(text, NULL) == v)
			break;
	}
	for (const char *t = text; *t != '\0' && *t != 'e'; t++)
		if (*t >= '0' && *t <= '9')
			out[n++] = *t;
	while (n > 1 && out[n - 1] == '0')
		n--;
	out[n] = '\0';
}

static void
check_number(double v)
{
	char out[JCS_NUMBER_MAX + 8], mine[32], ref[32];
	double a = fabs(v);
	int e;

	memset(out, 0x5a, sizeof(out));
	if (!jcs_number(v, out)) {
		FUZZ_ASSERT(!isfinite(v) && out[0] == '\0');
		return;
	}
	FUZZ_ASSERT(isfinite(v) && strlen(out) < JCS_NUMBER_MAX);
	for (size_t i = JCS_NUMBER_MAX; i < sizeof(out); i++)
		FUZZ_ASSERT(out[i] == 0x5a);
	FUZZ_ASSERT(strtod(out, NULL) == v);
	if (v == 0) {
		FUZZ_ASSERT(strcmp(out, "0") == 0);
		return;
	}
	FUZZ_ASSERT((strchr(out, 'e') != NULL) == (a >= 1e21 || a < 1e-6));
	jcs_digits(out, mine);
	shortest_digits(a, ref);
	/* Fewer digits than the nearest form only where a power of two
	 * makes the interval of values that read back lopsided. */
	FUZZ_ASSERT(strlen(mine) <= strlen(ref));
	if (strlen(mine) < strlen(ref))
		FUZZ_ASSERT(frexp(a, &e) == 0.5);
	else
		FUZZ_ASSERT(strcmp(mine, ref) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double d;

	if (size >= sizeof(d)) {
		memcpy(&d, data, sizeof(d));
		check_number(d);
	}
	check_value(data, size);
	return 0;
}
