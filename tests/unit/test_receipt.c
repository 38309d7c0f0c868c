/*
 * test_receipt.c - unit tests for lib/receipt.c: generated receipts have the
 * grouped shape, differ and are roughly uniform; normalisation accepts what a
 * person may type and nothing else; the hash is deterministic, keyed, and
 * matches an independent PBKDF2 implementation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certflow/receipt.h"
#include "certflow/token.h"

#define SECRET "installation-secret"
#define SECRET_LEN (sizeof(SECRET) - 1)
/*
 * Computed independently with Debian's Python:
 * /usr/bin/python3 -c "import hashlib; print(hashlib.pbkdf2_hmac('sha256', b'1234567890123456789012345', b'installation-secret', 1000).hex())"
 */
#define KNOWN_HASH \
	"5dbff648863213ae9d687a27c275242b459aad77efe23bac831c2a5b85082cb6"

static void
test_generate_shape(void **state)
{
	char r[RECEIPT_TEXT_LEN + 1], d[RECEIPT_DIGITS + 1];

	for (int k = 0; k < 100; k++) {
		memset(r, 'x', sizeof(r));
		assert_true(receipt_generate(r));
		assert_int_equal(strlen(r), RECEIPT_TEXT_LEN);
		assert_int_equal(strlen(r), 29);
		for (int i = 0; i < RECEIPT_TEXT_LEN; i++) {
			if (i % 6 == 5)
				assert_int_equal(r[i], '-');
			else
				assert_true(r[i] >= '0' && r[i] <= '9');
		}
		assert_true(receipt_normalize(r, d));
	}
}

static void
test_generate_fresh(void **state)
{
	char a[RECEIPT_TEXT_LEN + 1], b[RECEIPT_TEXT_LEN + 1];

	assert_true(receipt_generate(a));
	assert_true(receipt_generate(b));
	assert_string_not_equal(a, b);
}

/*
 * Each digit should lead 2,000 of 20,000 receipts (sd ~42): a bound of 200
 * is more than 4.7 sd on each side, so a failure means bias, not bad luck.
 * The last digit is checked too: it comes from the last bytes drawn.
 */
static void
test_generate_roughly_uniform(void **state)
{
	unsigned first[10] = { 0 }, last[10] = { 0 };
	char r[RECEIPT_TEXT_LEN + 1];

	for (int k = 0; k < 20000; k++) {
		assert_true(receipt_generate(r));
		first[r[0] - '0']++;
		last[r[RECEIPT_TEXT_LEN - 1] - '0']++;
	}
	for (int i = 0; i < 10; i++) {
		if (first[i] < 1800 || first[i] > 2200)
			fail_msg("digit %d leads %u of 20000 receipts", i, first[i]);
		if (last[i] < 1800 || last[i] > 2200)
			fail_msg("digit %d ends %u of 20000 receipts", i, last[i]);
	}
}

static void
expect_normal(const char *in)
{
	char out[RECEIPT_DIGITS + 1];

	memset(out, 'x', sizeof(out));
	if (!receipt_normalize(in, out))
		fail_msg("'%s' rejected", in);
	assert_string_equal(out, "1234567890123456789012345");
}

static void
test_normalize_accepts(void **state)
{
	expect_normal("12345 67890 12345 67890 12345");
	expect_normal("1234567890123456789012345");
	expect_normal("12345-67890-12345-67890-12345");
	expect_normal("12345.67890.12345.67890.12345");
	expect_normal("  12345\t67890 - 12345..67890--12345  ");
	expect_normal("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5");
}

static void
expect_rejected(const char *in)
{
	char out[RECEIPT_DIGITS + 1];

	memset(out, 'x', sizeof(out));
	if (receipt_normalize(in, out))
		fail_msg("'%s' accepted", in != NULL ? in : "(null)");
	assert_string_equal(out, "");
}

static void
test_normalize_rejects(void **state)
{
	expect_rejected(NULL);
	expect_rejected("");
	expect_rejected("   - . ");
	expect_rejected("12345-67890-12345-67890-1234");		/* 24 */
	expect_rejected("12345-67890-12345-67890-123456");	/* 26 */
	expect_rejected("123456789012345678901234567890");
	expect_rejected("12345-67890-12345-67890-1234O");	/* letter O */
	expect_rejected("a2345-67890-12345-67890-12345");
	expect_rejected("12345_67890_12345_67890_12345");
	expect_rejected("12345/67890/12345/67890/12345");
	expect_rejected("12345-67890-12345-67890-12345\n");
	expect_rejected("\xd9\xa1" "2345-67890-12345-67890-12345"); /* Arabic-Indic 1 */
}

static void
hash_hex(const char *digits, const char *secret, int iterations,
    char hex[2 * RECEIPT_HASH_LEN + 1])
{
	unsigned char h[RECEIPT_HASH_LEN];

	assert_true(receipt_hash(digits, (const unsigned char *)secret,
	    strlen(secret), iterations, h));
	hex_encode(h, sizeof(h), hex);
}

static void
test_hash_known_answer(void **state)
{
	char hex[2 * RECEIPT_HASH_LEN + 1];

	hash_hex("1234567890123456789012345", SECRET, 1000, hex);
	assert_string_equal(hex, KNOWN_HASH);
}

static void
test_hash_deterministic_and_keyed(void **state)
{
	char a[2 * RECEIPT_HASH_LEN + 1], b[2 * RECEIPT_HASH_LEN + 1];
	char r[RECEIPT_TEXT_LEN + 1], d[RECEIPT_DIGITS + 1];

	hash_hex("1234567890123456789012345", SECRET, 1000, a);
	hash_hex("1234567890123456789012345", SECRET, 1000, b);
	assert_string_equal(a, b);
	hash_hex("1234567890123456789012345", "installation-secreT", 1000, b);
	assert_string_not_equal(a, b);
	hash_hex("1234567890123456789012346", SECRET, 1000, b);
	assert_string_not_equal(a, b);
	hash_hex("0234567890123456789012345", SECRET, 1000, b);
	assert_string_not_equal(a, b);
	hash_hex("1234567890123456789012345", SECRET, 1001, b);
	assert_string_not_equal(a, b);
	/* A generated receipt, normalised from its text form, hashes stably. */
	assert_true(receipt_generate(r));
	assert_true(receipt_normalize(r, d));
	hash_hex(d, SECRET, 1000, a);
	hash_hex(d, SECRET, 1000, b);
	assert_string_equal(a, b);
}

static void
test_hash_refuses(void **state)
{
	unsigned char h[RECEIPT_HASH_LEN];
	const unsigned char *s = (const unsigned char *)SECRET;
	char d[RECEIPT_DIGITS + 1];

	assert_false(receipt_hash("12345-67890-12345-67890-1", s, SECRET_LEN,
	    1000, h));
	/* 24 digits then the NUL, inside a buffer of the declared size. */
	memcpy(d, "123456789012345678901234", 25);
	assert_false(receipt_hash(d, s, SECRET_LEN, 1000, h));
	memcpy(d, "1234567890123456789012345", 26);
	d[RECEIPT_DIGITS] = '6';
	assert_false(receipt_hash(d, s, SECRET_LEN, 1000, h));
	assert_false(receipt_hash("12345678901234567890123456", s, SECRET_LEN,
	    1000, h));
	assert_false(receipt_hash(NULL, s, SECRET_LEN, 1000, h));
	assert_false(receipt_hash("1234567890123456789012345", NULL, 0, 1000, h));
	assert_false(receipt_hash("1234567890123456789012345", s, 0, 1000, h));
	assert_false(receipt_hash("1234567890123456789012345", s, SECRET_LEN,
	    0, h));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_shape),
		cmocka_unit_test(test_generate_fresh),
		cmocka_unit_test(test_generate_roughly_uniform),
		cmocka_unit_test(test_normalize_accepts),
		cmocka_unit_test(test_normalize_rejects),
		cmocka_unit_test(test_hash_known_answer),
		cmocka_unit_test(test_hash_deterministic_and_keyed),
		cmocka_unit_test(test_hash_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
