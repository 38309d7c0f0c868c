/*
 * fuzz_base64url.c - lib/base64url.c, the canonical unpadded base64url of
 * sealed texts, tokens and status lists. Invariants: what the check accepts
 * decodes to the announced length and encodes back to the same text, within
 * the output buffer; any bytes encode to base64url_len characters that the
 * check accepts and that decode back to those bytes.
 */
#include "fuzz.h"

#include <certflow/base64url.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	unsigned char *raw;
	char *enc;
	size_t n = 0, m;

	/* Text to bytes and back; the +1 byte catches a write past the end. */
	if (base64url_check(text, size, &n)) {
		FUZZ_ASSERT(base64url_len(n) == size);
		FUZZ_ASSERT((raw = malloc(n + 1)) != NULL);
		raw[n] = 0xa5;
		base64url_decode(text, size, raw);
		FUZZ_ASSERT(raw[n] == 0xa5);
		FUZZ_ASSERT((enc = malloc(size + 1)) != NULL);
		FUZZ_ASSERT(base64url_encode(raw, n, enc) == size);
		FUZZ_ASSERT(memcmp(enc, text, size) == 0);
		free(enc);
		free(raw);
	} else {
		bool all_valid = true;

		for (size_t i = 0; i < size; i++)
			all_valid = all_valid && base64url_valid_char(text[i]);
		/* Valid characters are refused only for a length of 4k+1 or
		 * stray low bits in the last one. */
		if (all_valid && size % 4 != 1) {
			const char *at = strchr(alphabet, text[size - 1]);
			int v = (int)(at - alphabet);

			FUZZ_ASSERT(size % 4 != 0);
			FUZZ_ASSERT((v & (size % 4 == 2 ? 15 : 3)) != 0);
		}
	}

	/* Bytes to text and back. */
	m = base64url_len(size);
	FUZZ_ASSERT((enc = malloc(m + 1)) != NULL);
	enc[m] = '#';
	FUZZ_ASSERT(base64url_encode(data, size, enc) == m && enc[m] == '#');
	FUZZ_ASSERT(base64url_check(enc, m, &n) && n == size);
	FUZZ_ASSERT((raw = malloc(size + 1)) != NULL);
	base64url_decode(enc, m, raw);
	FUZZ_ASSERT(size == 0 || memcmp(raw, data, size) == 0);
	free(raw);
	free(enc);
	return 0;
}
