/*
 * sign.c - Ed25519 signing keys, signatures and the eddsa-jcs-2022 hash data.
 * Private keys live only inside OpenSSL's EVP_PKEYs (which wipe them when
 * freed); seeds decoded here, generated seeds and the key file's bytes are
 * wiped as soon as they are used. Never logs, and never puts key material
 * in an error message.
 */
#include "certflow/sign.h"
#include "certflow/keyfile.h"
#include "certflow/token.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define HEX_LEN		(2 * SIGN_SEED_LEN)	/* seed and public key alike */
#define MAX_FIELDS	4			/* one more than a line may hold */

_Static_assert(SIGN_SEED_LEN == SIGN_PUB_LEN, "one hex length for both keys");

/* ---- key file ---- */

/* errorf with OpenSSL's reason appended; empties OpenSSL's error queue. */
static bool
ossl_errorf(struct keyfile_parser *p, const char *what, const char *id)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown OpenSSL error";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return keyfile_errorf(p, "%s '%s': %s", what, id, reason);
}

/* Splits [S, E) at blanks into at most MAX_FIELDS fields; returns their count. */
static size_t
split_fields(const char *s, const char *e, const char *f[MAX_FIELDS],
    size_t flen[MAX_FIELDS])
{
	size_t nf = 0;

	for (;;) {
		while (s < e && keyfile_is_blank(*s))
			s++;
		if (s == e || nf == MAX_FIELDS)
			return nf;
		for (f[nf] = s; s < e && !keyfile_is_blank(*s); s++)
			;
		flen[nf] = (size_t)(s - f[nf]);
		nf++;
	}
}

/* Checks the hex field HEX (LEN chars) of key ID and decodes it into OUT. */
static bool
read_hex(struct keyfile_parser *p, const char *what, const char *id,
    const char *hex, size_t len, unsigned char out[SIGN_SEED_LEN])
{
	for (size_t i = 0; i < len; i++)
		if (keyfile_hex_value(hex[i]) < 0)
			return keyfile_errorf(p, "%s of '%s' is not "
			    "hexadecimal", what, id);
	if (len != HEX_LEN)
		return keyfile_errorf(p, "%s of '%s' has %zu hex digits, "
		    "want %d (%d bytes)", what, id, len, HEX_LEN,
		    SIGN_SEED_LEN);
	for (size_t i = 0; i < SIGN_SEED_LEN; i++)
		out[i] = (unsigned char)(keyfile_hex_value(hex[2 * i]) << 4 |
		    keyfile_hex_value(hex[2 * i + 1]));
	return true;
}

/* Builds the EVP_PKEY of K from HEX: its seed, or its public key if PUBLIC_ONLY. */
static bool
make_key(struct keyfile_parser *p, struct sign_key *k, const char *hex,
    size_t len, bool public_only)
{
	unsigned char raw[SIGN_SEED_LEN];
	size_t publen = SIGN_PUB_LEN;
	bool ok = false;

	if (!read_hex(p, public_only ? "public key" : "key", k->id, hex, len,
	    raw))
		goto fail;
	if (public_only) {
		if ((k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
		    NULL, raw, sizeof(raw))) == NULL) {
			ossl_errorf(p, "cannot load the public key of", k->id);
			goto fail;
		}
		memcpy(k->pub, raw, SIGN_PUB_LEN);
	} else {
		if ((k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519,
		    NULL, raw, sizeof(raw))) == NULL) {
			ossl_errorf(p, "cannot load the key of", k->id);
			goto fail;
		}
		if (EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &publen) != 1 ||
		    publen != SIGN_PUB_LEN) {
			ossl_errorf(p, "cannot derive the public key of", k->id);
			goto fail;
		}
	}
	k->has_private = !public_only;
	ok = true;
fail:
	OPENSSL_cleanse(raw, sizeof(raw));
	if (!ok) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
	}
	return ok;
}

/*
 * Parses the key line [S, E) into RING->keys[RING->n] and counts it; LINES
 * holds the line of each key already in RING.
 */
static bool
parse_key_line(struct keyfile_parser *p, struct sign_keyring *ring,
    const char *s, const char *e, const unsigned *lines)
{
	struct sign_key *k = &ring->keys[ring->n];
	const char *f[MAX_FIELDS];
	size_t flen[MAX_FIELDS], nf;
	bool public_only;

	nf = split_fields(s, e, f, flen);
	if (!keyfile_id_valid(f[0], flen[0], SIGN_KEY_ID_MAX))
		return keyfile_errorf(p, "bad key id (1 to %d characters of "
		    "A-Z a-z 0-9 _ . -)", SIGN_KEY_ID_MAX);
	memcpy(k->id, f[0], flen[0]);
	k->id[flen[0]] = '\0';
	for (size_t i = 0; i < ring->n; i++)
		if (strcmp(ring->keys[i].id, k->id) == 0)
			return keyfile_errorf(p, "duplicate key id '%s' "
			    "(first on line %u)", k->id, lines[i]);
	public_only = nf >= 2 && flen[1] == 6 && memcmp(f[1], "public", 6) == 0;
	/* The fields, not the raw line: its tabs and '\r' stay out of messages. */
	if (nf == 1 || (nf == 2 && public_only))
		return keyfile_errorf(p, "missing key after '%s%s'", k->id,
		    public_only ? " public" : "");
	if (nf > (public_only ? 3u : 2u))
		return keyfile_errorf(p, "unexpected text after the key of "
		    "'%s'", k->id);
	if (!make_key(p, k, f[nf - 1], flen[nf - 1], public_only))
		return false;
	/* The same key twice is a copy-paste slip, e.g. in a rotation. */
	for (size_t i = 0; i < ring->n; i++)
		if (memcmp(ring->keys[i].pub, k->pub, SIGN_PUB_LEN) == 0) {
			EVP_PKEY_free(k->pkey);
			k->pkey = NULL;
			return keyfile_errorf(p, "key of '%s' is the key of "
			    "'%s' (line %u) again", k->id, ring->keys[i].id,
			    lines[i]);
		}
	ring->n++;
	return true;
}

/*
 * Parses TEXT into a new ring *OUT and the line of each of its keys into
 * *LINESP (malloc'ed, caller frees). On failure both stay empty.
 */
static bool
parse_ring(struct keyfile_parser *p, const char *text,
    struct sign_keyring *out, unsigned **linesp)
{
	struct sign_keyring tmp = { NULL, 0 };
	unsigned *lines = NULL;
	size_t count = 0;
	const char *cursor, *s, *e;

	/* Count first so the keys are allocated once and never move. */
	for (cursor = text; keyfile_next_key(&cursor, NULL, &s, &e);)
		count++;
	if (count == 0)
		return keyfile_errorf(p, "no key");
	if ((tmp.keys = calloc(count, sizeof(*tmp.keys))) == NULL ||
	    (lines = calloc(count, sizeof(*lines))) == NULL) {
		keyfile_errorf(p, "out of memory");
		goto fail;
	}
	for (cursor = text; keyfile_next_key(&cursor, &p->line, &s, &e);) {
		lines[tmp.n] = p->line;
		if (!parse_key_line(p, &tmp, s, e, lines))
			goto fail;
	}
	p->line = 0;
	*out = tmp;
	*linesp = lines;
	return true;
fail:
	sign_keyring_free(&tmp);
	free(lines);
	return false;
}

void
sign_keyring_free(struct sign_keyring *ring)
{
	if (ring == NULL)
		return;
	for (size_t i = 0; i < ring->n; i++)
		EVP_PKEY_free(ring->keys[i].pkey);
	free(ring->keys);
	ring->keys = NULL;
	ring->n = 0;
}

bool
sign_keyring_parse(const char *text, const char *name,
    struct sign_keyring *ring, char *err, size_t errlen)
{
	struct keyfile_parser p = { name, 0, err, errlen };
	struct sign_keyring tmp = { NULL, 0 };
	unsigned *lines = NULL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || ring == NULL)
		return keyfile_errorf(&p, "no key file text");
	if (!parse_ring(&p, text, &tmp, &lines))
		return false;
	free(lines);
	sign_keyring_free(ring);
	*ring = tmp;
	return true;
}

bool
sign_keyring_load(const char *path, struct sign_keyring *ring, char *err,
    size_t errlen)
{
	struct keyfile_parser p = { path, 0, err, errlen };
	struct sign_keyring tmp = { NULL, 0 };
	unsigned *lines = NULL;
	char *text = NULL;
	size_t len = 0;
	mode_t mode = 0;
	bool ok = false;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL || ring == NULL) {
		p.name = "(null)";
		keyfile_errorf(&p, "no key file");
		goto fail;
	}
	/* Whoever may write the file chooses the keys that verify. */
	if (!keyfile_read(path, SIGN_FILE_MAX, 022,
	    "must not be writable by group or others (chmod go-w)", &text, &len,
	    &mode, err, errlen))
		goto fail;
	if (!parse_ring(&p, text, &tmp, &lines))
		goto fail;
	/* Public keys may be world-readable; a private key may not. */
	for (size_t i = 0; i < tmp.n && (mode & 077) != 0; i++)
		if (tmp.keys[i].has_private) {
			p.line = lines[i];
			keyfile_errorf(&p, "private key in a file readable by "
			    "group or others (chmod 600)");
			goto fail;
		}
	sign_keyring_free(ring);
	*ring = tmp;
	tmp.keys = NULL;
	tmp.n = 0;
	ok = true;
fail:
	sign_keyring_free(&tmp);
	free(lines);
	if (text != NULL) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return ok;
}

const struct sign_key *
sign_current(const struct sign_keyring *ring)
{
	if (ring == NULL)
		return NULL;
	for (size_t i = ring->n; i-- > 0;)
		if (ring->keys[i].has_private)
			return &ring->keys[i];
	return NULL;
}

const struct sign_key *
sign_find(const struct sign_keyring *ring, const char *id)
{
	if (ring == NULL || id == NULL)
		return NULL;
	for (size_t i = 0; i < ring->n; i++)
		if (strcmp(ring->keys[i].id, id) == 0)
			return &ring->keys[i];
	return NULL;
}

/* ---- signatures ---- */

/* OpenSSL is handed a real pointer even for an empty message. */
static const unsigned char empty_msg[1];

bool
sign_ed25519(const struct sign_key *key, const unsigned char *msg, size_t n,
    unsigned char sig[SIGN_SIG_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = SIGN_SIG_LEN;
	bool ok = false;

	if (sig == NULL)
		return false;
	if (key == NULL || !key->has_private || key->pkey == NULL ||
	    (msg == NULL && n > 0))
		goto fail;
	/* Ed25519 hashes internally: the one-shot API with a NULL digest. */
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg != NULL ? msg : empty_msg,
	    n) != 1 || siglen != SIGN_SIG_LEN)
		goto fail;
	ok = true;
fail:
	EVP_MD_CTX_free(ctx);
	if (!ok)
		memset(sig, 0, SIGN_SIG_LEN);
	return ok;
}

bool
sign_verify_ed25519(const unsigned char pub[SIGN_PUB_LEN],
    const unsigned char *msg, size_t n, const unsigned char sig[SIGN_SIG_LEN])
{
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	bool ok = false;

	if (pub == NULL || sig == NULL || (msg == NULL && n > 0))
		return false;
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    SIGN_PUB_LEN)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto fail;
	ok = EVP_DigestVerify(ctx, sig, SIGN_SIG_LEN,
	    msg != NULL ? msg : empty_msg, n) == 1;
fail:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (!ok)
		ERR_clear_error();
	return ok;
}

bool
sign_jcs2022_hash_data(const char *canon_proof_options, size_t po_len,
    const char *canon_document, size_t doc_len,
    unsigned char out[SIGN_HASH_DATA_LEN])
{
	unsigned int l1 = 0, l2 = 0;

	if (out == NULL)
		return false;
	/* Proof options first: the order the cryptosuite fixes. */
	if ((canon_proof_options == NULL && po_len > 0) ||
	    (canon_document == NULL && doc_len > 0) ||
	    EVP_Digest(canon_proof_options != NULL ? canon_proof_options : "",
	    po_len, out, &l1, EVP_sha256(), NULL) != 1 || l1 != 32 ||
	    EVP_Digest(canon_document != NULL ? canon_document : "", doc_len,
	    out + 32, &l2, EVP_sha256(), NULL) != 1 || l2 != 32) {
		memset(out, 0, SIGN_HASH_DATA_LEN);
		return false;
	}
	return true;
}

char *
sign_generate_line(const char *id)
{
	unsigned char seed[SIGN_SEED_LEN];
	char hex[HEX_LEN + 1];
	char *line = NULL;
	size_t idlen, len;

	if (id == NULL ||
	    !keyfile_id_valid(id, idlen = strnlen(id, SIGN_KEY_ID_MAX + 1),
	    SIGN_KEY_ID_MAX))
		return NULL;
	if (RAND_bytes(seed, sizeof(seed)) != 1)
		goto fail;
	len = idlen + 1 + HEX_LEN + 1;
	if ((line = malloc(len + 1)) == NULL)
		goto fail;
	hex_encode(seed, sizeof(seed), hex);
	memcpy(line, id, idlen);
	line[idlen] = ' ';
	memcpy(line + idlen + 1, hex, HEX_LEN);
	line[len - 1] = '\n';
	line[len] = '\0';
fail:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(hex, sizeof(hex));
	return line;
}
