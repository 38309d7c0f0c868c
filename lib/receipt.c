/*
 * receipt.c - generating, normalising and hashing reporters' receipts.
 * A receipt's digits exist only in the caller's buffers: this file stores
 * nothing, wipes its own copies and random bytes after use, and never logs.
 */
#include "certflow/receipt.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

_Static_assert(RECEIPT_DIGITS % RECEIPT_GROUP == 0,
    "the receipt splits into whole groups");
_Static_assert(RECEIPT_TEXT_LEN ==
    RECEIPT_DIGITS + RECEIPT_DIGITS / RECEIPT_GROUP - 1,
    "RECEIPT_TEXT_LEN must match the grouped form");

bool
receipt_generate(char out[RECEIPT_TEXT_LEN + 1])
{
	unsigned char pool[32];
	size_t used = sizeof(pool), o = 0;
	int d = 0;

	while (d < RECEIPT_DIGITS) {
		unsigned char b;

		if (used == sizeof(pool)) {
			if (RAND_bytes(pool, sizeof(pool)) != 1)
				goto fail;
			used = 0;
		}
		b = pool[used++];
		/* 250 = 25 * 10: rejecting 250..255 leaves no modulo bias. */
		if (b >= 250)
			continue;
		if (d > 0 && d % RECEIPT_GROUP == 0)
			out[o++] = '-';
		out[o++] = (char)('0' + b % 10);
		d++;
	}
	out[o] = '\0';
	OPENSSL_cleanse(pool, sizeof(pool));
	return true;
fail:
	OPENSSL_cleanse(pool, sizeof(pool));
	OPENSSL_cleanse(out, RECEIPT_TEXT_LEN + 1);
	out[0] = '\0';
	return false;
}

bool
receipt_normalize(const char *in, char out[RECEIPT_DIGITS + 1])
{
	char buf[RECEIPT_DIGITS + 1];
	size_t n = 0;
	bool ok = false;

	if (in == NULL)
		goto done;
	for (const char *s = in; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9') {
			if (n == RECEIPT_DIGITS)
				goto done;
			buf[n++] = *s;
		} else if (*s != ' ' && *s != '\t' && *s != '-' && *s != '.')
			goto done;
	}
	if (n != RECEIPT_DIGITS)
		goto done;
	buf[n] = '\0';
	memcpy(out, buf, sizeof(buf));
	ok = true;
done:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!ok)
		out[0] = '\0';
	return ok;
}

bool
receipt_hash(const char digits[RECEIPT_DIGITS + 1],
    const unsigned char *secret, size_t secret_len, int iterations,
    unsigned char out[RECEIPT_HASH_LEN])
{
	if (digits == NULL || secret == NULL || secret_len == 0 ||
	    secret_len > INT_MAX || iterations < 1)
		return false;
	for (size_t i = 0; i < RECEIPT_DIGITS; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return false;
	if (digits[RECEIPT_DIGITS] != '\0')
		return false;
	return PKCS5_PBKDF2_HMAC(digits, RECEIPT_DIGITS, secret,
	    (int)secret_len, iterations, EVP_sha256(), RECEIPT_HASH_LEN,
	    out) == 1;
}
