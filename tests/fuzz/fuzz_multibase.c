/*
 * fuzz_multibase.c - lib/multibase.c: base58btc ("z...") and Ed25519
 * Multikey texts as found in proofValue and publicKeyMultibase. Invariants:
 * each byte string has one text form, so whatever decodes encodes back to
 * the same text; any bytes encode and decode back to themselves; a decoded
 * Multikey encodes back to its text.
 */
#include "fuzz.h"

#include <certflow/multibase.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size), *again;
	unsigned char *bytes = NULL, pub[MULTIKEY_ED25519_PUB_LEN];
	size_t n = 99;

	/* Text to bytes and back. */
	if (multibase_base58btc_decode(text, &bytes, &n)) {
		FUZZ_ASSERT(bytes != NULL && text[0] == 'z');
		FUZZ_ASSERT(strlen(text + 1) <= MULTIBASE_DECODE_MAX);
		again = multibase_base58btc_encode(bytes, n);
		FUZZ_ASSERT(again != NULL && strcmp(again, text) == 0);
		free(again);
		free(bytes);
	} else {
		FUZZ_ASSERT(bytes == NULL && n == 0);
	}
	if (multikey_ed25519_decode(text, pub)) {
		again = multikey_ed25519_encode(pub);
		FUZZ_ASSERT(again != NULL && strcmp(again, text) == 0);
		FUZZ_ASSERT(strlen(again) == MULTIKEY_ED25519_TEXT_LEN);
		free(again);
	}

	/* Bytes to text and back (the decoder's bound caps the length). */
	if (size <= 2048) {
		char *enc = multibase_base58btc_encode(data, size);

		FUZZ_ASSERT(enc != NULL && enc[0] == 'z');
		FUZZ_ASSERT(multibase_base58btc_decode(enc, &bytes, &n));
		FUZZ_ASSERT(n == size && (size == 0 || memcmp(bytes, data, size) == 0));
		free(bytes);
		free(enc);
	}
	free(text);
	return 0;
}
