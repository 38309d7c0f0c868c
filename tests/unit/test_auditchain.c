/*
 * test_auditchain.c - unit tests for lib/auditchain.c: the canonical bytes
 * of two fixed rows (every field present; NULLs, a negative timestamp and
 * UTF-8), their chain hashes and the head message, against vectors computed
 * both by an independent Python implementation of auditchain.h and by
 * PostgreSQL's api.audit_row_bytes and sha256() (sql/0007_audit_chain.sql);
 * every field changes the bytes, NULL differs from empty, and hex decoding
 * refuses near misses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "certflow/auditchain.h"
#include "certflow/token.h"

#define TEXT(s) { (s), sizeof(s) - 1 }

/* 2024-05-01T12:34:56.789012Z, user 7 created user 43. */
static const struct auditchain_row row_a = {
	.id = 42, .at = INT64_C(767882096789012), .has_actor = true, .actor_id = 7,
	.action = TEXT("user.create"), .entity_type = TEXT("user"),
	.has_entity = true, .entity_id = 43,
	.details = TEXT("{\"email\": \"ada@example.org\", \"roles\": [\"admin\"]}"),
	.request_id = TEXT("req-1"),
};

/* 1999-12-31T23:59:59.999999Z, no actor, no entity id, no request id. */
static const struct auditchain_row row_b = {
	.id = 40, .at = -1, .has_actor = false,
	.action = TEXT("credential.issue"), .entity_type = TEXT("enrollment"),
	.has_entity = false,
	.details = TEXT("{\"name\": \"Zo\xc3\xa9\"}"),
	.request_id = { NULL, 0 },
};

#define ROW_A_HEX \
	"0100000008000000000000002a01000000080002ba627b9bc6140100000008000000" \
	"0000000007010000000b757365722e637265617465010000000475736572010000" \
	"0008000000000000002b01000000307b22656d61696c223a2022616461406578616d" \
	"706c652e6f7267222c2022726f6c6573223a205b2261646d696e225d7d0100000005" \
	"7265712d31"
#define ROW_B_HEX \
	"010000000800000000000000280100000008ffffffffffffffff0001000000106372" \
	"6564656e7469616c2e6973737565010000000a656e726f6c6c6d656e740001000000" \
	"107b226e616d65223a20225a6fc3a9227d00"
#define HASH_1 "89cc052ece049d67083555eba742e7c37e988569b1f9b78b800e536e6938193c"
#define HASH_2 "e223758bba635d26c0149683bbdf78f6d2ef57a49edef203e65e5cdd18756103"
#define HEAD_2_MSG \
	"63657274666c6f772d61756469742d686561643a0000000000000002" HASH_2

static char *
hex_of(const unsigned char *b, size_t n)
{
	char *s = malloc(2 * n + 1);

	assert_non_null(s);
	hex_encode(b, n, s);
	return s;
}

static void
assert_row_hex(const struct auditchain_row *row, const char *want)
{
	unsigned char *bytes = NULL;
	size_t len = 0;
	char *hex;

	assert_true(auditchain_row_bytes(row, &bytes, &len));
	hex = hex_of(bytes, len);
	assert_string_equal(hex, want);
	free(hex);
	free(bytes);
}

static void
test_row_bytes_fixed_vectors(void **state)
{
	assert_row_hex(&row_a, ROW_A_HEX);
	assert_row_hex(&row_b, ROW_B_HEX);
}

static void
test_chain_and_head_fixed_vector(void **state)
{
	unsigned char *a = NULL, *b = NULL, h1[AUDITCHAIN_HASH_LEN], h2[AUDITCHAIN_HASH_LEN];
	unsigned char msg[AUDITCHAIN_HEAD_MSG_LEN];
	size_t alen = 0, blen = 0;
	char *hex;

	assert_true(auditchain_row_bytes(&row_a, &a, &alen));
	assert_true(auditchain_row_bytes(&row_b, &b, &blen));
	assert_true(auditchain_link(auditchain_genesis, a, alen, h1));
	assert_true(auditchain_link(h1, b, blen, h2));
	hex = hex_of(h1, sizeof(h1));
	assert_string_equal(hex, HASH_1);
	free(hex);
	hex = hex_of(h2, sizeof(h2));
	assert_string_equal(hex, HASH_2);
	free(hex);
	assert_int_equal(AUDITCHAIN_HEAD_MSG_LEN, 60);
	auditchain_head_message(2, h2, msg);
	hex = hex_of(msg, sizeof(msg));
	assert_string_equal(hex, HEAD_2_MSG);
	free(hex);
	free(a);
	free(b);
}

static void
test_genesis_is_zero(void **state)
{
	static const unsigned char zero[AUDITCHAIN_HASH_LEN];

	assert_memory_equal(auditchain_genesis, zero, sizeof(zero));
}

/* Hash of ROW linked to the genesis. */
static void
hash_of(const struct auditchain_row *row, unsigned char out[AUDITCHAIN_HASH_LEN])
{
	unsigned char *bytes = NULL;
	size_t len = 0;

	assert_true(auditchain_row_bytes(row, &bytes, &len));
	assert_true(auditchain_link(auditchain_genesis, bytes, len, out));
	free(bytes);
}

static void
test_every_field_changes_the_hash(void **state)
{
	unsigned char base[AUDITCHAIN_HASH_LEN], got[AUDITCHAIN_HASH_LEN];
	struct auditchain_row r;

	hash_of(&row_a, base);
#define CHANGED(stmt) do { r = row_a; stmt; hash_of(&r, got); \
	assert_memory_not_equal(base, got, sizeof(got)); } while (0)
	CHANGED(r.id = 41);
	CHANGED(r.at += 1);
	CHANGED(r.has_actor = false);
	CHANGED(r.actor_id = 8);
	CHANGED(r.action.len--);
	CHANGED(r.entity_type.s = "users"; r.entity_type.len = 5);
	CHANGED(r.has_entity = false);
	CHANGED(r.entity_id = 44);
	CHANGED(r.details.len--);
	CHANGED(r.request_id.s = NULL);
	/* a byte moved from one field to the next must not hash the same */
	CHANGED(r.action.s = "user.creat"; r.action.len = 10; r.entity_type.s = "euser";
	    r.entity_type.len = 5);
#undef CHANGED
}

static void
test_null_differs_from_empty(void **state)
{
	struct auditchain_row r = row_b;
	unsigned char *bytes = NULL, null_hash[AUDITCHAIN_HASH_LEN], empty_hash[AUDITCHAIN_HASH_LEN];
	size_t len = 0;

	hash_of(&r, null_hash);
	r.request_id.s = "";
	r.request_id.len = 0;
	hash_of(&r, empty_hash);
	assert_memory_not_equal(null_hash, empty_hash, sizeof(null_hash));
	assert_true(auditchain_row_bytes(&r, &bytes, &len));
	/* the last field: tag 1, length 0, no bytes */
	assert_memory_equal(bytes + len - 5, "\x01\x00\x00\x00\x00", 5);
	free(bytes);
}

static void
test_hex_decode(void **state)
{
	unsigned char out[AUDITCHAIN_HASH_LEN], want[AUDITCHAIN_HASH_LEN];
	char upper[] = HASH_1;

	assert_true(auditchain_hex_decode(HASH_1, out, sizeof(out)));
	for (size_t i = 0; i < sizeof(upper); i++)
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	assert_true(auditchain_hex_decode(upper, want, sizeof(want)));
	assert_memory_equal(out, want, sizeof(out));
	assert_int_equal(out[0], 0x89);
	assert_int_equal(out[31], 0x3c);
	assert_false(auditchain_hex_decode(NULL, out, sizeof(out)));
	assert_false(auditchain_hex_decode("", out, sizeof(out)));
	assert_false(auditchain_hex_decode(HASH_1 "00", out, sizeof(out)));
	assert_false(auditchain_hex_decode("89cc", out, sizeof(out)));
	upper[5] = 'g';
	assert_false(auditchain_hex_decode(upper, out, sizeof(out)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_bytes_fixed_vectors),
		cmocka_unit_test(test_chain_and_head_fixed_vector),
		cmocka_unit_test(test_genesis_is_zero),
		cmocka_unit_test(test_every_field_changes_the_hash),
		cmocka_unit_test(test_null_differs_from_empty),
		cmocka_unit_test(test_hex_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
