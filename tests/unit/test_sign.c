/*
 * test_sign.c - unit tests for lib/sign.c: the RFC 8032 section 7.1 vectors
 * (public key and signature byte for byte, any flipped bit refused), the
 * W3C vc-di-eddsa eddsa-jcs-2022 vector end to end, key file parsing and its
 * errors, the permission checks of key files, and generated key lines.
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

#include "certflow/multibase.h"
#include "certflow/sign.h"

/* RFC 8032 section 7.1: TEST 1, TEST 2 and TEST 3 (secret key = seed). */
static const struct {
	const char *seed, *pub, *msg, *sig;
} rfc8032[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	  "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	  "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};
#define SEED1 "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define SEED2 "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
#define PUB1 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define PUB3 "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"

/*
 * W3C vc-di-eddsa TestVectors (commit 369f0f00): keyPair.json (the seed is
 * privateKeyMultibase without its 0x80 0x26 prefix), eddsa-jcs-2022/
 * signedJCS.json's document and proof options in JCS form, and its
 * proofValue (= sigHexJCS.txt). Checked with /usr/bin/python3 (hashlib and
 * cryptography) before being written here.
 */
#define W3C_SEED "c96ef9ea10c5e414c471723aff9de72c35fa5b70fae97e8832ecac7d2e2b8ed6"
#define W3C_MULTIKEY "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
#define W3C_DOC "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"," \
	"\"https://www.w3.org/ns/credentials/examples/v2\"],\"credentialSubject\":" \
	"{\"alumniOf\":\"The School of Examples\",\"id\":\"did:example:abcdefgh\"}," \
	"\"description\":\"A minimum viable example of an Alumni Credential.\"," \
	"\"id\":\"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33\",\"issuer\":" \
	"\"https://vc.example/issuers/5678\",\"name\":\"Alumni Credential\",\"type\":" \
	"[\"VerifiableCredential\",\"AlumniCredential\"],\"validFrom\":" \
	"\"2023-01-01T00:00:00Z\"}"
#define W3C_PROOF_OPTIONS "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"," \
	"\"https://www.w3.org/ns/credentials/examples/v2\"],\"created\":" \
	"\"2023-02-24T23:36:38Z\",\"cryptosuite\":\"eddsa-jcs-2022\",\"proofPurpose\":" \
	"\"assertionMethod\",\"type\":\"DataIntegrityProof\",\"verificationMethod\":" \
	"\"https://vc.example/issuers/5678#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2\"}"
#define W3C_HASH_DATA \
	"ac75a9fbdb9b5606c064a88bb59ab355900074f6def99d16a82dd071a7a67066" \
	"59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
#define W3C_PROOF_VALUE "z63t83Y53KfzJ5ZosfKTnqfMcKB2dmTrfjSaQjeNNjAD5srBowQf" \
	"mWqeRb8rRjmeEuCBEsddF9LsVogtuTsijJKh4"

static void
unhex(const char *hex, unsigned char *out, size_t n)
{
	assert_int_equal(strlen(hex), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

/* Parses TEXT (named "keys") into RING, failing the test with the error. */
static void
parse_ok(const char *text, struct sign_keyring *ring)
{
	char err[512];

	if (!sign_keyring_parse(text, "keys", ring, err, sizeof(err)))
		fail_msg("parse failed: %s", err);
	assert_string_equal(err, "");
}

static void
test_rfc8032_vectors(void **state)
{
	for (size_t v = 0; v < sizeof(rfc8032) / sizeof(rfc8032[0]); v++) {
		struct sign_keyring ring = { NULL, 0 };
		unsigned char pub[32], want[64], sig[64], msg[2], longer[3];
		size_t n = strlen(rfc8032[v].msg) / 2;
		char line[128];

		unhex(rfc8032[v].pub, pub, 32);
		unhex(rfc8032[v].sig, want, 64);
		unhex(rfc8032[v].msg, msg, n);
		snprintf(line, sizeof(line), "test%zu %s\n", v + 1, rfc8032[v].seed);
		parse_ok(line, &ring);
		assert_int_equal(ring.n, 1);
		assert_true(ring.keys[0].has_private);
		assert_memory_equal(ring.keys[0].pub, pub, 32);
		assert_true(sign_ed25519(&ring.keys[0], n > 0 ? msg : NULL, n, sig));
		assert_memory_equal(sig, want, 64);
		assert_true(sign_verify_ed25519(pub, msg, n, sig));
		if (n == 0)
			assert_true(sign_verify_ed25519(pub, NULL, 0, sig));
		/* Any single flipped bit of the message or signature is refused. */
		for (size_t bit = 0; bit < 8 * n; bit++) {
			msg[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			assert_false(sign_verify_ed25519(pub, msg, n, sig));
			msg[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		}
		for (size_t bit = 0; bit < 8 * 64; bit++) {
			sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			assert_false(sign_verify_ed25519(pub, msg, n, sig));
			sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		}
		/* A longer message, and another key, are refused too. */
		memcpy(longer, msg, n);
		longer[n] = 0;
		assert_false(sign_verify_ed25519(pub, longer, n + 1, sig));
		pub[0] ^= 1;
		assert_false(sign_verify_ed25519(pub, msg, n, sig));
		pub[0] ^= 1;
		assert_true(sign_verify_ed25519(pub, msg, n, sig));
		sign_keyring_free(&ring);
		assert_null(ring.keys);
		assert_int_equal(ring.n, 0);
	}
}

static void
test_w3c_eddsa_jcs_2022_vector(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	unsigned char hash[SIGN_HASH_DATA_LEN], want[SIGN_HASH_DATA_LEN];
	unsigned char sig[SIGN_SIG_LEN], *proof = NULL;
	size_t n = 0;
	char *mk;

	parse_ok("w3c " W3C_SEED "\n", &ring);
	assert_non_null(mk = multikey_ed25519_encode(ring.keys[0].pub));
	assert_string_equal(mk, W3C_MULTIKEY);
	free(mk);
	assert_true(sign_jcs2022_hash_data(W3C_PROOF_OPTIONS,
	    strlen(W3C_PROOF_OPTIONS), W3C_DOC, strlen(W3C_DOC), hash));
	unhex(W3C_HASH_DATA, want, sizeof(want));
	assert_memory_equal(hash, want, sizeof(want));
	assert_true(sign_ed25519(sign_current(&ring), hash, sizeof(hash), sig));
	assert_true(multibase_base58btc_decode(W3C_PROOF_VALUE, &proof, &n));
	assert_int_equal(n, SIGN_SIG_LEN);
	assert_memory_equal(sig, proof, SIGN_SIG_LEN);
	assert_true(sign_verify_ed25519(ring.keys[0].pub, hash, sizeof(hash),
	    proof));
	free(proof);
	/* Swapping the two inputs gives other hash data. */
	assert_true(sign_jcs2022_hash_data(W3C_DOC, strlen(W3C_DOC),
	    W3C_PROOF_OPTIONS, strlen(W3C_PROOF_OPTIONS), hash));
	assert_memory_not_equal(hash, want, sizeof(want));
	sign_keyring_free(&ring);
}

static void
test_hash_data_of_empty_inputs(void **state)
{
	/* SHA-256 of the empty string, twice (`printf '' | sha256sum`). */
	static const char empty_sha256[] =
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
	unsigned char hash[64], want[32];

	unhex(empty_sha256, want, 32);
	assert_true(sign_jcs2022_hash_data(NULL, 0, "", 0, hash));
	assert_memory_equal(hash, want, 32);
	assert_memory_equal(hash + 32, want, 32);
	assert_false(sign_jcs2022_hash_data(NULL, 1, "", 0, hash));
	assert_false(sign_jcs2022_hash_data("{}", 2, NULL, 3, hash));
}

static void
test_keyring_current_and_retired(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	const struct sign_key *cur, *old, *retired;
	unsigned char sig[64], want[64], pub3[32], pub1[32];

	parse_ok("# certflow signing keys\n"
	    "\n"
	    "k2024\t" SEED1 "\r\n"
	    "   k2025 " SEED2 "   \n"
	    "k2023 public  " PUB3 "\n"
	    "# the last line has no newline\n"
	    "k2022 public " "00000000000000000000000000000000"
	    "00000000000000000000000000000000", &ring);
	assert_int_equal(ring.n, 4);
	/* The current key is the last private one, not the last line. */
	assert_non_null(cur = sign_current(&ring));
	assert_string_equal(cur->id, "k2025");
	assert_true(cur->has_private);
	assert_non_null(old = sign_find(&ring, "k2024"));
	assert_true(old->has_private);
	unhex(PUB1, pub1, 32);
	assert_memory_equal(old->pub, pub1, 32);
	assert_non_null(retired = sign_find(&ring, "k2023"));
	assert_false(retired->has_private);
	unhex(PUB3, pub3, 32);
	assert_memory_equal(retired->pub, pub3, 32);
	assert_null(sign_find(&ring, "k2026"));
	assert_null(sign_find(&ring, "K2025"));
	assert_null(sign_find(&ring, NULL));
	assert_null(sign_find(NULL, "k2025"));
	/* A retired key does not sign but still verifies its signatures. */
	assert_false(sign_ed25519(retired, (const unsigned char *)"x", 1, sig));
	unhex(rfc8032[2].sig, want, 64);
	assert_true(sign_verify_ed25519(retired->pub,
	    (const unsigned char *)"\xaf\x82", 2, want));
	/* The current key signs; an older private key still verifies. */
	assert_true(sign_ed25519(cur, (const unsigned char *)"\x72", 1, sig));
	unhex(rfc8032[1].sig, want, 64);
	assert_memory_equal(sig, want, 64);
	assert_true(sign_ed25519(old, NULL, 0, sig));
	assert_true(sign_verify_ed25519(old->pub, NULL, 0, sig));
	assert_false(sign_ed25519(NULL, NULL, 0, sig));
	assert_false(sign_ed25519(cur, NULL, 1, sig));
	/* A ring of retired keys only verifies. */
	parse_ok("k2023 public " PUB3 "\n", &ring);
	assert_int_equal(ring.n, 1);
	assert_null(sign_current(&ring));
	assert_null(sign_current(NULL));
	sign_keyring_free(&ring);
	sign_keyring_free(&ring);
	sign_keyring_free(NULL);
}

static void
expect_parse_error(const char *text, const char *want)
{
	struct sign_keyring ring = { NULL, 0 };
	char err[512];

	parse_ok("keep " SEED1 "\n", &ring);
	assert_false(sign_keyring_parse(text, "keys", &ring, err, sizeof(err)));
	assert_string_equal(err, want);
	/* The ring in place is left untouched. */
	assert_int_equal(ring.n, 1);
	assert_string_equal(ring.keys[0].id, "keep");
	sign_keyring_free(&ring);
}

static void
test_parse_errors(void **state)
{
	char id[200], text[400], want[300];

	expect_parse_error("k1 " SEED1 "\nk2 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f6g\n",
	    "keys:2: key of 'k2' is not hexadecimal");
	expect_parse_error("k1 public 0x" PUB1 "\n",
	    "keys:1: public key of 'k1' is not hexadecimal");
	expect_parse_error("k1 " SEED1 "0\n",
	    "keys:1: key of 'k1' has 65 hex digits, want 64 (32 bytes)");
	expect_parse_error("k1 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f\n",
	    "keys:1: key of 'k1' has 62 hex digits, want 64 (32 bytes)");
	expect_parse_error("k1 public " PUB1 PUB1 "\n",
	    "keys:1: public key of 'k1' has 128 hex digits, want 64 (32 bytes)");
	expect_parse_error("k1 " SEED1 "\n# c\nk1 public " PUB3 "\n",
	    "keys:3: duplicate key id 'k1' (first on line 1)");
	expect_parse_error("k1 " SEED1 "\nk2 public " PUB1 "\n",
	    "keys:2: key of 'k2' is the key of 'k1' (line 1) again");
	expect_parse_error("k1 " SEED2 "\nk2 " SEED2 "\n",
	    "keys:2: key of 'k2' is the key of 'k1' (line 1) again");
	expect_parse_error("k1\n", "keys:1: missing key after 'k1'");
	expect_parse_error("k1 public\n", "keys:1: missing key after 'k1 public'");
	/* Found by fuzz_keyring: the separators once reached the message. */
	expect_parse_error("k1\r public \t\n",
	    "keys:1: missing key after 'k1 public'");
	expect_parse_error("k1 " SEED1 " # inline\n",
	    "keys:1: unexpected text after the key of 'k1'");
	expect_parse_error("k1 private " SEED1 "\n",
	    "keys:1: unexpected text after the key of 'k1'");
	expect_parse_error("k1 public " PUB1 " extra\n",
	    "keys:1: unexpected text after the key of 'k1'");
	expect_parse_error("k1=" SEED1 "\n",
	    "keys:1: bad key id (1 to 128 characters of A-Z a-z 0-9 _ . -)");
	expect_parse_error("did:web:x#k1 " SEED1 "\n",
	    "keys:1: bad key id (1 to 128 characters of A-Z a-z 0-9 _ . -)");
	expect_parse_error("", "keys: no key");
	expect_parse_error("# nothing\n\n  \t\n", "keys: no key");
	/* 128 characters are a valid id, 129 are not. */
	memset(id, 'a', 128);
	id[128] = '\0';
	snprintf(text, sizeof(text), "%s %s\n", id, SEED1);
	{
		struct sign_keyring ring = { NULL, 0 };

		parse_ok(text, &ring);
		assert_string_equal(ring.keys[0].id, id);
		sign_keyring_free(&ring);
	}
	snprintf(text, sizeof(text), "%sa %s\n", id, SEED1);
	snprintf(want, sizeof(want),
	    "keys:1: bad key id (1 to 128 characters of A-Z a-z 0-9 _ . -)");
	expect_parse_error(text, want);
}

/* Writes TEXT to a fresh temporary file with MODE; returns its path (static). */
static const char *
temp_key_file(const char *text, mode_t mode)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/certflow-sign-XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

static void
test_load_checks_permissions(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	char err[512], want[512];
	const char *path;

	/* A private key in a file others can read is refused, on its line. */
	path = temp_key_file("k0 public " PUB3 "\nk1 " SEED1 "\n", 0644);
	assert_false(sign_keyring_load(path, &ring, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: private key in a file readable by "
	    "group or others (chmod 600)", path);
	assert_string_equal(err, want);
	assert_null(ring.keys);
	assert_int_equal(chmod(path, 0640), 0);
	assert_false(sign_keyring_load(path, &ring, err, sizeof(err)));
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0604), 0);
	assert_false(sign_keyring_load(path, &ring, err, sizeof(err)));
	assert_int_equal(chmod(path, 0600), 0);
	if (!sign_keyring_load(path, &ring, err, sizeof(err)))
		fail_msg("load failed: %s", err);
	assert_string_equal(err, "");
	assert_int_equal(ring.n, 2);
	assert_string_equal(sign_current(&ring)->id, "k1");
	assert_int_equal(unlink(path), 0);
	/* Public keys alone may be world-readable, never writable by others. */
	path = temp_key_file("k0 public " PUB3 "\n", 0644);
	if (!sign_keyring_load(path, &ring, err, sizeof(err)))
		fail_msg("load failed: %s", err);
	assert_int_equal(ring.n, 1);
	assert_null(sign_current(&ring));
	assert_int_equal(chmod(path, 0664), 0);
	assert_false(sign_keyring_load(path, &ring, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: must not be writable by group or "
	    "others (chmod go-w)", path);
	assert_string_equal(err, want);
	assert_int_equal(ring.n, 1);
	assert_int_equal(unlink(path), 0);
	/* Errors in the file carry its path and line. */
	path = temp_key_file("k1 " SEED1 "\nk1 " SEED2 "\n", 0600);
	assert_false(sign_keyring_load(path, &ring, err, sizeof(err)));
	snprintf(want, sizeof(want),
	    "%s:2: duplicate key id 'k1' (first on line 1)", path);
	assert_string_equal(err, want);
	assert_int_equal(unlink(path), 0);
	/* A missing file names the path and errno; a directory is refused. */
	assert_false(sign_keyring_load(path, &ring, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_false(sign_keyring_load("/tmp", &ring, err, sizeof(err)));
	assert_string_equal(err, "/tmp: not a regular file");
	assert_int_equal(ring.n, 1);
	sign_keyring_free(&ring);
}

static void
test_generate_line(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	unsigned char sig[64];
	char *a, *b, *text;
	size_t la, lb;

	assert_non_null(a = sign_generate_line("diploma-2026"));
	assert_non_null(b = sign_generate_line("diploma-2027"));
	la = strlen(a);
	lb = strlen(b);
	assert_int_equal(la, strlen("diploma-2026") + 1 + 64 + 1);
	assert_memory_equal(a, "diploma-2026 ", 13);
	assert_int_equal(a[la - 1], '\n');
	assert_int_equal(strspn(a + 13, "0123456789abcdef"), 64);
	assert_memory_not_equal(a + 13, b + 13, 64);
	/* Appended to a key file, the new line parses and becomes current. */
	assert_non_null(text = malloc(la + lb + 1));
	memcpy(text, a, la);
	memcpy(text + la, b, lb + 1);
	parse_ok(text, &ring);
	assert_int_equal(ring.n, 2);
	assert_string_equal(sign_current(&ring)->id, "diploma-2027");
	assert_true(sign_ed25519(sign_current(&ring),
	    (const unsigned char *)"diploma", 7, sig));
	assert_true(sign_verify_ed25519(sign_find(&ring, "diploma-2027")->pub,
	    (const unsigned char *)"diploma", 7, sig));
	assert_false(sign_verify_ed25519(sign_find(&ring, "diploma-2026")->pub,
	    (const unsigned char *)"diploma", 7, sig));
	sign_keyring_free(&ring);
	free(text);
	free(a);
	free(b);
	/* Only valid ids. */
	assert_null(sign_generate_line(""));
	assert_null(sign_generate_line("a b"));
	assert_null(sign_generate_line("k#1"));
	assert_null(sign_generate_line(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032_vectors),
		cmocka_unit_test(test_w3c_eddsa_jcs_2022_vector),
		cmocka_unit_test(test_hash_data_of_empty_inputs),
		cmocka_unit_test(test_keyring_current_and_retired),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load_checks_permissions),
		cmocka_unit_test(test_generate_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
