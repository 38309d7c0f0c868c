/*
 * test_multibase.c - unit tests for lib/multibase.c: known base58btc vectors,
 * round trips of every length 0..100 with leading zero bytes, refusal of the
 * characters outside the alphabet, and the Multikey (did:key) form of the
 * RFC 8032 test-1 public key.
 *
 * Expected texts come from an independent implementation (a plain base58
 * big-integer loop in Python), e.g. for the Multikey of RFC 8032 test 1:
 *   /usr/bin/python3 -c "A='123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'; b=bytes.fromhex('ed01d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'); n=int.from_bytes(b,'big'); d=[A[n//58**i%58] for i in range(2*len(b)) if 58**i<=n]; print('z'+'1'*(len(b)-len(b.lstrip(b'\0')))+''.join(reversed(d)))"
 * prints z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw (replace the hex for
 * the other vectors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "certflow/multibase.h"

/* RFC 8032 section 7.1, TEST 1, PUBLIC KEY. */
static const unsigned char rfc8032_pub1[32] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3,
	0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
	0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};
#define RFC8032_PUB1_MULTIKEY "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"

/* base58btc of the bytes 0x00..0xff (python, as above). */
#define ALL_BYTES_B58 \
	"z1cWB5HCBdLjAuqGGReWE3R3CguuwSjw6RHn39s2yuDRTS5NsBgNiFpWgAnEx6VQi8cse" \
	"xkgYw3mdYrMHr8x9i7aEwP8kZ7vccXWqKDvGv3u1GxFKPuAkn8JCPPGDMf3vMMnbzm6Nh9" \
	"zh1gcNsMvH3ZNLmP5fSG6DGbbi2tuwMWPthr4boWwCxf7ewSgNQeacyozhKDDQQ1qL5fQF" \
	"UW52QKUZDZ5fw3KXNQJMcNTcaB723LchjeKun7MuGW5qyCBZYzA1KjofN1gYBV3NqyhQJ3" \
	"Ns746GNuf9N2pQPmHz4xpnSrrfCvy6TVVz5d4PdrjeshsWQwpZsZGzvbdAdN8MKV5QsBDY"

/* Encodes N bytes of IN and compares with WANT, then decodes WANT back to IN. */
static void
expect_vector(const unsigned char *in, size_t n, const char *want)
{
	unsigned char *back = NULL;
	size_t m = 99;
	char *text;

	assert_non_null(text = multibase_base58btc_encode(in, n));
	assert_string_equal(text, want);
	free(text);
	assert_true(multibase_base58btc_decode(want, &back, &m));
	assert_non_null(back);
	assert_int_equal(m, n);
	if (n > 0)
		assert_memory_equal(back, in, n);
	free(back);
}

static void
test_known_vectors(void **state)
{
	static const unsigned char zeros_then[] = { 0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd };
	static const unsigned char one_zero[] = { 0x00 };
	unsigned char all[256];

	expect_vector((const unsigned char *)"Hello World!", 12, "z2NEpo7TZRRrLZSi2U");
	expect_vector(zeros_then, sizeof(zeros_then), "z11233QC4");
	expect_vector(NULL, 0, "z");
	expect_vector(one_zero, 1, "z1");
	expect_vector((const unsigned char *)"\x39", 1, "zz");
	expect_vector((const unsigned char *)"\x3a", 1, "z21");
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	expect_vector(all, sizeof(all), ALL_BYTES_B58);
}

/* xorshift64: reproducible bytes without depending on the CSPRNG. */
static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_round_trips_with_leading_zeros(void **state)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned char in[100];

	for (int round = 0; round < 20; round++) {
		for (size_t n = 0; n <= sizeof(in); n++) {
			size_t zeros = n == 0 ? 0 : next_random(&seed) % (n + 1);
			unsigned char *back = NULL;
			size_t m = 0, ones = 0;
			char *text;

			for (size_t i = 0; i < n; i++)
				in[i] = i < zeros ? 0 : (unsigned char)next_random(&seed);
			assert_non_null(text = multibase_base58btc_encode(in, n));
			assert_int_equal(text[0], 'z');
			while (text[1 + ones] == '1')
				ones++;
			/* Exactly the leading zero bytes become '1's. */
			for (zeros = 0; zeros < n && in[zeros] == 0; zeros++)
				;
			assert_int_equal(ones, zeros);
			assert_true(multibase_base58btc_decode(text, &back, &m));
			assert_int_equal(m, n);
			if (n > 0)
				assert_memory_equal(back, in, n);
			free(back);
			free(text);
		}
	}
}

static void
expect_refused(const char *text)
{
	unsigned char *out = (unsigned char *)"sentinel";
	size_t n = 7;

	assert_false(multibase_base58btc_decode(text, &out, &n));
	assert_null(out);
	assert_int_equal(n, 0);
}

static void
test_decode_refuses_bad_text(void **state)
{
	char *huge;
	unsigned char *out = NULL;
	size_t n = 0;

	/* Not in the Bitcoin alphabet: zero, capital o, capital i, small L. */
	expect_refused("z0");
	expect_refused("z2NEpo7TZRRrLZSi2O");
	expect_refused("zI");
	expect_refused("z2NEpo7TZRRlLZSi2U");
	expect_refused("z2NEpo7TZRR0LZSi2U");
	expect_refused("z2NEpo7TZRRrLZSi2U ");
	expect_refused("z2NEpo-TZRRrLZSi2U");
	expect_refused("z\xc3\xa9");
	/* The multibase prefix is required, and only 'z'. */
	expect_refused("2NEpo7TZRRrLZSi2U");
	expect_refused("Z2NEpo7TZRRrLZSi2U");
	expect_refused("u2NEpo7TZRRrLZSi2U");
	expect_refused("");
	expect_refused(NULL);
	assert_false(multibase_base58btc_decode("z2", NULL, &n));
	assert_false(multibase_base58btc_decode("z2", &out, NULL));
	/* The length bound holds; one below it decodes. */
	assert_non_null(huge = malloc(MULTIBASE_DECODE_MAX + 3));
	huge[0] = 'z';
	memset(huge + 1, '2', MULTIBASE_DECODE_MAX);
	huge[MULTIBASE_DECODE_MAX + 1] = '\0';
	assert_true(multibase_base58btc_decode(huge, &out, &n));
	assert_true(n > 2900 && n < MULTIBASE_DECODE_MAX);
	free(out);
	huge[MULTIBASE_DECODE_MAX + 1] = '2';
	huge[MULTIBASE_DECODE_MAX + 2] = '\0';
	expect_refused(huge);
	free(huge);
}

static void
test_multikey_of_rfc8032_key(void **state)
{
	unsigned char pub[32];
	char *text;

	assert_non_null(text = multikey_ed25519_encode(rfc8032_pub1));
	assert_string_equal(text, RFC8032_PUB1_MULTIKEY);
	assert_int_equal(strlen(text), MULTIKEY_ED25519_TEXT_LEN);
	assert_memory_equal(text, "z6Mk", 4);
	free(text);
	memset(pub, 0, sizeof(pub));
	assert_true(multikey_ed25519_decode(RFC8032_PUB1_MULTIKEY, pub));
	assert_memory_equal(pub, rfc8032_pub1, sizeof(pub));
}

static void
test_multikey_refuses_other_keys(void **state)
{
	unsigned char raw[35], pub[32];
	char *text;

	/* An X25519 key (multicodec 0xec) is not an Ed25519 Multikey. */
	raw[0] = 0xec;
	raw[1] = 0x01;
	memcpy(raw + 2, rfc8032_pub1, 32);
	assert_non_null(text = multibase_base58btc_encode(raw, 34));
	assert_false(multikey_ed25519_decode(text, pub));
	free(text);
	/* The right prefix with 31 or 33 key bytes. */
	raw[0] = 0xed;
	assert_non_null(text = multibase_base58btc_encode(raw, 33));
	assert_false(multikey_ed25519_decode(text, pub));
	free(text);
	raw[34] = 0x42;
	assert_non_null(text = multibase_base58btc_encode(raw, 35));
	assert_false(multikey_ed25519_decode(text, pub));
	free(text);
	/* A raw key without the prefix. */
	assert_non_null(text = multibase_base58btc_encode(rfc8032_pub1, 32));
	assert_false(multikey_ed25519_decode(text, pub));
	free(text);
	assert_false(multikey_ed25519_decode("z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMs0", pub));
	assert_false(multikey_ed25519_decode(NULL, pub));
	assert_false(multikey_ed25519_decode(&RFC8032_PUB1_MULTIKEY[1], pub));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_round_trips_with_leading_zeros),
		cmocka_unit_test(test_decode_refuses_bad_text),
		cmocka_unit_test(test_multikey_of_rfc8032_key),
		cmocka_unit_test(test_multikey_refuses_other_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
