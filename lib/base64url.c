/*
 * base64url.c - unpadded, canonical base64url for sealed texts and API tokens.
 * Works only on the caller's buffers; never allocates and never logs, since
 * what it encodes may be key material or a token.
 */
#include "certflow/base64url.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of a base64url character, or -1. */
static int
value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t
base64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
base64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 3 <= n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 |
		    (unsigned long)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[in[i] >> 2];
		out[o++] = alphabet[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		unsigned long v = (unsigned long)in[i] << 8 | in[i + 1];

		out[o++] = alphabet[(v >> 10) & 63];
		out[o++] = alphabet[(v >> 4) & 63];
		out[o++] = alphabet[(v << 2) & 63];
	}
	return o;
}

bool
base64url_valid_char(char c)
{
	return value(c) >= 0;
}

/*
 * A last character with stray low bits would decode to the same bytes as the
 * canonical one; refusing it keeps one text form per value (sealed texts and
 * tokens are compared and hashed as text).
 */
bool
base64url_check(const char *s, size_t len, size_t *outlen)
{
	int v = 0;

	if (len % 4 == 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((v = value(s[i])) < 0)
			return false;
	if ((len % 4 == 2 && (v & 15) != 0) || (len % 4 == 3 && (v & 3) != 0))
		return false;
	*outlen = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	return true;
}

void
base64url_decode(const char *s, size_t len, unsigned char *out)
{
	unsigned long acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 6 | (unsigned long)value(s[i])) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
}
