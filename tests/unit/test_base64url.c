/*
 * test_base64url.c - unit tests for lib/base64url.c: the RFC 4648 vectors,
 * the URL-safe alphabet, round trips of every length up to 64 bytes, and the
 * canonical check's refusal of padding, of '+' and '/', of impossible lengths
 * and of a last character with stray low bits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certflow/base64url.h"

#define ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* Encodes IN (N bytes), expects WANT and no byte written past it. */
static void
expect_encode(const void *in, size_t n, const char *want)
{
	char out[128];
	size_t len;

	memset(out, '#', sizeof(out));
	len = base64url_encode(in, n, out);
	assert_int_equal(len, strlen(want));
	assert_int_equal(base64url_len(n), len);
	assert_memory_equal(out, want, len);
	assert_int_equal(out[len], '#');
}

/* Checks S, decodes it and compares with the N bytes of WANT (and no more). */
static void
expect_decode(const char *s, const void *want, size_t n)
{
	unsigned char out[128];
	size_t outlen = 999;

	if (!base64url_check(s, strlen(s), &outlen))
		fail_msg("'%s' refused", s);
	assert_int_equal(outlen, n);
	memset(out, 0xa5, sizeof(out));
	base64url_decode(s, strlen(s), out);
	assert_memory_equal(out, want, n);
	assert_int_equal(out[n], 0xa5);
}

/* S (LEN chars) must be refused, the decoded length left untouched. */
static void
expect_refused(const char *s, size_t len)
{
	size_t outlen = 999;

	if (base64url_check(s, len, &outlen))
		fail_msg("'%.*s' accepted", (int)len, s);
	assert_int_equal(outlen, 999);
}

static void
test_rfc4648_vectors(void **state)
{
	static const char *const plain[] = {
		"", "f", "fo", "foo", "foob", "fooba", "foobar",
	};
	static const char *const text[] = {
		"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy",
	};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		expect_encode(plain[i], strlen(plain[i]), text[i]);
		expect_decode(text[i], plain[i], strlen(plain[i]));
	}
}

static void
test_url_safe_alphabet(void **state)
{
	static const unsigned char in[] = { 0xfb, 0xff };
	unsigned valid = 0;

	/* Standard base64 would give "+/8". */
	expect_encode(in, sizeof(in), "-_8");
	expect_decode("-_8", in, sizeof(in));
	for (int c = 0; c < 256; c++)
		if (base64url_valid_char((char)c)) {
			assert_non_null(memchr(ALPHABET, c, 64));
			valid++;
		}
	assert_int_equal(valid, 64);
}

/* splitmix64: reproducible "random" bytes, so a failure can be replayed. */
static uint64_t
next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
test_round_trip_every_length(void **state)
{
	uint64_t seed = 20240601;
	unsigned char in[64], back[64 + 1];
	char text[88 + 1];

	for (size_t n = 0; n <= sizeof(in); n++) {
		for (int round = 0; round < 50; round++) {
			size_t len, outlen = 999;

			for (size_t i = 0; i < n; i++)
				in[i] = (unsigned char)next_random(&seed);
			len = base64url_encode(in, n, text);
			assert_int_equal(len, base64url_len(n));
			assert_int_equal(len, (n * 4 + 2) / 3);
			for (size_t i = 0; i < len; i++)
				assert_true(base64url_valid_char(text[i]));
			assert_true(base64url_check(text, len, &outlen));
			assert_int_equal(outlen, n);
			back[n] = 0x5a;
			base64url_decode(text, len, back);
			assert_memory_equal(back, in, n);
			assert_int_equal(back[n], 0x5a);
		}
	}
}

static void
test_refuses_padding(void **state)
{
	expect_refused("Zg==", 4);
	expect_refused("Zg=", 3);
	expect_refused("Zm8=", 4);
	expect_refused("Zm9vYg==", 8);
	expect_refused("=", 1);
	expect_refused("====", 4);
}

static void
test_refuses_other_characters(void **state)
{
	expect_refused("+/8", 3);
	expect_refused("-/8", 3);
	expect_refused("+_8", 3);
	expect_refused("Zm9v+mFy", 8);
	expect_refused("Zm9v/mFy", 8);
	expect_refused("Zm9 ", 4);
	expect_refused("Zm9v\nYmF", 8);
	expect_refused("Zm\0v", 4);
	expect_refused("Zm9v.mFy", 8);
	expect_refused("ca\xc3\xa9", 4);
}

static void
test_refuses_impossible_lengths(void **state)
{
	/* One leftover character carries 6 bits: less than a byte. */
	expect_refused("Z", 1);
	expect_refused("Zm9vY", 5);
	expect_refused("Zm9vYmFyZ", 9);
}

/*
 * Whether S (LEN chars, 2 or 3) passes the check; if so it must decode to
 * LEN - 1 bytes that encode back to S itself.
 */
static bool
canonical_round_trip(const char *s, size_t len)
{
	unsigned char raw[2];
	char again[3];
	size_t outlen = 0;

	if (!base64url_check(s, len, &outlen))
		return false;
	assert_int_equal(outlen, len - 1);
	base64url_decode(s, len, raw);
	assert_int_equal(base64url_encode(raw, outlen, again), len);
	assert_memory_equal(again, s, len);
	return true;
}

/*
 * After 1 leftover byte the last character carries 4 unused bits, after 2
 * leftover bytes 2 of them: only the characters with those bits clear are
 * canonical, and each of them decodes back to its own text.
 */
static void
test_refuses_non_canonical_last_character(void **state)
{
	unsigned accepted2 = 0, accepted3 = 0;

	expect_refused("Zh", 2);
	expect_refused("Zm9", 3);
	expect_refused("-_9", 3);
	expect_refused("Zm9vYh", 6);
	expect_refused("Zm9vYmF", 7);
	for (int v = 0; v < 64; v++) {
		char two[] = { 'Z', ALPHABET[v] }, three[] = { 'Z', 'm', ALPHABET[v] };

		if (canonical_round_trip(two, sizeof(two))) {
			assert_int_equal(v & 15, 0);
			accepted2++;
		}
		if (canonical_round_trip(three, sizeof(three))) {
			assert_int_equal(v & 3, 0);
			accepted3++;
		}
	}
	assert_int_equal(accepted2, 4);
	assert_int_equal(accepted3, 16);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_url_safe_alphabet),
		cmocka_unit_test(test_round_trip_every_length),
		cmocka_unit_test(test_refuses_padding),
		cmocka_unit_test(test_refuses_other_characters),
		cmocka_unit_test(test_refuses_impossible_lengths),
		cmocka_unit_test(test_refuses_non_canonical_last_character),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
