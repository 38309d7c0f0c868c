/*
 * auditchain.h - the tamper-evident audit chain: the canonical bytes of an
 * audit_log row, the SHA-256 link that chains it to the rows sealed before
 * it, and the message an Ed25519 signature of a chain head covers. The SQL
 * sealer (sql/0007_audit_chain.sql, api.audit_row_bytes) computes the same
 * bytes; "certflow audit verify" recomputes the chain with this file and
 * never trusts a hash the database computed. Pure: no database, no keys.
 *
 * Canonical row bytes (format 1): the eight fields id, at, actor_id,
 * action, entity_type, entity_id, details, request_id, in that order, each
 *   0x00                          when SQL NULL
 *   0x01 || LEN || VALUE          otherwise, LEN = 4-byte big-endian length of VALUE
 * where VALUE is, for the bigint fields, the 8-byte big-endian two's
 * complement; for at, the 8-byte big-endian signed count of microseconds
 * since 2000-01-01T00:00:00Z (PostgreSQL's binary timestamptz, infinity
 * being INT64_MAX); for the text fields, their UTF-8 bytes; for details,
 * the UTF-8 bytes of PostgreSQL's text form of the jsonb (details::text).
 *
 * Chain: hash(1) = SHA-256(32 zero bytes || row(1)), hash(n) =
 * SHA-256(hash(n-1) || row(n)), n being the row's seal_seq.
 * Head message: "certflow-audit-head:" || seq (8 bytes big-endian) || hash.
 */
#ifndef CERTFLOW_AUDITCHAIN_H
#define CERTFLOW_AUDITCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDITCHAIN_HASH_LEN	32
#define AUDITCHAIN_HEAD_TAG	"certflow-audit-head:"
#define AUDITCHAIN_HEAD_MSG_LEN	(sizeof(AUDITCHAIN_HEAD_TAG) - 1 + 8 + AUDITCHAIN_HASH_LEN)

/* A text field: LEN bytes at S (not NUL-terminated); S NULL is SQL NULL. */
struct auditchain_text {
	const char *s;
	size_t len;
};

/* One audit_log row, as PostgreSQL's binary result format gives it. */
struct auditchain_row {
	int64_t id;
	int64_t at;			/* microseconds since 2000-01-01T00:00:00Z */
	bool has_actor;
	int64_t actor_id;
	struct auditchain_text action;
	struct auditchain_text entity_type;
	bool has_entity;
	int64_t entity_id;
	struct auditchain_text details;	/* the jsonb's text form */
	struct auditchain_text request_id;
};

/* The hash before the first row: 32 zero bytes. */
extern const unsigned char auditchain_genesis[AUDITCHAIN_HASH_LEN];

/*
 * The canonical bytes of ROW into *OUT (malloc'ed, the caller frees) and
 * their count into *LEN. False when out of memory or when a non-NULL text
 * field is longer than 4-byte lengths allow.
 */
bool auditchain_row_bytes(const struct auditchain_row *row, unsigned char **out,
    size_t *len) __attribute__((warn_unused_result));

/*
 * OUT = SHA-256(PREV || the N bytes of ROW). False only if OpenSSL cannot
 * hash (OUT is then zeroed, which no chain matches).
 */
bool auditchain_link(const unsigned char prev[AUDITCHAIN_HASH_LEN],
    const unsigned char *row, size_t n, unsigned char out[AUDITCHAIN_HASH_LEN])
	__attribute__((warn_unused_result));

/* The message that a head's signature covers. */
void auditchain_head_message(int64_t seq, const unsigned char hash[AUDITCHAIN_HASH_LEN],
    unsigned char out[AUDITCHAIN_HEAD_MSG_LEN]);

/* Reads exactly 2 * N hex digits (either case) of HEX into OUT; false otherwise. */
bool auditchain_hex_decode(const char *hex, unsigned char *out, size_t n)
	__attribute__((warn_unused_result));

#endif
