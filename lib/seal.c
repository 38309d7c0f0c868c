/*
 * seal.c - AES-256-GCM encryption at rest, key files and the sealed text form.
 * Keys live only in a seal_keyring and are wiped when it is freed; the key
 * file's bytes are wiped once parsed, and a failed decryption wipes what it
 * wrote. Never logs and never puts key material in an error message.
 */
#include "certflow/seal.h"
#include "certflow/base64url.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define VERSION_PREFIX	"v1."
#define VERSION_LEN	(sizeof(VERSION_PREFIX) - 1)
#define OVERHEAD	(SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define CHUNK		(1 << 30)	/* EVP takes int lengths */

/* ---- key file ---- */

struct parser {
	const char *name;	/* file name for messages */
	unsigned line;		/* 0 outside the lines */
	char *err;
	size_t errlen;
};

static bool errorf(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes "NAME:LINE: message" (or "NAME: message" outside lines); returns false. */
static bool
errorf(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err == NULL || p->errlen == 0)
		return false;
	if (p->line > 0)
		n = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return false;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
id_valid(const char *s, size_t len)
{
	if (len == 0 || len > SEAL_KEY_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_id_char(s[i]))
			return false;
	return true;
}

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

/* Skips blanks; true when the line [S, E) holds a key line (not blank, not #). */
static bool
line_has_key(const char *s, const char *e)
{
	while (s < e && is_blank(*s))
		s++;
	return s < e && *s != '#';
}

/* Parses the key line [S, E) into RING->keys[RING->n] and counts it. */
static bool
parse_key_line(struct parser *p, struct seal_keyring *ring, const char *s,
    const char *e, const unsigned *lines)
{
	struct seal_key *k = &ring->keys[ring->n];
	const char *id, *hex;
	size_t idlen, hexlen;
	ssize_t dup;

	while (s < e && is_blank(*s))
		s++;
	for (id = s; s < e && !is_blank(*s); s++)
		;
	idlen = (size_t)(s - id);
	while (s < e && is_blank(*s))
		s++;
	for (hex = s; s < e && !is_blank(*s); s++)
		;
	hexlen = (size_t)(s - hex);
	while (s < e && is_blank(*s))
		s++;

	if (!id_valid(id, idlen))
		return errorf(p, "bad key id (1 to %d characters of "
		    "A-Z a-z 0-9 _ . -)", SEAL_KEY_ID_MAX);
	if ((dup = ring_find(ring, id, idlen)) >= 0)
		return errorf(p, "duplicate key id '%.*s' (first on line %u)",
		    (int)idlen, id, lines[dup]);
	if (hexlen == 0)
		return errorf(p, "missing key after id '%.*s'", (int)idlen, id);
	for (size_t i = 0; i < hexlen; i++)
		if (hex_value(hex[i]) < 0)
			return errorf(p, "key of '%.*s' is not hexadecimal",
			    (int)idlen, id);
	if (hexlen != 2 * SEAL_KEY_LEN)
		return errorf(p, "key of '%.*s' has %zu hex digits, "
		    "want %d (%d bytes)", (int)idlen, id, hexlen,
		    2 * SEAL_KEY_LEN, SEAL_KEY_LEN);
	if (s != e)
		return errorf(p, "unexpected text after the key of '%.*s'",
		    (int)idlen, id);

	memcpy(k->id, id, idlen);
	k->id[idlen] = '\0';
	for (size_t i = 0; i < SEAL_KEY_LEN; i++)
		k->key[i] = (unsigned char)(hex_value(hex[2 * i]) << 4 |
		    hex_value(hex[2 * i + 1]));
	ring->n++;
	return true;
}

/* Parses each line of TEXT into RING, recording each key's line in LINES. */
static bool
parse_text(struct parser *p, struct seal_keyring *ring, unsigned *lines,
    const char *text)
{
	const char *s = text;

	while (*s != '\0') {
		const char *e = strchr(s, '\n');

		if (e == NULL)
			e = s + strlen(s);
		p->line++;
		if (line_has_key(s, e)) {
			lines[ring->n] = p->line;
			if (!parse_key_line(p, ring, s, e, lines))
				return false;
		}
		s = *e == '\n' ? e + 1 : e;
	}
	p->line = 0;
	if (ring->n == 0)
		return errorf(p, "no key");
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
	struct parser p = { name, 0, err, errlen };
	struct seal_keyring tmp = { NULL, 0 };
	unsigned *lines = NULL;
	size_t count = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || ring == NULL) {
		errorf(&p, "no key file text");
		goto fail;
	}
	/* Count first so the keys are allocated once: realloc would leave copies. */
	for (const char *s = text; *s != '\0';) {
		const char *e = strchr(s, '\n');

		if (e == NULL)
			e = s + strlen(s);
		if (line_has_key(s, e))
			count++;
		s = *e == '\n' ? e + 1 : e;
	}
	if (count > 0 && ((tmp.keys = calloc(count, sizeof(*tmp.keys))) == NULL ||
	    (lines = calloc(count, sizeof(*lines))) == NULL)) {
		errorf(&p, "out of memory");
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
	struct parser p = { path, 0, err, errlen };
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1;
	bool ok = false;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		errorf(&p, "%s", strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		errorf(&p, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errorf(&p, "not a regular file");
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		errorf(&p, "must not be readable by others (chmod 600)");
		goto fail;
	}
	/* read(2) rather than stdio: no buffer we cannot wipe. */
	if ((buf = malloc(SEAL_FILE_MAX + 1)) == NULL) {
		errorf(&p, "out of memory");
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, SEAL_FILE_MAX + 1 - len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errorf(&p, "read error: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > SEAL_FILE_MAX) {
			errorf(&p, "larger than %d bytes", SEAL_FILE_MAX);
			goto fail;
		}
	}
	if (memchr(buf, '\0', len) != NULL) {
		errorf(&p, "contains a NUL byte");
		goto fail;
	}
	buf[len] = '\0';
	ok = seal_keyring_parse(buf, path, ring, err, errlen);
fail:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, SEAL_FILE_MAX + 1);
		free(buf);
	}
	if (fd != -1)
		close(fd);
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
	if (!id_valid(*id, *idlen))
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
