/*
 * fuzz_token.c - lib/token.c on arbitrary Authorization header values.
 * Invariants: an extracted token lies inside the value, after "Bearer" and
 * spaces, and runs to its end; a well-formed token is exactly "cf_" and 43
 * base64url characters and has a digest; anything else has none.
 */
#include "fuzz.h"

#include <strings.h>

#include <certflow/base64url.h>
#include <certflow/token.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_cstr(data, size);
	unsigned char digest[TOKEN_DIGEST_LEN];
	const char *tok = NULL;
	size_t len = 0, vlen = strlen(value);
	bool formed;

	if (token_from_bearer(value, &tok, &len)) {
		FUZZ_ASSERT(strncasecmp(value, "Bearer ", 7) == 0);
		FUZZ_ASSERT(tok > value + 6 && tok + len == value + vlen && len > 0);
		for (const char *s = value + 6; s < tok; s++)
			FUZZ_ASSERT(*s == ' ');
		FUZZ_ASSERT(*tok != ' ');
	}
	/* The raw bytes as a token, NUL bytes included. */
	formed = token_well_formed((const char *)data, size);
	if (formed) {
		FUZZ_ASSERT(size == TOKEN_TEXT_LEN &&
		    memcmp(data, TOKEN_PREFIX, 3) == 0);
		for (size_t i = 3; i < size; i++)
			FUZZ_ASSERT(base64url_valid_char((char)data[i]));
	}
	FUZZ_ASSERT(token_digest((const char *)data, size, digest) == formed);
	free(value);
	return 0;
}
