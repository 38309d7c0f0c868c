/*
 * multibase.h - multibase base58-btc ("z" + Bitcoin-alphabet base58) and the
 * Multikey text form of Ed25519 public keys (W3C Controlled Identifiers,
 * Data Integrity proofValue). Each byte string has exactly one text form:
 * leading zero bytes are '1's, the rest is the number without leading '1's.
 */
#ifndef CERTFLOW_MULTIBASE_H
#define CERTFLOW_MULTIBASE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest text (after the 'z') the decoder accepts: base58 costs O(n^2). */
#define MULTIBASE_DECODE_MAX	4096

#define MULTIKEY_ED25519_PUB_LEN	32
#define MULTIKEY_ED25519_TEXT_LEN	48	/* "z6Mk" + 44 characters */

/*
 * "z" + base58btc of the N bytes of IN (IN may be NULL when N is 0).
 * Returns the malloc'ed, NUL-terminated text (caller frees), NULL when out of
 * memory.
 */
char *multibase_base58btc_encode(const unsigned char *in, size_t n)
	__attribute__((warn_unused_result));

/*
 * Decodes a "z..." string. On success *OUT holds the malloc'ed bytes (never
 * NULL, even for zero bytes; caller frees) and *N their count. False when
 * TEXT does not start with 'z', holds a character outside the alphabet
 * (0 O I l among them), is longer than MULTIBASE_DECODE_MAX after the 'z',
 * or memory runs out; then *OUT is NULL and *N is 0.
 */
bool multibase_base58btc_decode(const char *text, unsigned char **out,
    size_t *n) __attribute__((warn_unused_result));

/*
 * The Multikey form of an Ed25519 public key: "z" + base58btc(0xed 0x01 ||
 * key), as in did:key. Malloc'ed (caller frees); NULL when out of memory.
 */
char *multikey_ed25519_encode(const unsigned char pub[MULTIKEY_ED25519_PUB_LEN])
	__attribute__((warn_unused_result));

/*
 * Reads the 32-byte key back from a Multikey text; false unless it is
 * base58btc of exactly the ed25519-pub multicodec prefix and 32 bytes.
 */
bool multikey_ed25519_decode(const char *text,
    unsigned char pub[MULTIKEY_ED25519_PUB_LEN])
	__attribute__((warn_unused_result));

#endif
