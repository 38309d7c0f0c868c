/*
 * fuzz_receipt.c - lib/receipt.c: normalising what an anonymous reporter
 * types as a receipt. Invariants: an accepted text gives exactly 25 digits,
 * those of the input in order, and normalises to itself; a refused one
 * leaves an empty result; a fresh receipt is always accepted.
 */
#include "fuzz.h"

#include <certflow/receipt.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);
	char out[RECEIPT_DIGITS + 1], again[RECEIPT_DIGITS + 1];
	char fresh[RECEIPT_TEXT_LEN + 1];
	size_t n = 0;

	memset(out, 'x', sizeof(out));
	if (receipt_normalize(text, out)) {
		FUZZ_ASSERT(strlen(out) == RECEIPT_DIGITS);
		for (const char *s = text; *s != '\0'; s++) {
			if (*s >= '0' && *s <= '9') {
				FUZZ_ASSERT(n < RECEIPT_DIGITS && out[n] == *s);
				n++;
			} else {
				FUZZ_ASSERT(strchr(" \t-.", *s) != NULL);
			}
		}
		FUZZ_ASSERT(n == RECEIPT_DIGITS);
		FUZZ_ASSERT(receipt_normalize(out, again) &&
		    strcmp(again, out) == 0);
	} else {
		FUZZ_ASSERT(out[0] == '\0');
	}
	if (size == 0) {
		FUZZ_ASSERT(receipt_generate(fresh));
		FUZZ_ASSERT(strlen(fresh) == RECEIPT_TEXT_LEN);
		FUZZ_ASSERT(receipt_normalize(fresh, out));
	}
	free(text);
	return 0;
}
