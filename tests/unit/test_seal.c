/*
 * test_seal.c - unit tests for lib/seal.c: round trips of every size, fresh
 * nonces, rejection of any tampered character, of a wrong AAD, an unknown
 * key or a truncated text; key rotation; key file parse errors with their
 * line numbers; and the key file permission check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certflow/seal.h"

#define HEX1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX2 "F0E1D2C3B4A5968778695A4B3C2D1E0FFFEEDDCCBBAA99887766554433221100"
#define HEX3 "5555555555555555555555555555555555555555555555555555555555555555"
#define AAD  "report.body"
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static void
parse_ok(const char *text, struct seal_keyring *ring)
{
	char err[256];

	if (!seal_keyring_parse(text, "keys", ring, err, sizeof(err)))
		fail_msg("parse failed: %s", err);
}

/* Seals N bytes of PLAIN under RING, opens it again and compares. */
static void
round_trip(const struct seal_keyring *ring, const unsigned char *plain,
    size_t n)
{
	char *text;
	unsigned char *back;
	size_t len = 12345;

	text = seal_encrypt(ring, AAD, plain, n);
	assert_non_null(text);
	back = seal_decrypt(ring, AAD, text, &len);
	assert_non_null(back);
	assert_int_equal(len, n);
	if (n > 0)
		assert_memory_equal(back, plain, n);
	assert_int_equal(back[n], '\0');
	free(back);
	free(text);
}

static void
test_round_trip(void **state)
{
	static const char utf8[] = "Signalement: la comptabilit\xc3\xa9 "
	    "falsifie les factures \xe2\x80\x94 \xe6\xbc\xa2\xe5\xad\x97 "
	    "\xf0\x9f\x99\x82";
	struct seal_keyring ring = { NULL, 0 };
	unsigned char one = 0x00, *big;
	size_t bign = 1024 * 1024;

	parse_ok("k1 " HEX1 "\n", &ring);
	round_trip(&ring, NULL, 0);
	round_trip(&ring, (const unsigned char *)"", 0);
	round_trip(&ring, &one, 1);
	round_trip(&ring, (const unsigned char *)utf8, strlen(utf8));
	assert_non_null(big = malloc(bign));
	for (size_t i = 0; i < bign; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 13));
	round_trip(&ring, big, bign);
	free(big);
	seal_keyring_free(&ring);
	assert_null(ring.keys);
	assert_int_equal(ring.n, 0);
}

static void
test_text_form(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	char id[SEAL_KEY_ID_MAX + 1];
	char *text;
	const char *pay;

	parse_ok("k1 " HEX1 "\n", &ring);
	assert_non_null(text = seal_encrypt(&ring, AAD,
	    (const unsigned char *)"hello", 5));
	assert_memory_equal(text, "v1.k1.", 6);
	pay = text + 6;
	/* 12 + 5 + 16 = 33 bytes: 44 characters, no padding. */
	assert_int_equal(strlen(pay), 44);
	assert_int_equal(strspn(pay, B64URL), 44);
	assert_true(seal_key_id(text, id));
	assert_string_equal(id, "k1");
	free(text);
	seal_keyring_free(&ring);
}

static void
test_same_text_seals_differently(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	const unsigned char *msg = (const unsigned char *)"the same report";
	char *a, *b;

	parse_ok("k1 " HEX1 "\n", &ring);
	assert_non_null(a = seal_encrypt(&ring, AAD, msg, 15));
	assert_non_null(b = seal_encrypt(&ring, AAD, msg, 15));
	assert_string_not_equal(a, b);
	/* Different nonces: the first 16 characters encode only the nonce. */
	assert_memory_not_equal(a + 6, b + 6, 16);
	free(a);
	free(b);
	seal_keyring_free(&ring);
}

/*
 * Changing any payload character changes a byte of the nonce, ciphertext or
 * tag (or makes the last character non-canonical): every one must fail.
 */
static void
test_tampering_fails(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	char *text;
	size_t len, n = 99;
	unsigned char *p;

	parse_ok("k1 " HEX1 "\nk2 " HEX2 "\n", &ring);
	assert_non_null(text = seal_encrypt(&ring, AAD,
	    (const unsigned char *)"a secret", 8));
	len = strlen(text);
	for (size_t i = 6; i < len; i++) {
		for (const char *c = "AB_9"; *c != '\0'; c++) {
			char saved = text[i];

			if (*c == saved)
				continue;
			text[i] = *c;
			p = seal_decrypt(&ring, AAD, text, &n);
			if (p != NULL)
				fail_msg("tampered char %zu ('%c' -> '%c') accepted",
				    i, saved, *c);
			assert_int_equal(n, 0);
			text[i] = saved;
		}
	}
	/* Still intact: the loop restored every character. */
	assert_non_null(p = seal_decrypt(&ring, AAD, text, &n));
	assert_int_equal(n, 8);
	free(p);
	/* Another known key, another version, padding, trailing junk. */
	text[4] = '1';
	assert_null(seal_decrypt(&ring, AAD, text, &n));
	text[4] = '2';
	text[1] = '2';
	assert_null(seal_decrypt(&ring, AAD, text, &n));
	text[1] = '1';
	{
		char longer[256];

		snprintf(longer, sizeof(longer), "%s=", text);
		assert_null(seal_decrypt(&ring, AAD, longer, &n));
		snprintf(longer, sizeof(longer), "%s ", text);
		assert_null(seal_decrypt(&ring, AAD, longer, &n));
		snprintf(longer, sizeof(longer), "%sAAAA", text);
		assert_null(seal_decrypt(&ring, AAD, longer, &n));
		snprintf(longer, sizeof(longer), " %s", text);
		assert_null(seal_decrypt(&ring, AAD, longer, &n));
	}
	free(text);
	seal_keyring_free(&ring);
}

static void
test_wrong_aad_fails(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	char *text;
	size_t n;

	parse_ok("k1 " HEX1 "\n", &ring);
	assert_non_null(text = seal_encrypt(&ring, AAD,
	    (const unsigned char *)"body", 4));
	assert_null(seal_decrypt(&ring, "report.title", text, &n));
	assert_null(seal_decrypt(&ring, "", text, &n));
	assert_null(seal_decrypt(&ring, "report.body ", text, &n));
	assert_null(seal_decrypt(&ring, "report.bod", text, &n));
	assert_null(seal_decrypt(&ring, NULL, text, &n));
	assert_null(seal_encrypt(&ring, NULL, (const unsigned char *)"x", 1));
	free(text);
	seal_keyring_free(&ring);
}

static void
test_unknown_key_fails(void **state)
{
	struct seal_keyring a = { NULL, 0 }, b = { NULL, 0 }, c = { NULL, 0 };
	char *text;
	size_t n;

	parse_ok("k1 " HEX1 "\n", &a);
	parse_ok("k2 " HEX2 "\n", &b);
	/* Same id, other key bytes: found but authentication fails. */
	parse_ok("k1 " HEX3 "\n", &c);
	assert_non_null(text = seal_encrypt(&a, AAD,
	    (const unsigned char *)"x", 1));
	assert_null(seal_decrypt(&b, AAD, text, &n));
	assert_null(seal_decrypt(&c, AAD, text, &n));
	free(text);
	seal_keyring_free(&a);
	seal_keyring_free(&b);
	seal_keyring_free(&c);
}

static void
test_truncated_fails(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	char id[SEAL_KEY_ID_MAX + 1];
	char *text;
	size_t n;

	parse_ok("k1 " HEX1 "\n", &ring);
	assert_non_null(text = seal_encrypt(&ring, AAD,
	    (const unsigned char *)"abc", 3));
	for (size_t len = strlen(text); len-- > 0;) {
		text[len] = '\0';
		assert_null(seal_decrypt(&ring, AAD, text, &n));
		/* Shorter than nonce + tag: not even well formed. */
		if (len < 6 + 38)
			assert_false(seal_key_id(text, id));
	}
	assert_null(seal_decrypt(&ring, AAD, NULL, &n));
	assert_false(seal_key_id(NULL, id));
	free(text);
	seal_keyring_free(&ring);
}

/* 28 zero bytes (nonce + tag, empty text): the shortest well-formed payload. */
#define PAY38 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void
test_key_id_malformed(void **state)
{
	char id[SEAL_KEY_ID_MAX + 1];

	assert_int_equal(strlen(PAY38), 38);
	assert_true(seal_key_id("v1.k1." PAY38, id));
	assert_string_equal(id, "k1");
	/* Ids may contain '.': the payload starts after the last one. */
	assert_true(seal_key_id("v1.2024.05." PAY38, id));
	assert_string_equal(id, "2024.05");
	assert_true(seal_key_id("v1.01234567890123456789012345678901." PAY38, id));
	assert_string_equal(id, "01234567890123456789012345678901");
	assert_false(seal_key_id("v1.012345678901234567890123456789012." PAY38, id));
	assert_false(seal_key_id("v1.." PAY38, id));
	assert_false(seal_key_id("v2.k1." PAY38, id));
	assert_false(seal_key_id("V1.k1." PAY38, id));
	assert_false(seal_key_id("v1.k/1." PAY38, id));
	assert_false(seal_key_id("v1.k1" PAY38, id));
	/* 37 characters cannot be base64; 27 bytes are too short. */
	assert_false(seal_key_id("v1.k1." "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", id));
	assert_false(seal_key_id("v1.k1." "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", id));
	/* Non-canonical last character (unused low bits set), bad alphabet. */
	assert_false(seal_key_id("v1.k1." "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", id));
	assert_false(seal_key_id("v1.k1." "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A", id));
	assert_false(seal_key_id("v1.k1." PAY38 "==", id));
	assert_false(seal_key_id("", id));
	assert_false(seal_key_id("v1.", id));
}

static void
test_rotation(void **state)
{
	struct seal_keyring old = { NULL, 0 }, cur = { NULL, 0 };
	char id[SEAL_KEY_ID_MAX + 1];
	char *a, *b;
	unsigned char *p;
	size_t n;

	parse_ok("2024-01 " HEX1 "\n", &old);
	parse_ok("2024-01 " HEX1 "\n2025.06_b " HEX2 "\n", &cur);
	assert_int_equal(cur.n, 2);
	assert_non_null(a = seal_encrypt(&old, AAD,
	    (const unsigned char *)"old report", 10));
	assert_true(seal_key_id(a, id));
	assert_string_equal(id, "2024-01");
	assert_non_null(p = seal_decrypt(&cur, AAD, a, &n));
	assert_int_equal(n, 10);
	assert_memory_equal(p, "old report", 10);
	free(p);
	assert_non_null(b = seal_encrypt(&cur, AAD,
	    (const unsigned char *)"new report", 10));
	assert_true(seal_key_id(b, id));
	assert_string_equal(id, "2025.06_b");
	assert_memory_equal(b, "v1.2025.06_b.", 13);
	assert_non_null(p = seal_decrypt(&cur, AAD, b, &n));
	assert_memory_equal(p, "new report", 10);
	free(p);
	/* The old ring does not know the new key. */
	assert_null(seal_decrypt(&old, AAD, b, &n));
	free(a);
	free(b);
	seal_keyring_free(&old);
	seal_keyring_free(&cur);
}

static void
test_parse_accepts(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	static const unsigned char key2[SEAL_KEY_LEN] = {
		0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
		0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
		0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
		0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00,
	};

	parse_ok("# certflow report keys\n"
	    "\n"
	    "   \t\n"
	    "  # indented comment\n"
	    "old.key_1\t" HEX1 "\r\n"
	    "  NEW-2  \t  " HEX2 "  \n"
	    "# trailing comment", &ring);
	assert_int_equal(ring.n, 2);
	assert_string_equal(ring.keys[0].id, "old.key_1");
	assert_string_equal(ring.keys[1].id, "NEW-2");
	assert_int_equal(ring.keys[0].key[0], 0x00);
	assert_int_equal(ring.keys[0].key[31], 0x1f);
	assert_memory_equal(ring.keys[1].key, key2, SEAL_KEY_LEN);
	/* A second parse replaces the ring (no leak under ASan). */
	parse_ok("only " HEX3, &ring);
	assert_int_equal(ring.n, 1);
	assert_string_equal(ring.keys[0].id, "only");
	seal_keyring_free(&ring);
	seal_keyring_free(&ring);
}

/* TEXT must be refused with exactly WANT; an existing ring stays untouched. */
static void
expect_parse_error(const char *text, const char *want)
{
	struct seal_keyring ring = { NULL, 0 };
	char err[256];

	parse_ok("keep " HEX1 "\n", &ring);
	if (seal_keyring_parse(text, "keys", &ring, err, sizeof(err)))
		fail_msg("accepted: %s", text);
	assert_string_equal(err, want);
	assert_int_equal(ring.n, 1);
	assert_string_equal(ring.keys[0].id, "keep");
	seal_keyring_free(&ring);
}

static void
test_parse_errors(void **state)
{
	expect_parse_error("# c\nk1 " HEX1 "\nk2 "
	    "0g0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	    "keys:3: key of 'k2' is not hexadecimal");
	expect_parse_error("k1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n",
	    "keys:1: key of 'k1' has 62 hex digits, want 64 (32 bytes)");
	expect_parse_error("\n\nk1 " HEX1 "00\n",
	    "keys:3: key of 'k1' has 66 hex digits, want 64 (32 bytes)");
	expect_parse_error("k/1 " HEX1 "\n",
	    "keys:1: bad key id (1 to 32 characters of A-Z a-z 0-9 _ . -)");
	expect_parse_error("k1 " HEX1 "\n"
	    "012345678901234567890123456789012 " HEX2 "\n",
	    "keys:2: bad key id (1 to 32 characters of A-Z a-z 0-9 _ . -)");
	expect_parse_error("caf\xc3\xa9 " HEX1 "\n",
	    "keys:1: bad key id (1 to 32 characters of A-Z a-z 0-9 _ . -)");
	expect_parse_error("k1 " HEX1 "\n# c\n\nk2 " HEX2 "\nk1 " HEX3 "\n",
	    "keys:5: duplicate key id 'k1' (first on line 1)");
	expect_parse_error("", "keys: no key");
	expect_parse_error("# nothing here\n\n   \n", "keys: no key");
	expect_parse_error("k1\n", "keys:1: missing key after id 'k1'");
	expect_parse_error("k1 " HEX1 " # inline\n",
	    "keys:1: unexpected text after the key of 'k1'");
	expect_parse_error("k1=" HEX1 "\n",
	    "keys:1: bad key id (1 to 32 characters of A-Z a-z 0-9 _ . -)");
}

/* Writes TEXT to a fresh temporary file with MODE; returns its path (static). */
static const char *
temp_key_file(const char *text, mode_t mode)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/certflow-seal-XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

static void
test_load_checks_permissions(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	char err[512], want[512];
	const char *path;

	path = temp_key_file("k1 " HEX1 "\n", 0644);
	assert_false(seal_keyring_load(path, &ring, err, sizeof(err)));
	snprintf(want, sizeof(want),
	    "%s: must not be readable by others (chmod 600)", path);
	assert_string_equal(err, want);
	assert_null(ring.keys);
	assert_int_equal(chmod(path, 0640), 0);
	assert_false(seal_keyring_load(path, &ring, err, sizeof(err)));
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0600), 0);
	if (!seal_keyring_load(path, &ring, err, sizeof(err)))
		fail_msg("load failed: %s", err);
	assert_int_equal(ring.n, 1);
	assert_string_equal(ring.keys[0].id, "k1");
	assert_int_equal(unlink(path), 0);
	/* Errors in the file carry its path and line. */
	path = temp_key_file("k1 " HEX1 "\nk1 " HEX2 "\n", 0600);
	assert_false(seal_keyring_load(path, &ring, err, sizeof(err)));
	snprintf(want, sizeof(want),
	    "%s:2: duplicate key id 'k1' (first on line 1)", path);
	assert_string_equal(err, want);
	assert_int_equal(ring.n, 1);
	assert_int_equal(unlink(path), 0);
	/* A missing file names the path and errno. */
	assert_false(seal_keyring_load(path, &ring, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_false(seal_keyring_load("/tmp", &ring, err, sizeof(err)));
	seal_keyring_free(&ring);
}

static void
test_empty_ring_refuses(void **state)
{
	struct seal_keyring ring = { NULL, 0 };
	size_t n;

	assert_null(seal_encrypt(&ring, AAD, (const unsigned char *)"x", 1));
	assert_null(seal_encrypt(NULL, AAD, (const unsigned char *)"x", 1));
	assert_null(seal_decrypt(&ring, AAD, "v1.k1." PAY38, &n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_text_form),
		cmocka_unit_test(test_same_text_seals_differently),
		cmocka_unit_test(test_tampering_fails),
		cmocka_unit_test(test_wrong_aad_fails),
		cmocka_unit_test(test_unknown_key_fails),
		cmocka_unit_test(test_truncated_fails),
		cmocka_unit_test(test_key_id_malformed),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load_checks_permissions),
		cmocka_unit_test(test_empty_ring_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
