/*
 * test_jcs.c - unit tests for lib/jcs.c against RFC 8785's own examples: the
 * sample document of section 3.2.2, the key sorting example of 3.2.3 (an
 * emoji's surrogate pair sorts before U+FB33), the number table of Appendix
 * B; then string escaping, nesting, the +-2^53 integer bound and refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certflow/jcs.h"

/* Canonicalizes V (then releases it) and compares with EXPECT, byte for byte. */
static void
check_canonical(json_t *v, const char *expect, size_t expect_len)
{
	size_t len = (size_t)-1;
	char *out;

	assert_non_null(v);
	out = jcs_canonical(v, &len);
	json_decref(v);
	assert_non_null(out);
	assert_int_equal(len, expect_len);
	assert_memory_equal(out, expect, expect_len);
	assert_int_equal(out[len], '\0');
	free(out);
}

#define CHECK(v, lit)	check_canonical((v), (lit), sizeof(lit) - 1)

static json_t *
parse(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

	if (v == NULL)
		fail_msg("json_loads: %s (line %d)", err.text, err.line);
	return v;
}

/* Refusal: NULL, *len untouched, and (under ASan) nothing leaked. */
static void
check_refused(json_t *v)
{
	size_t len = 12345;

	assert_non_null(v);
	assert_null(jcs_canonical(v, &len));
	assert_int_equal(len, 12345);
	json_decref(v);
}

static double
from_bits(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* RFC 8785 3.2.2 input and 3.2.3 output (bytes as listed in 3.2.4). */
static void
test_rfc_sample(void **state)
{
	CHECK(parse(
	    "{\n"
	    "  \"numbers\": [333333333.33333329, 1E30, 4.50,\n"
	    "                2e-3, 0.000000000000000000000000001],\n"
	    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n"
	    "}"),
	    "{\"literals\":[null,true,false],"
	    "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
	    "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* RFC 8785 3.2.3: keys sort as UTF-16 code units, not as UTF-8 bytes. */
static void
test_rfc_sorting_example(void **state)
{
	CHECK(parse(
	    "{\n"
	    "  \"\\u20ac\": \"Euro Sign\",\n"
	    "  \"\\r\": \"Carriage Return\",\n"
	    "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
	    "  \"1\": \"One\",\n"
	    "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
	    "  \"\\u0080\": \"Control\",\n"
	    "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"\n"
	    "}"),
	    "{\"\\r\":\"Carriage Return\","
	    "\"1\":\"One\","
	    "\"\xc2\x80\":\"Control\","
	    "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
	    "\"\xe2\x82\xac\":\"Euro Sign\","
	    "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
	    "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

/* A key that is a prefix of another sorts first; ASCII order otherwise. */
static void
test_key_prefix_and_ascii_order(void **state)
{
	CHECK(parse("{\"ab\":1,\"a\":2,\"B\":3,\"\":4,\"a\\u0001\":5,\"b\":6}"),
	    "{\"\":4,\"B\":3,\"a\":2,\"a\\u0001\":5,\"ab\":1,\"b\":6}");
}

/* RFC 8785 Appendix B: IEEE-754 bit patterns and their canonical text. */
static void
test_rfc_number_table(void **state)
{
	static const struct {
		uint64_t bits;
		const char *text;
	} t[] = {
		{ 0x0000000000000000ULL, "0" },
		{ 0x8000000000000000ULL, "0" },
		{ 0x0000000000000001ULL, "5e-324" },
		{ 0x8000000000000001ULL, "-5e-324" },
		{ 0x7fefffffffffffffULL, "1.7976931348623157e+308" },
		{ 0xffefffffffffffffULL, "-1.7976931348623157e+308" },
		{ 0x4340000000000000ULL, "9007199254740992" },
		{ 0xc340000000000000ULL, "-9007199254740992" },
		{ 0x4430000000000000ULL, "295147905179352830000" },
		{ 0x44b52d02c7e14af5ULL, "9.999999999999997e+22" },
		{ 0x44b52d02c7e14af6ULL, "1e+23" },
		{ 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23" },
		{ 0x444b1ae4d6e2ef4eULL, "999999999999999700000" },
		{ 0x444b1ae4d6e2ef4fULL, "999999999999999900000" },
		{ 0x444b1ae4d6e2ef50ULL, "1e+21" },
		{ 0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7" },
		{ 0x3eb0c6f7a0b5ed8dULL, "0.000001" },
		{ 0x41b3de4355555553ULL, "333333333.3333332" },
		{ 0x41b3de4355555554ULL, "333333333.33333325" },
		{ 0x41b3de4355555555ULL, "333333333.3333333" },
		{ 0x41b3de4355555556ULL, "333333333.3333334" },
		{ 0x41b3de4355555557ULL, "333333333.33333343" },
		{ 0xbecbf647612f3696ULL, "-0.0000033333333333333333" },
		{ 0x43143ff3c1cb0959ULL, "1424953923781206.2" },
	};
	char out[JCS_NUMBER_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(out, 'x', sizeof(out));
		assert_true(jcs_number(from_bits(t[i].bits), out));
		assert_string_equal(out, t[i].text);
	}
}

/* ECMA-262 7.1.12.1's four layouts, at and around each boundary. */
static void
test_number_layouts(void **state)
{
	static const struct {
		double v;
		const char *text;
	} t[] = {
		{ 1, "1" }, { -1, "-1" }, { 4.5, "4.5" }, { 100, "100" },
		{ 0.5, "0.5" }, { -0.25, "-0.25" }, { 123.456, "123.456" },
		{ 1e20, "100000000000000000000" }, { 1e21, "1e+21" },
		{ 1.5e21, "1.5e+21" }, { 123456789012345680000.0, "123456789012345680000" },
		{ 1e-6, "0.000001" }, { 1.5e-6, "0.0000015" }, { 1e-7, "1e-7" },
		{ 1.25e-7, "1.25e-7" }, { 0.1, "0.1" }, { 0.3, "0.3" },
		{ 0.1 + 0.2, "0.30000000000000004" }, { 2e-3, "0.002" },
		{ 1e30, "1e+30" }, { 1e-27, "1e-27" }, { 1e308, "1e+308" },
		{ 2.2250738585072014e-308, "2.2250738585072014e-308" },
		{ 0x1p-1074, "5e-324" }, { 0x1p-1022, "2.2250738585072014e-308" },
		{ 0x1p-44, "5.684341886080802e-14" }, { 0x1p60, "1152921504606847000" },
		{ 0x1p70, "1.1805916207174113e+21" },
		/*
		 * Powers of two whose nearest 16-digit decimal falls just outside
		 * the narrower lower half of their interval: the shortest form is
		 * the next decimal up (values from node's String(x)).
		 */
		{ 0x1p89, "6.189700196426902e+26" },
		{ -0x1p89, "-6.189700196426902e+26" },
		{ 0x1p-1017, "7.120236347223045e-307" },
		{ 0x1p-1007, "7.291122019556398e-304" },
	};
	char out[JCS_NUMBER_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_true(jcs_number(t[i].v, out));
		assert_string_equal(out, t[i].text);
	}
}

/* Every output reads back as its double and fits JCS_NUMBER_MAX. */
static void
test_numbers_round_trip(void **state)
{
	char out[JCS_NUMBER_MAX];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	double d;

	for (int i = 0; i < 20000; i++) {
		/* xorshift64: random bit patterns cover every exponent. */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		d = from_bits(x);
		if (!isfinite(d))
			continue;
		assert_true(jcs_number(d, out));
		assert_true(strlen(out) < JCS_NUMBER_MAX);
		assert_true(strtod(out, NULL) == d);
	}
}

static void
test_non_finite_refused(void **state)
{
	char out[JCS_NUMBER_MAX];

	assert_false(jcs_number(from_bits(0x7ff0000000000000ULL), out));
	assert_string_equal(out, "");
	assert_false(jcs_number(from_bits(0xfff0000000000000ULL), out));
	assert_false(jcs_number(from_bits(0x7fffffffffffffffULL), out));
	assert_false(jcs_number(NAN, out));
	/* jansson itself refuses to hold them, so documents never carry one. */
	assert_null(json_real(INFINITY));
	assert_null(json_real(NAN));
}

/* Reals inside documents: -0, integral values, exponents. */
static void
test_reals_in_documents(void **state)
{
	CHECK(json_pack("[f,f,f,f,f]", -0.0, 4.0, 1e21, -1.5e-7, 0.1),
	    "[0,4,1e+21,-1.5e-7,0.1]");
}

static void
test_integers_within_2_pow_53(void **state)
{
	const json_int_t p53 = (json_int_t)1 << 53;

	CHECK(json_pack("[I,I,I,I,I]", (json_int_t)0, (json_int_t)-1,
	    (json_int_t)42, p53, -p53),
	    "[0,-1,42,9007199254740992,-9007199254740992]");
	CHECK(parse("[9007199254740992, -9007199254740992, 1.0E2]"),
	    "[9007199254740992,-9007199254740992,100]");
}

static void
test_integers_beyond_2_pow_53_refused(void **state)
{
	const json_int_t p53 = (json_int_t)1 << 53;

	check_refused(json_integer(p53 + 1));
	check_refused(json_integer(-p53 - 1));
	check_refused(json_integer(INT64_MAX));
	check_refused(json_integer(INT64_MIN));
	check_refused(parse("9007199254740993"));
	/* Deep inside a document too, after output has been produced. */
	check_refused(json_pack("{s:[i,s,{s:I}]}", "a", 1, "x", "b", p53 + 1));
}

static void
test_nesting_and_empty_containers(void **state)
{
	CHECK(parse("{}"), "{}");
	CHECK(parse("[]"), "[]");
	CHECK(parse("\"\""), "\"\"");
	CHECK(parse("null"), "null");
	CHECK(parse(" [ {}, [], [[]], {\"a\": {}} ] "), "[{},[],[[]],{\"a\":{}}]");
	CHECK(parse(
	    "{\"z\": [3, {\"y\": true, \"x\": [false, null]}],"
	    " \"a\": {\"c\": \"C\", \"b\": {\"e\": 2, \"d\": 1}}}"),
	    "{\"a\":{\"b\":{\"d\":1,\"e\":2},\"c\":\"C\"},"
	    "\"z\":[3,{\"x\":[false,null],\"y\":true}]}");
}

/* Only control characters, '"' and '\\' are escaped: the rest stays raw. */
static void
test_strings_raw_unicode(void **state)
{
	/* é, CJK, emoji, U+2028/U+2029 (JSON.stringify leaves them), DEL, '/'. */
	CHECK(parse("\"h\\u00e9llo \\u4e16\\u754c \\ud83d\\ude00"
	    " \\u2028\\u2029\\u007f /<>&'\""),
	    "\"h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80"
	    " \xe2\x80\xa8\xe2\x80\xa9\x7f /<>&'\"");
}

static void
test_control_characters_escaped(void **state)
{
	char s[34];

	for (int i = 0; i < 32; i++)
		s[i] = (char)i;
	s[32] = '"';
	s[33] = '\\';
	/* json_stringn with the length: U+0000 is part of the string. */
	CHECK(json_stringn(s, sizeof(s)),
	    "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
	    "\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
	    "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017"
	    "\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
	    "\\\"\\\\\"");
}

/* Keys are escaped as strings are, U+0000 included. */
static void
test_keys_escaped(void **state)
{
	json_t *o = json_object();

	assert_int_equal(json_object_setn_new(o, "k\0\n\"", 4, json_true()), 0);
	CHECK(o, "{\"k\\u0000\\n\\\"\":true}");
}

/* Bytes that are not UTF-8 can enter only through the _nocheck setters. */
static void
test_invalid_utf8_refused(void **state)
{
	json_t *o;

	check_refused(json_stringn_nocheck("a\xff", 2));
	check_refused(json_stringn_nocheck("\xc0\xaf", 2));		/* overlong '/' */
	check_refused(json_stringn_nocheck("\xed\xa0\x80", 3));	/* U+D800 */
	check_refused(json_stringn_nocheck("\xe2\x82", 2));		/* cut short */
	check_refused(json_stringn_nocheck("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	o = json_object();
	assert_int_equal(json_object_set_new_nocheck(o, "\xfe", json_null()), 0);
	assert_int_equal(json_object_set_new(o, "b", json_null()), 0);
	check_refused(o);
}

static json_t *
nested_arrays(int depth)
{
	json_t *v = json_array(), *outer;

	for (int i = 1; i < depth; i++) {
		outer = json_array();
		assert_int_equal(json_array_append_new(outer, v), 0);
		v = outer;
	}
	return v;
}

static void
test_depth_limit(void **state)
{
	json_t *v = nested_arrays(JCS_MAX_DEPTH);
	size_t len = 0;
	char *out;

	out = jcs_canonical(v, &len);
	json_decref(v);
	assert_non_null(out);
	assert_int_equal(len, 2 * JCS_MAX_DEPTH);
	free(out);
	check_refused(nested_arrays(JCS_MAX_DEPTH + 1));
}

/* LEN is optional; a large document grows the buffer many times. */
static void
test_len_optional_and_large_output(void **state)
{
	static const char head[] =
	    "[{\"a\":0,\"k4999\":0},{\"a\":1,\"k4998\":0.125},{";
	json_t *a = json_array();
	char key[16], *out;
	size_t len = 0;

	for (int i = 0; i < 5000; i++) {
		json_t *o = json_object();

		snprintf(key, sizeof(key), "k%04d", 4999 - i);
		assert_int_equal(json_object_set_new(o, key, json_real(i / 8.0)), 0);
		assert_int_equal(json_object_set_new(o, "a", json_integer(i)), 0);
		assert_int_equal(json_array_append_new(a, o), 0);
	}
	out = jcs_canonical(a, NULL);
	assert_non_null(out);
	assert_memory_equal(out, head, sizeof(head) - 1);
	free(out);
	out = jcs_canonical(a, &len);
	assert_non_null(out);
	assert_int_equal(len, strlen(out));
	free(out);
	json_decref(a);
	assert_null(jcs_canonical(NULL, &len));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_sample),
		cmocka_unit_test(test_rfc_sorting_example),
		cmocka_unit_test(test_key_prefix_and_ascii_order),
		cmocka_unit_test(test_rfc_number_table),
		cmocka_unit_test(test_number_layouts),
		cmocka_unit_test(test_numbers_round_trip),
		cmocka_unit_test(test_non_finite_refused),
		cmocka_unit_test(test_reals_in_documents),
		cmocka_unit_test(test_integers_within_2_pow_53),
		cmocka_unit_test(test_integers_beyond_2_pow_53_refused),
		cmocka_unit_test(test_nesting_and_empty_containers),
		cmocka_unit_test(test_strings_raw_unicode),
		cmocka_unit_test(test_control_characters_escaped),
		cmocka_unit_test(test_keys_escaped),
		cmocka_unit_test(test_invalid_utf8_refused),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_len_optional_and_large_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
