/*
 * test_token.c - unit tests for lib/token.c: generated tokens have the exact
 * shape and differ, the shape check rejects near misses (including a
 * non-canonical last character), the digest matches sha256sum, and the
 * Authorization header parser accepts only "Bearer <token68>".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certflow/token.h"

/* cf_ + base64url(00 01 02 .. 1f); digest from `printf %s TOKEN | sha256sum`. */
#define KNOWN_TOKEN "cf_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define KNOWN_DIGEST \
	"2572edd10308d09d56cfa8a1d555af02987241fa3ae113449de332b91bbafd5f"

static bool
well_formed(const char *s)
{
	return token_well_formed(s, strlen(s));
}

static void
test_generate_is_well_formed_and_fresh(void **state)
{
	char a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1];

	memset(a, 'x', sizeof(a));
	assert_true(token_generate(a));
	assert_true(token_generate(b));
	assert_int_equal(strlen(a), TOKEN_TEXT_LEN);
	assert_int_equal(strlen(a), 46);
	assert_memory_equal(a, "cf_", 3);
	assert_true(well_formed(a));
	assert_true(well_formed(b));
	assert_string_not_equal(a, b);
}

static void
test_many_generated_tokens_are_canonical(void **state)
{
	char t[TOKEN_TEXT_LEN + 1];
	unsigned seen_last = 0;

	for (int i = 0; i < 2000; i++) {
		assert_true(token_generate(t));
		assert_true(well_formed(t));
		seen_last |= 1u << ((unsigned char)t[45] % 32);
	}
	/* Only 16 last characters are canonical; several of them show up. */
	assert_true(__builtin_popcount(seen_last) > 4);
}

static void
test_well_formed_known_token(void **state)
{
	assert_true(well_formed(KNOWN_TOKEN));
	assert_true(well_formed("cf_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_w"));
	assert_true(well_formed("cf_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}

static void
test_well_formed_rejects_near_misses(void **state)
{
	char t[] = KNOWN_TOKEN;

	assert_false(well_formed(""));
	assert_false(well_formed("cf_"));
	assert_false(token_well_formed(KNOWN_TOKEN, TOKEN_TEXT_LEN - 1));
	assert_false(well_formed(KNOWN_TOKEN "A"));
	assert_false(well_formed("CF_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
	assert_false(well_formed("cf-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
	assert_false(well_formed("xx_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
	assert_false(well_formed("cf_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh="));
	assert_false(well_formed("cf_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd+h8"));
	assert_false(well_formed("cf_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd/h8"));
	assert_false(well_formed("cf_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd h8"));
	assert_false(token_well_formed(NULL, TOKEN_TEXT_LEN));
	/* Non-canonical: '9' (61) sets bits beyond the 256 encoded ones. */
	t[45] = '9';
	assert_false(well_formed(t));
	t[45] = 'B';
	assert_false(well_formed(t));
	t[45] = '_';
	assert_false(well_formed(t));
	t[45] = 'E';
	assert_true(well_formed(t));
	/* An embedded NUL counts as a bad character. */
	t[10] = '\0';
	assert_false(token_well_formed(t, TOKEN_TEXT_LEN));
}

static void
test_digest_matches_sha256sum(void **state)
{
	unsigned char d[TOKEN_DIGEST_LEN];
	char hex[TOKEN_DIGEST_HEX_LEN + 1];

	assert_true(token_digest(KNOWN_TOKEN, strlen(KNOWN_TOKEN), d));
	hex_encode(d, sizeof(d), hex);
	assert_string_equal(hex, KNOWN_DIGEST);
}

static void
test_digest_refuses_malformed(void **state)
{
	unsigned char d[TOKEN_DIGEST_LEN];

	assert_false(token_digest("cf_short", 8, d));
	assert_false(token_digest(KNOWN_TOKEN, strlen(KNOWN_TOKEN) - 1, d));
}

static void
expect_bearer(const char *value, const char *want)
{
	const char *tok = NULL;
	size_t len = 0;

	if (want == NULL) {
		if (token_from_bearer(value, &tok, &len))
			fail_msg("'%s' accepted", value != NULL ? value : "(null)");
		return;
	}
	if (!token_from_bearer(value, &tok, &len))
		fail_msg("'%s' rejected", value);
	assert_true(tok >= value && tok < value + strlen(value));
	assert_int_equal(len, strlen(want));
	assert_memory_equal(tok, want, len);
	assert_int_equal(tok[len], '\0');
}

static void
test_bearer_accepts(void **state)
{
	expect_bearer("Bearer " KNOWN_TOKEN, KNOWN_TOKEN);
	expect_bearer("bearer " KNOWN_TOKEN, KNOWN_TOKEN);
	expect_bearer("BEARER    " KNOWN_TOKEN, KNOWN_TOKEN);
	expect_bearer("bEaReR x", "x");
	expect_bearer("Bearer abc.def~ghi+jk/l==", "abc.def~ghi+jk/l==");
}

static void
test_bearer_rejects(void **state)
{
	const char *tok = NULL;
	size_t len = 0;

	assert_false(token_from_bearer(NULL, &tok, &len));
	expect_bearer("", NULL);
	expect_bearer("Bearer", NULL);
	expect_bearer("Bearer ", NULL);
	expect_bearer("Bearer    ", NULL);
	expect_bearer("Bearer " KNOWN_TOKEN " ", NULL);
	expect_bearer("Bearer " KNOWN_TOKEN "\t", NULL);
	expect_bearer("Bearer\t" KNOWN_TOKEN, NULL);
	expect_bearer("Bearer" KNOWN_TOKEN, NULL);
	expect_bearer(" Bearer " KNOWN_TOKEN, NULL);
	expect_bearer("Basic dXNlcjpwYXNz", NULL);
	expect_bearer("Bearerx " KNOWN_TOKEN, NULL);
	expect_bearer("Bearer a b", NULL);
	expect_bearer("Bearer a,b", NULL);
	expect_bearer("Bearer =abc", NULL);
	expect_bearer("Bearer ab=c", NULL);
	expect_bearer("Bearer caf\xc3\xa9", NULL);
}

static void
test_hex_encode(void **state)
{
	static const unsigned char in[] = { 0x00, 0x01, 0xab, 0xff, 0x7f };
	char out[2 * sizeof(in) + 1];

	hex_encode(in, sizeof(in), out);
	assert_string_equal(out, "0001abff7f");
	memset(out, 'x', sizeof(out));
	hex_encode(in, 0, out);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_is_well_formed_and_fresh),
		cmocka_unit_test(test_many_generated_tokens_are_canonical),
		cmocka_unit_test(test_well_formed_known_token),
		cmocka_unit_test(test_well_formed_rejects_near_misses),
		cmocka_unit_test(test_digest_matches_sha256sum),
		cmocka_unit_test(test_digest_refuses_malformed),
		cmocka_unit_test(test_bearer_accepts),
		cmocka_unit_test(test_bearer_rejects),
		cmocka_unit_test(test_hex_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
