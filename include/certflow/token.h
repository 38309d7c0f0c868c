/*
 * token.h - API bearer tokens: 256 random bits, shown once, stored as SHA-256.
 * Text form: "cf_" followed by the 32 bytes in unpadded base64url (43 chars).
 * Only the digest ever reaches the database or a log.
 */
#ifndef CERTFLOW_TOKEN_H
#define CERTFLOW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_PREFIX		"cf_"
#define TOKEN_RANDOM_BYTES	32
#define TOKEN_TEXT_LEN		(3 + 43)
#define TOKEN_DIGEST_LEN	32
#define TOKEN_DIGEST_HEX_LEN	(2 * TOKEN_DIGEST_LEN)

/* Writes a fresh token (NUL-terminated) from RAND_bytes; false if the CSPRNG fails. */
bool token_generate(char out[TOKEN_TEXT_LEN + 1]) __attribute__((warn_unused_result));

/* True when S (LEN bytes, not necessarily NUL-terminated) has the token's exact shape. */
bool token_well_formed(const char *s, size_t len);

/* SHA-256 of the token text; false when the token is not well formed. */
bool token_digest(const char *s, size_t len, unsigned char out[TOKEN_DIGEST_LEN])
	__attribute__((warn_unused_result));

/*
 * Extracts the token from an Authorization header value "Bearer <token>"
 * (scheme case-insensitive, one or more spaces). Returns false when absent
 * or malformed; *tok points into VALUE.
 */
bool token_from_bearer(const char *value, const char **tok, size_t *len);

/* Lower-case hex of N bytes into OUT (2N+1 bytes, NUL-terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);

#endif
