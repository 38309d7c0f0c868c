/*
 * token.c - API bearer tokens: generation, shape check, digest, header parsing.
 * A token's text exists only in the caller's buffers; this file stores nothing,
 * wipes the raw random bytes after use and never logs. Digests are never
 * compared here: PostgreSQL finds a token's row by its digest (docs/SECURITY.md).
 */
#include "certflow/token.h"
#include "certflow/base64url.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PREFIX_LEN (sizeof(TOKEN_PREFIX) - 1)

_Static_assert(TOKEN_TEXT_LEN == PREFIX_LEN + (TOKEN_RANDOM_BYTES * 4 + 2) / 3,
    "TOKEN_TEXT_LEN must match the unpadded base64url length");

bool
token_generate(char out[TOKEN_TEXT_LEN + 1])
{
	unsigned char raw[TOKEN_RANDOM_BYTES];
	size_t n;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return false;
	}
	memcpy(out, TOKEN_PREFIX, PREFIX_LEN);
	n = base64url_encode(raw, sizeof(raw), out + PREFIX_LEN);
	out[PREFIX_LEN + n] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return true;
}

bool
token_well_formed(const char *s, size_t len)
{
	size_t rawlen = 0;

	if (s == NULL || len != TOKEN_TEXT_LEN ||
	    memcmp(s, TOKEN_PREFIX, PREFIX_LEN) != 0)
		return false;
	/* 43 chars carry 258 bits: the last 2 must be zero (canonical form). */
	return base64url_check(s + PREFIX_LEN, len - PREFIX_LEN, &rawlen) &&
	    rawlen == TOKEN_RANDOM_BYTES;
}

bool
token_digest(const char *s, size_t len, unsigned char out[TOKEN_DIGEST_LEN])
{
	unsigned int outlen = 0;

	if (!token_well_formed(s, len))
		return false;
	if (EVP_Digest(s, len, out, &outlen, EVP_sha256(), NULL) != 1)
		return false;
	return outlen == TOKEN_DIGEST_LEN;
}

/* RFC 7235 token68: [A-Za-z0-9-._~+/]+ then any '='. */
static bool
token68_ok(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (base64url_valid_char(s[i]) || s[i] == '.' ||
	    s[i] == '~' || s[i] == '+' || s[i] == '/'))
		i++;
	if (i == 0)
		return false;
	while (i < len && s[i] == '=')
		i++;
	return i == len;
}

bool
token_from_bearer(const char *value, const char **tok, size_t *len)
{
	static const char scheme[] = "Bearer";
	size_t n = sizeof(scheme) - 1, i;

	if (value == NULL || strncasecmp(value, scheme, n) != 0 ||
	    value[n] != ' ')
		return false;
	for (i = n; value[i] == ' '; i++)
		;
	if (!token68_ok(value + i, strlen(value + i)))
		return false;
	*tok = value + i;
	*len = strlen(value + i);
	return true;
}

void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
