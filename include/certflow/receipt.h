/*
 * receipt.h - the anonymous reporter's only credential: 25 random decimal
 * digits (~83 bits), shown once as "12345-67890-12345-67890-12345" so it can
 * be read aloud or written on paper. The database keeps only a slow keyed
 * hash of it (PBKDF2-HMAC-SHA256, the installation secret as salt).
 */
#ifndef CERTFLOW_RECEIPT_H
#define CERTFLOW_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>

#define RECEIPT_DIGITS		25	/* ~83 bits of entropy, >= 80 required */
#define RECEIPT_GROUP		5	/* digits per group in the text form */
#define RECEIPT_TEXT_LEN	29	/* "12345-67890-12345-67890-12345" */
#define RECEIPT_HASH_LEN	32

/*
 * Writes a fresh receipt (NUL-terminated), uniform over the 10^25 values,
 * from RAND_bytes; false if the CSPRNG fails.
 */
bool receipt_generate(char out[RECEIPT_TEXT_LEN + 1])
	__attribute__((warn_unused_result));

/*
 * Normalises what a person typed: keeps the digits, drops spaces, tabs, '-'
 * and '.'. False (OUT set to "") if any other character appears or there are
 * not exactly 25 digits; otherwise OUT gets the 25 digits, NUL-terminated.
 */
bool receipt_normalize(const char *in, char out[RECEIPT_DIGITS + 1])
	__attribute__((warn_unused_result));

/*
 * The hash stored in the database: PBKDF2-HMAC-SHA256 of the 25 normalised
 * DIGITS, salted with the installation SECRET (SECRET_LEN > 0 bytes), over
 * ITERATIONS (> 0) rounds. Deterministic, so a receipt is found by its hash.
 * False if DIGITS is not exactly 25 digits or OpenSSL fails.
 */
bool receipt_hash(const char digits[RECEIPT_DIGITS + 1],
    const unsigned char *secret, size_t secret_len, int iterations,
    unsigned char out[RECEIPT_HASH_LEN]) __attribute__((warn_unused_result));

#endif
