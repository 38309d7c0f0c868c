/*
 * jcs.c - RFC 8785 canonical JSON: the bytes a Data Integrity proof signs.
 * Output must match every other conforming implementation byte for byte, so
 * nothing here may depend on the locale, on jansson's key order or on its
 * number formatting. Pure: no I/O, no logging; the only allocation is the
 * returned text and a scratch array per object.
 */
#include "certflow/jcs.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAFE_INTEGER	(((json_int_t)1) << 53)
#define DIGITS_MAX		17	/* always enough to round-trip a double */

/* ---- output buffer ---- */

/* Growing text; cap always leaves room for the final NUL. */
struct buf {
	char *p;
	size_t len, cap;
};

static bool
buf_add(struct buf *b, const void *s, size_t n)
{
	size_t cap;
	char *p;

	if (n >= b->cap - b->len) {
		cap = b->cap != 0 ? b->cap : 256;
		while (n >= cap - b->len) {
			if (cap > SIZE_MAX / 2)
				return false;
			cap *= 2;
		}
		if ((p = realloc(b->p, cap)) == NULL)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return true;
}

static bool
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

/* ---- UTF-8 and UTF-16 ---- */

/*
 * Decodes the code point at S[*I] (LEN bytes in all) into *CP and advances
 * *I; false on a malformed, overlong, surrogate or truncated sequence.
 */
static bool
utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	unsigned char c = s[*i];
	uint32_t v, min;
	size_t n, k;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return true;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3, v = c & 0x07, min = 0x10000;
	} else
		return false;
	if (len - *i <= n)
		return false;
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return false;
		v = v << 6 | (s[*i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return false;
	*cp = v;
	*i += n + 1;
	return true;
}

static bool
utf8_valid(const char *s, size_t len)
{
	size_t i = 0;
	uint32_t cp;

	while (i < len)
		if (!utf8_next((const unsigned char *)s, len, &i, &cp))
			return false;
	return true;
}

/* Walks valid UTF-8 as the UTF-16 code units ECMAScript strings are made of. */
struct u16_iter {
	const unsigned char *s;
	size_t len, i;
	uint16_t low;		/* pending low surrogate, 0 if none */
};

/* The next code unit in *U; false at the end. */
static bool
u16_next(struct u16_iter *it, uint16_t *u)
{
	uint32_t cp;

	if (it->low != 0) {
		*u = it->low;
		it->low = 0;
		return true;
	}
	if (it->i >= it->len || !utf8_next(it->s, it->len, &it->i, &cp))
		return false;
	if (cp < 0x10000) {
		*u = (uint16_t)cp;
		return true;
	}
	cp -= 0x10000;
	*u = (uint16_t)(0xd800 + (cp >> 10));
	it->low = (uint16_t)(0xdc00 + (cp & 0x3ff));
	return true;
}

/* ---- numbers ---- */

/* True when 0.DIGITS x 10^N (K digits) reads back as exactly V. */
static bool
reads_back(const char *digits, int k, int n, double v)
{
	char text[DIGITS_MAX + 16];

	/* No decimal point, so strtod's locale cannot matter. */
	snprintf(text, sizeof(text), "%.*se%d", k, digits, n - k);
	return strtod(text, NULL) == v;
}

/*
 * Rounds V (finite, > 0) to the nearest P + 1 significant digits: DIGITS
 * gets them (K = P + 1) and *N the decimal point position, V ~ 0.DIGITS x 10^N.
 */
static void
round_to(double v, int p, char digits[DIGITS_MAX], int *k, int *n)
{
	char text[DIGITS_MAX + 16];
	const char *t;
	int nd = 0;

	snprintf(text, sizeof(text), "%.*e", p, v);
	/* "d.ddde+XX"; the point is whatever the locale says, so skip non-digits. */
	for (t = text; *t != '\0' && *t != 'e'; t++)
		if (*t >= '0' && *t <= '9' && nd < DIGITS_MAX)
			digits[nd++] = *t;
	*k = nd;
	*n = (*t == 'e' ? atoi(t + 1) : 0) + 1;
}

/* Adds one unit in the last of the K digits; 99..9 carries into *N. */
static void
bump(char digits[DIGITS_MAX], int k, int *n)
{
	int i;

	for (i = k - 1; i >= 0 && digits[i] == '9'; i--)
		digits[i] = '0';
	if (i >= 0) {
		digits[i]++;
		return;
	}
	/* 99..9 became 100..0: one more digit before the point. */
	digits[0] = '1';
	(*n)++;
}

/*
 * The fewest significant digits that read back as V (finite, > 0), and of
 * those the closest to V (ECMA-262 Number::toString steps 5-6): DIGITS, K
 * of them without trailing zeros, and the decimal point position *N.
 */
static void
shortest(double v, char digits[DIGITS_MAX], int *k, int *n)
{
	for (int p = 0; p < DIGITS_MAX; p++) {
		round_to(v, p, digits, k, n);
		if (p == DIGITS_MAX - 1 || reads_back(digits, *k, *n, v))
			break;
		/*
		 * At a power of two the interval of decimals that read back as V
		 * reaches twice as far above V as below it: the nearest candidate
		 * may fall short below while the next one up still reads back.
		 */
		bump(digits, *k, n);
		if (reads_back(digits, *k, *n, v))
			break;
	}
	while (*k > 1 && digits[*k - 1] == '0')
		(*k)--;
}

bool
jcs_number(double v, char out[JCS_NUMBER_MAX])
{
	char digits[DIGITS_MAX];
	char *o = out;
	int k, n, e;

	out[0] = '\0';
	if (!isfinite(v))
		return false;
	if (v == 0) {		/* both zeros */
		memcpy(out, "0", 2);
		return true;
	}
	if (v < 0) {
		*o++ = '-';
		v = -v;
	}
	shortest(v, digits, &k, &n);
	/* ECMA-262 7.1.12.1 Number::toString steps 7-12. */
	if (k <= n && n <= 21) {
		memcpy(o, digits, (size_t)k);
		memset(o + k, '0', (size_t)(n - k));
		o += n;
	} else if (0 < n && n <= 21) {
		memcpy(o, digits, (size_t)n);
		o[n] = '.';
		memcpy(o + n + 1, digits + n, (size_t)(k - n));
		o += k + 1;
	} else if (-6 < n && n <= 0) {
		memcpy(o, "0.", 2);
		memset(o + 2, '0', (size_t)-n);
		memcpy(o + 2 - n, digits, (size_t)k);
		o += 2 - n + k;
	} else {
		*o++ = digits[0];
		if (k > 1) {
			*o++ = '.';
			memcpy(o, digits + 1, (size_t)(k - 1));
			o += k - 1;
		}
		e = n - 1;
		o += snprintf(o, (size_t)(JCS_NUMBER_MAX - (o - out)), "e%c%d",
		    e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	*o = '\0';
	return true;
}

/* ---- values ---- */

/* DEPTH counts the arrays and objects around V: it bounds the recursion. */
static bool emit_value(struct buf *b, const json_t *v, int depth);

/* A JSON string as ECMAScript JSON.stringify writes it; false on bad UTF-8. */
static bool
emit_string(struct buf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, at;
	char esc[8];
	uint32_t cp;

	if (!buf_addc(b, '"'))
		return false;
	while (i < len) {
		at = i;
		if (!utf8_next(u, len, &i, &cp))
			return false;
		switch (cp) {
		case '"':  memcpy(esc, "\\\"", 3); break;
		case '\\': memcpy(esc, "\\\\", 3); break;
		case '\b': memcpy(esc, "\\b", 3); break;
		case '\f': memcpy(esc, "\\f", 3); break;
		case '\n': memcpy(esc, "\\n", 3); break;
		case '\r': memcpy(esc, "\\r", 3); break;
		case '\t': memcpy(esc, "\\t", 3); break;
		default:
			if (cp >= 0x20)
				continue;	/* stays in the raw run */
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			break;
		}
		if (!buf_add(b, s + run, at - run) || !buf_add(b, esc, strlen(esc)))
			return false;
		run = i;
	}
	return buf_add(b, s + run, len - run) && buf_addc(b, '"');
}

struct member {
	const char *key;
	size_t keylen;
	const json_t *value;
};

/* RFC 8785 3.2.3: keys compare as arrays of UTF-16 code units. */
static int
member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;
	struct u16_iter x = { (const unsigned char *)a->key, a->keylen, 0, 0 };
	struct u16_iter y = { (const unsigned char *)b->key, b->keylen, 0, 0 };
	uint16_t ux, uy;
	bool hx, hy;

	for (;;) {
		hx = u16_next(&x, &ux);
		hy = u16_next(&y, &uy);
		if (!hx || !hy)
			return (int)hx - (int)hy;	/* a prefix sorts first */
		if (ux != uy)
			return ux < uy ? -1 : 1;
	}
}

static bool
emit_object(struct buf *b, const json_t *obj, int depth)
{
	/* jansson's iteration API is not const-qualified but does not write. */
	json_t *o = (json_t *)obj;
	size_t n = json_object_size(obj), i = 0, j;
	struct member *m = NULL;
	bool ok = false;
	void *it;

	if (n == 0)
		return buf_add(b, "{}", 2);
	if ((m = calloc(n, sizeof(*m))) == NULL)
		goto fail;
	for (it = json_object_iter(o); it != NULL && i < n;
	    it = json_object_iter_next(o, it), i++) {
		m[i].key = json_object_iter_key(it);
		m[i].keylen = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
		/* The comparator cannot fail, so check the keys first. */
		if (!utf8_valid(m[i].key, m[i].keylen))
			goto fail;
	}
	qsort(m, i, sizeof(*m), member_cmp);
	if (!buf_addc(b, '{'))
		goto fail;
	for (j = 0; j < i; j++) {
		if ((j > 0 && !buf_addc(b, ',')) ||
		    !emit_string(b, m[j].key, m[j].keylen) ||
		    !buf_addc(b, ':') || !emit_value(b, m[j].value, depth + 1))
			goto fail;
	}
	ok = buf_addc(b, '}');
fail:
	free(m);
	return ok;
}

static bool
emit_value(struct buf *b, const json_t *v, int depth)
{
	char num[JCS_NUMBER_MAX];
	json_int_t iv;
	size_t i;

	if (v == NULL)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return depth < JCS_MAX_DEPTH && emit_object(b, v, depth);
	case JSON_ARRAY:
		if (depth >= JCS_MAX_DEPTH || !buf_addc(b, '['))
			return false;
		for (i = 0; i < json_array_size(v); i++)
			if ((i > 0 && !buf_addc(b, ',')) ||
			    !emit_value(b, json_array_get(v, i), depth + 1))
				return false;
		return buf_addc(b, ']');
	case JSON_STRING:
		return emit_string(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		/* Beyond 2^53 an ECMAScript reader would get another number. */
		iv = json_integer_value(v);
		if (iv > MAX_SAFE_INTEGER || iv < -MAX_SAFE_INTEGER)
			return false;
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, iv);
		return buf_add(b, num, strlen(num));
	case JSON_REAL:
		return jcs_number(json_real_value(v), num) &&
		    buf_add(b, num, strlen(num));
	case JSON_TRUE:
		return buf_add(b, "true", 4);
	case JSON_FALSE:
		return buf_add(b, "false", 5);
	case JSON_NULL:
		return buf_add(b, "null", 4);
	}
	return false;
}

char *
jcs_canonical(const json_t *value, size_t *len)
{
	struct buf b = { NULL, 0, 0 };

	if (!emit_value(&b, value, 0) || !buf_add(&b, "", 1)) {
		free(b.p);
		return NULL;
	}
	if (len != NULL)
		*len = b.len - 1;
	return b.p;
}
