/*
 * fuzz_seal.c - lib/seal.c on arbitrary sealed texts (what the database
 * hands back is trusted no more than any input) and arbitrary plaintexts.
 * Invariants: only a text sealed under a key of the ring, for this purpose,
 * ever opens (never unauthenticated bytes); the key id read from a text is
 * the one written in it; anything sealed opens to the same bytes, under the
 * current key, and one changed character closes it.
 */
#include "fuzz.h"

#include <certflow/seal.h>

static struct seal_keyring ring;

static const struct seal_keyring *
the_ring(void)
{
	if (ring.n == 0)
		FUZZ_ASSERT(seal_keyring_parse(FUZZ_SEAL_KEYS, "fuzz", &ring, NULL,
		    0));
	return &ring;
}

static void
check_open(const struct seal_keyring *r, const char *text)
{
	char id[SEAL_KEY_ID_MAX + 1];
	unsigned char *plain;
	size_t n = 99, m = 99;
	bool has_id = seal_key_id(text, id);

	if (has_id) {
		size_t idlen = strlen(id);

		FUZZ_ASSERT(idlen >= 1 && strncmp(text, "v1.", 3) == 0 &&
		    strncmp(text + 3, id, idlen) == 0);
		FUZZ_ASSERT(strrchr(text, '.') == text + 3 + idlen);
	}
	plain = seal_decrypt(r, FUZZ_AAD, text, &n);
	if (plain == NULL) {
		FUZZ_ASSERT(n == 0);
		return;
	}
	FUZZ_ASSERT(has_id && (strcmp(id, "k1") == 0 || strcmp(id, "k2") == 0));
	FUZZ_ASSERT(plain[n] == '\0');
	FUZZ_ASSERT(seal_decrypt(r, "report.other", text, &m) == NULL && m == 0);
	free(plain);
}

static void
check_round_trip(const struct seal_keyring *r, const uint8_t *data, size_t size)
{
	char id[SEAL_KEY_ID_MAX + 1], *sealed;
	unsigned char *plain;
	size_t n = 0, at;

	FUZZ_ASSERT((sealed = seal_encrypt(r, FUZZ_AAD, data, size)) != NULL);
	FUZZ_ASSERT(seal_key_id(sealed, id) && strcmp(id, "k2") == 0);
	FUZZ_ASSERT((plain = seal_decrypt(r, FUZZ_AAD, sealed, &n)) != NULL);
	FUZZ_ASSERT(n == size && (size == 0 || memcmp(plain, data, size) == 0));
	free(plain);
	/* One character of the payload changed (not the last, whose low bits
	 * are padding): nonce, ciphertext or tag, it no longer opens. */
	at = strlen("v1.k2.") + size % (strlen(sealed) - strlen("v1.k2.") - 1);
	sealed[at] = sealed[at] == 'A' ? 'B' : 'A';
	FUZZ_ASSERT(seal_decrypt(r, FUZZ_AAD, sealed, &n) == NULL && n == 0);
	free(sealed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct seal_keyring *r = the_ring();
	char *text = fuzz_cstr(data, size);

	check_open(r, text);
	check_round_trip(r, data, size);
	free(text);
	return 0;
}
