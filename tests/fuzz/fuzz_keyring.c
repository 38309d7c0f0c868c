/*
 * fuzz_keyring.c - the key file parsers of lib/sign.c and lib/seal.c
 * (sign_keyring_parse, seal_keyring_parse) on arbitrary text. Invariants:
 * a refusal leaves the ring empty and says "NAME:..." in printable ASCII
 * without ever quoting a key (a hex field that is not also some line's
 * id); an accepted ring has valid, distinct ids that sign_find finds,
 * parses the same when loaded over itself, signs with its current key what
 * its public key verifies, and seals what it opens.
 */
#include "fuzz.h"

#include <certflow/seal.h>
#include <certflow/sign.h>

#define NAME	"fuzz.keys"

static bool
is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0')
			return false;
	return true;
}

/* True when the LEN chars at S occur in the first field (the id) of a line of TEXT. */
static bool
is_some_id(const char *text, const char *s, size_t len)
{
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *f = line + strspn(line, " \t\r");
		size_t flen = strcspn(f, " \t\r\n");

		for (size_t i = 0; i + len <= flen; i++)
			if (memcmp(f + i, s, len) == 0)
				return true;
		line = strchr(line, '\n');
		line = line != NULL ? line + 1 : NULL;
	}
	return false;
}

/* ERR quotes no hex field of 16 or more characters that is not an id. */
static void
check_no_key_in(const char *err, const char *text)
{
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *end = line + strcspn(line, "\n"), *f = line;
		bool first = true;

		while (f < end) {
			size_t len;

			f += strspn(f, " \t\r");
			len = strcspn(f, " \t\r\n");
			if (f + len > end)
				len = (size_t)(end - f);
			if (len >= 16 && !first && is_hex(f, len) &&
			    !is_some_id(text, f, len)) {
				char *field = strndup(f, len);

				FUZZ_ASSERT(field != NULL);
				FUZZ_ASSERT(strstr(err, field) == NULL);
				free(field);
			}
			first = false;
			f += len;
			if (len == 0)
				break;
		}
		line = *end == '\n' ? end + 1 : NULL;
	}
}

static void
check_refusal(const char *err, const char *text)
{
	FUZZ_ASSERT(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
	FUZZ_ASSERT(fuzz_printable(err));
	check_no_key_in(err, text);
}

static void
check_sign(const char *text)
{
	struct sign_keyring ring = { NULL, 0 };
	const struct sign_key *cur;
	unsigned char sig[SIGN_SIG_LEN];
	char err[512];
	size_t n;

	if (!sign_keyring_parse(text, NAME, &ring, err, sizeof(err))) {
		FUZZ_ASSERT(ring.keys == NULL && ring.n == 0);
		check_refusal(err, text);
		return;
	}
	FUZZ_ASSERT(err[0] == '\0' && ring.n >= 1);
	for (size_t i = 0; i < ring.n; i++) {
		const char *id = ring.keys[i].id;

		FUZZ_ASSERT(strlen(id) >= 1 && strlen(id) <= SIGN_KEY_ID_MAX &&
		    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789_.-") == strlen(id));
		FUZZ_ASSERT(sign_find(&ring, id) == &ring.keys[i]);
		FUZZ_ASSERT(ring.keys[i].pkey != NULL);
	}
	if ((cur = sign_current(&ring)) != NULL) {
		FUZZ_ASSERT(cur->has_private);
		for (const struct sign_key *k = cur + 1; k < ring.keys + ring.n; k++)
			FUZZ_ASSERT(!k->has_private);
		FUZZ_ASSERT(sign_ed25519(cur, (const unsigned char *)text,
		    strlen(text), sig));
		FUZZ_ASSERT(sign_verify_ed25519(cur->pub,
		    (const unsigned char *)text, strlen(text), sig));
	}
	/* Loaded over itself: freed and replaced by the same keys. */
	n = ring.n;
	FUZZ_ASSERT(sign_keyring_parse(text, NAME, &ring, err, sizeof(err)));
	FUZZ_ASSERT(ring.n == n);
	sign_keyring_free(&ring);
	FUZZ_ASSERT(ring.keys == NULL && ring.n == 0);
}

static void
check_seal(const char *text)
{
	struct seal_keyring ring = { NULL, 0 };
	unsigned char *plain;
	char err[512], *sealed;
	size_t n;

	if (!seal_keyring_parse(text, NAME, &ring, err, sizeof(err))) {
		FUZZ_ASSERT(ring.keys == NULL && ring.n == 0);
		check_refusal(err, text);
		return;
	}
	FUZZ_ASSERT(err[0] == '\0' && ring.n >= 1);
	for (size_t i = 0; i < ring.n; i++) {
		FUZZ_ASSERT(strlen(ring.keys[i].id) >= 1);
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(ring.keys[i].id, ring.keys[j].id) != 0);
	}
	FUZZ_ASSERT((sealed = seal_encrypt(&ring, FUZZ_AAD,
	    (const unsigned char *)text, strlen(text))) != NULL);
	FUZZ_ASSERT((plain = seal_decrypt(&ring, FUZZ_AAD, sealed, &n)) != NULL);
	FUZZ_ASSERT(n == strlen(text) && memcmp(plain, text, n) == 0);
	free(plain);
	free(sealed);
	n = ring.n;
	FUZZ_ASSERT(seal_keyring_parse(text, NAME, &ring, err, sizeof(err)));
	FUZZ_ASSERT(ring.n == n);
	seal_keyring_free(&ring);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstr(data, size);

	check_sign(text);
	check_seal(text);
	free(text);
	return 0;
}
