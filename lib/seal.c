/*
 * seal.c - AES-256-GCM encryption at rest, key files and the sealed text form.
 * Keys live only in a seal_keyring and are wiped when it is freed; the key
 * file's bytes are wiped once parsed, and a failed decryption wipes what it
 * wrote. Never logs and never puts key material in an error message.
 */
#include "certflow/seal.h"
#include "certflow/base64url.h"
#include "certflow/keyfile.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define VERSION_PREFIX	"v1."
#define VERSION_LEN	(sizeof(VERSION_PREFIX) - 1)
#define OVERHEAD	(SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define CHUNK		(1 << 30)	/* EVP takes int lengths */

/* ---- key file ---- */

/* The index of key ID (LEN chars) in RING, or -1. */
static ssize_t
ring_find(const struct seal_keyring *ring, const char *id, size_t len)
{
	for (size_t i = 0; i < ring->n; i++)
		if (strlen(ring->keys[i].id) == len &&
		    memcmp(ring->keys[i].id, id, len) == 0)
			return (ssize_t)i;
	return -1;
}

/* Parses the key line [S, E) into RING->keys[RING->n] and counts it. */
static bool
parse_key_line(struct keyfile_parser *p, struct seal_keyring *ring,
    const char *s, const char *e, const unsigned *lines)
{
	struct seal_key *k = &ring->keys[ring->n];
	const char *id, *hex;
	size_t idlen, hexlen;
	ssize_t dup;

	while (s < e && keyfile_is_blank(*s))
		s++;
	for (id = s; s < e && !keyfile_is_blank(*s); s++)
		;
	idlen = (size_t)(s - id);
	while (s < e && keyfile_is_blank(*s))
		s++;
	for (hex = s; s < e && !keyfile_is_blank(*s); s++)
		;
	hexlen = (size_t)(s - hex);
	while (s < e && keyfile_is_blank(*s))
		s++;

	if (!keyfile_id_valid(id, idlen, SEAL_KEY_ID_MAX))
		return keyfile_errorf(p, "bad key id (1 to %d characters of "
		    "A-Z a-z 0-9 _ . -)", SEAL_KEY_ID_MAX);
	if ((dup = ring_find(ring, id, idlen)) >= 0)
		return keyfile_errorf(p, "duplicate key id '%.*s' (first on "
		    "line %u)", (int)idlen, id, lines[dup]);
	if (hexlen == 0)
		return keyfile_errorf(p, "missing key after id '%.*s'",
		    (int)idlen, id);
	for (size_t i = 0; i < hexlen; i++)
		if (keyfile_hex_value(hex[i]) < 0)
			return keyfile_errorf(p, "key of '%.*s' is not "
			    "hexadecimal", (int)idlen, id);
	if (hexlen != 2 * SEAL_KEY_LEN)
		return keyfile_errorf(p, "key of '%.*s' has %zu hex digits, "
		    "want %d (%d bytes)", (int)idlen, id, hexlen,
		    2 * SEAL_KEY_LEN, SEAL_KEY_LEN);
	if (s != e)
		return keyfile_errorf(p, "unexpected text after the key of "
		    "'%.*s'", (int)idlen, id);

	memcpy(k->id, id, idlen);
	k->id[idlen] = '\0';
	for (size_t i = 0; i < SEAL_KEY_LEN; i++)
		k->key[i] = (unsigned char)(keyfile_hex_value(hex[2 * i]) <<
		    4 | keyfile_hex_value(hex[2 * i + 1]));
	ring->n++;
	return true;
}

/* Parses each line of TEXT into RING, recording each key's line in LINES. */
static bool
parse_text(struct keyfile_parser *p, struct seal_keyring *ring,
    unsigned *lines, const char *text)
{
	const char *cursor = text, *s, *e;

	while (keyfile_next_key(&cursor, &p->line, &s, &e)) {
		lines[ring->n] = p->line;
		if (!parse_key_line(p, ring, s, e, lines))
			return false;
	}
	p->line = 0;
	if (ring->n == 0)
		return keyfile_errorf(p, "no key");
	return true;
}

void
seal_keyring_free(struct seal_keyring *ring)
{
	if (ring == NULL)
		return;
	if (ring->keys != NULL) {
		OPENSSL_cleanse(ring->keys, ring->n * sizeof(*ring->keys));
		free(ring->keys);
	}
	ring->keys = NULL;
	ring->n = 0;
}

bool
seal_keyring_parse(const char *text, const char *name,
    struct seal_keyring *ring, char *err, size_t errlen)
{
	struct keyfile_parser p = { name, 0, err, errlen };
	struct seal_keyring tmp = { NULL, 0 };
	unsigned *lines = NULL;
	size_t count = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || ring == NULL) {
		keyfile_errorf(&p, "no key file text");
		goto fail;
	}
	/* Count first so the keys are allocated once: realloc would leave copies. */
	for (const char *c = text, *s, *e; keyfile_next_key(&c, NULL, &s, &e);)
		count++;
	if (count > 0 && ((tmp.keys = calloc(count, sizeof(*tmp.keys))) == NULL ||
	    (lines = calloc(count, sizeof(*lines))) == NULL)) {
		keyfile_errorf(&p, "out of memory");
		goto fail;
	}
	if (!parse_text(&p, &tmp, lines, text))
		goto fail;
	free(lines);
	seal_keyring_free(ring);
	*ring = tmp;
	return true;
fail:
	/* tmp.n counts only complete keys; wipe the whole array. */
	if (tmp.keys != NULL)
		OPENSSL_cleanse(tmp.keys, count * sizeof(*tmp.keys));
	free(tmp.keys);
	free(lines);
	return false;
}

bool
seal_keyring_load(const char *path, struct seal_keyring *ring, char *err,
    size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	bool ok;

	if (!keyfile_read(path, SEAL_FILE_MAX, 077,
	    "must not be readable by others (chmod 600)", &text, &len, NULL,
	    err, errlen))
		return false;
	ok = seal_keyring_parse(text, path, ring, err, errlen);
	OPENSSL_cleanse(text, len);
	free(text);
	return ok;
}

/* ---- sealed text ---- */

/*
 * Splits TEXT into its key id and payload and checks the payload's shape.
 * The id may contain '.', base64url may not: the payload starts after the
 * last '.'. Sets *ID and *IDLEN, *PAY and *PAYLEN, and *RAWLEN
 * (the decoded length).
 */
static bool
sealed_split(const char *text, const char **id, size_t *idlen,
    const char **pay, size_t *paylen, size_t *rawlen)
{
	const char *dot;

	if (text == NULL || strncmp(text, VERSION_PREFIX, VERSION_LEN) != 0)
		return false;
	if ((dot = strrchr(text + VERSION_LEN, '.')) == NULL)
		return false;
	*id = text + VERSION_LEN;
	*idlen = (size_t)(dot - *id);
	*pay = dot + 1;
	*paylen = strlen(*pay);
	if (!keyfile_id_valid(*id, *idlen, SEAL_KEY_ID_MAX))
		return false;
	if (!base64url_check(*pay, *paylen, rawlen) || *rawlen < OVERHEAD)
		return false;
	return true;
}

bool
seal_key_id(const char *text, char id[SEAL_KEY_ID_MAX + 1])
{
	const char *kid, *pay;
	size_t idlen, paylen, rawlen;

	if (!sealed_split(text, &kid, &idlen, &pay, &paylen, &rawlen))
		return false;
	memcpy(id, kid, idlen);
	id[idlen] = '\0';
	return true;
}

char *
seal_encrypt(const struct seal_keyring *ring, const char *aad,
    const unsigned char *plain, size_t n)
{
	const struct seal_key *k;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *raw = NULL;
	char *out = NULL;
	size_t idlen, textlen, done;
	int outl;

	if (ring == NULL || ring->n == 0 || aad == NULL ||
	    strlen(aad) >= CHUNK || (plain == NULL && n > 0) ||
	    n > SIZE_MAX / 2 - 64)
		return NULL;
	k = &ring->keys[ring->n - 1];
	idlen = strlen(k->id);
	textlen = VERSION_LEN + idlen + 1 + base64url_len(n + OVERHEAD);
	if ((raw = malloc(n + OVERHEAD)) == NULL ||
	    (out = malloc(textlen + 1)) == NULL)
		goto fail;
	/* A random 96-bit nonce: 2^32 messages per key keep collisions negligible. */
	if (RAND_bytes(raw, SEAL_NONCE_LEN) != 1)
		goto fail;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, raw) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad,
	    (int)strlen(aad)) != 1)
		goto fail;
	for (done = 0; done < n; done += (size_t)outl) {
		size_t c = n - done < CHUNK ? n - done : CHUNK;

		if (EVP_EncryptUpdate(ctx, raw + SEAL_NONCE_LEN + done, &outl,
		    plain + done, (int)c) != 1 || (size_t)outl != c)
			goto fail;
	}
	if (EVP_EncryptFinal_ex(ctx, raw + SEAL_NONCE_LEN + n, &outl) != 1 ||
	    outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SEAL_TAG_LEN,
	    raw + SEAL_NONCE_LEN + n) != 1)
		goto fail;
	memcpy(out, VERSION_PREFIX, VERSION_LEN);
	memcpy(out + VERSION_LEN, k->id, idlen);
	out[VERSION_LEN + idlen] = '.';
	base64url_encode(raw, n + OVERHEAD, out + VERSION_LEN + idlen + 1);
	out[textlen] = '\0';
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	return out;
fail:
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	free(out);
	return NULL;
}

unsigned char *
seal_decrypt(const struct seal_keyring *ring, const char *aad,
    const char *text, size_t *n)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *raw = NULL, *plain = NULL;
	const char *id, *pay;
	size_t idlen, paylen, rawlen, clen = 0, done;
	ssize_t ki;
	int outl;

	if (n != NULL)
		*n = 0;
	if (ring == NULL || aad == NULL || n == NULL || strlen(aad) >= CHUNK)
		return NULL;
	if (!sealed_split(text, &id, &idlen, &pay, &paylen, &rawlen))
		return NULL;
	if ((ki = ring_find(ring, id, idlen)) < 0)
		return NULL;
	clen = rawlen - OVERHEAD;
	if ((raw = malloc(rawlen)) == NULL || (plain = malloc(clen + 1)) == NULL)
		goto fail;
	base64url_decode(pay, paylen, raw);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL,
	    ring->keys[ki].key, raw) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad,
	    (int)strlen(aad)) != 1)
		goto fail;
	for (done = 0; done < clen; done += (size_t)outl) {
		size_t c = clen - done < CHUNK ? clen - done : CHUNK;

		if (EVP_DecryptUpdate(ctx, plain + done, &outl,
		    raw + SEAL_NONCE_LEN + done, (int)c) != 1 || (size_t)outl != c)
			goto fail;
	}
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SEAL_TAG_LEN,
	    raw + SEAL_NONCE_LEN + clen) != 1)
		goto fail;
	/* Authentication happens here: until then PLAIN must not escape. */
	if (EVP_DecryptFinal_ex(ctx, plain + clen, &outl) != 1 || outl != 0)
		goto fail;
	plain[clen] = '\0';
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	*n = clen;
	return plain;
fail:
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	if (plain != NULL) {
		OPENSSL_cleanse(plain, clen + 1);
		free(plain);
	}
	return NULL;
}
