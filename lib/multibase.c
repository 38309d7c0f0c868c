/*
 * multibase.c - base58-btc with the multibase 'z' prefix, and Multikey for
 * Ed25519 public keys. Pure functions: they allocate only their results and
 * never log. Only public keys and signatures pass through here, so nothing
 * is wiped.
 */
#include "certflow/multibase.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* The multicodec varint of ed25519-pub (0xed), as Multikey prefixes it. */
static const unsigned char ed25519_pub_prefix[2] = { 0xed, 0x01 };

/* The base58 value of C, or -1 (0, O, I and l are not in the alphabet). */
static int
value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(alphabet, c)) == NULL)
		return -1;
	return (int)(p - alphabet);
}

char *
multibase_base58btc_encode(const unsigned char *in, size_t n)
{
	unsigned char *digits = NULL;	/* base58 digits, most significant first */
	char *out = NULL;
	size_t zeros = 0, cap, len = 0, start, i;

	if (in == NULL && n > 0)
		return NULL;
	/* log(256) / log(58) < 1.37: CAP digits always hold N bytes. */
	if (n > (SIZE_MAX - 2) / 138)
		return NULL;
	cap = n * 138 / 100 + 1;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	if ((digits = calloc(cap, 1)) == NULL)
		goto fail;
	/* Schoolbook: DIGITS (its last LEN) = DIGITS * 256 + byte. */
	for (i = zeros; i < n; i++) {
		unsigned carry = in[i];
		size_t j, used = 0;

		for (j = cap; j-- > 0 && (carry != 0 || used < len); used++) {
			carry += 256u * digits[j];
			digits[j] = (unsigned char)(carry % 58);
			carry /= 58;
		}
		len = used;
	}
	start = cap - len;
	if ((out = malloc(1 + zeros + len + 1)) == NULL)
		goto fail;
	out[0] = 'z';
	memset(out + 1, '1', zeros);
	for (i = 0; i < len; i++)
		out[1 + zeros + i] = alphabet[digits[start + i]];
	out[1 + zeros + len] = '\0';
	free(digits);
	return out;
fail:
	free(digits);
	free(out);
	return NULL;
}

bool
multibase_base58btc_decode(const char *text, unsigned char **out, size_t *n)
{
	unsigned char *bytes = NULL;	/* the number, big-endian, at its end */
	unsigned char *res = NULL;
	size_t tlen, ones = 0, cap, len = 0, start, i;

	if (out != NULL)
		*out = NULL;
	if (n != NULL)
		*n = 0;
	if (text == NULL || out == NULL || n == NULL || text[0] != 'z')
		return false;
	text++;
	if ((tlen = strnlen(text, MULTIBASE_DECODE_MAX + 1)) > MULTIBASE_DECODE_MAX)
		return false;
	while (ones < tlen && text[ones] == '1')
		ones++;
	/* log(58) / log(256) < 0.733. */
	cap = tlen * 733 / 1000 + 1;
	if ((bytes = calloc(cap, 1)) == NULL)
		goto fail;
	for (i = ones; i < tlen; i++) {
		int v = value(text[i]);
		unsigned carry;
		size_t j, used = 0;

		if (v < 0)
			goto fail;
		carry = (unsigned)v;
		for (j = cap; j-- > 0 && (carry != 0 || used < len); used++) {
			carry += 58u * bytes[j];
			bytes[j] = (unsigned char)(carry & 0xff);
			carry >>= 8;
		}
		len = used;
	}
	start = cap - len;
	/* +1: a zero-length result is still a pointer the caller can free. */
	if ((res = malloc(ones + len + 1)) == NULL)
		goto fail;
	memset(res, 0, ones);
	memcpy(res + ones, bytes + start, len);
	free(bytes);
	*out = res;
	*n = ones + len;
	return true;
fail:
	free(bytes);
	free(res);
	return false;
}

char *
multikey_ed25519_encode(const unsigned char pub[MULTIKEY_ED25519_PUB_LEN])
{
	unsigned char raw[sizeof(ed25519_pub_prefix) + MULTIKEY_ED25519_PUB_LEN];

	if (pub == NULL)
		return NULL;
	memcpy(raw, ed25519_pub_prefix, sizeof(ed25519_pub_prefix));
	memcpy(raw + sizeof(ed25519_pub_prefix), pub, MULTIKEY_ED25519_PUB_LEN);
	return multibase_base58btc_encode(raw, sizeof(raw));
}

bool
multikey_ed25519_decode(const char *text,
    unsigned char pub[MULTIKEY_ED25519_PUB_LEN])
{
	unsigned char *raw = NULL;
	size_t n = 0;
	bool ok;

	if (pub == NULL || !multibase_base58btc_decode(text, &raw, &n))
		return false;
	ok = n == sizeof(ed25519_pub_prefix) + MULTIKEY_ED25519_PUB_LEN &&
	    memcmp(raw, ed25519_pub_prefix, sizeof(ed25519_pub_prefix)) == 0;
	if (ok)
		memcpy(pub, raw + sizeof(ed25519_pub_prefix),
		    MULTIKEY_ED25519_PUB_LEN);
	free(raw);
	return ok;
}
