/*
 * seal.h - encryption at rest (AES-256-GCM) under keys from a key file.
 * Sealed text: "v1." ID "." base64url(nonce[12] || ciphertext || tag[16]),
 * unpadded. The key id travels with the ciphertext so keys can rotate: the
 * last key of a ring encrypts, every key of it decrypts. The AAD names the
 * purpose ("report.body"), so a sealed value cannot be moved to another field.
 */
#ifndef CERTFLOW_SEAL_H
#define CERTFLOW_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#define SEAL_KEY_LEN	32
#define SEAL_KEY_ID_MAX	32
#define SEAL_NONCE_LEN	12
#define SEAL_TAG_LEN	16
#define SEAL_FILE_MAX	65536	/* largest key file seal_keyring_load reads */

struct seal_key {
	char id[SEAL_KEY_ID_MAX + 1];
	unsigned char key[SEAL_KEY_LEN];
};

/* The LAST key is the current one (encrypts); all of them decrypt. */
struct seal_keyring {
	struct seal_key *keys;
	size_t n;
};

/*
 * Loads a key file: one key per line "ID HEX" (ID = [A-Za-z0-9_.-]{1,32},
 * HEX = 64 hex digits, separated by spaces or tabs); '#' comment lines and
 * blank lines are ignored; at least one key; duplicate ids are refused. The
 * file must be a regular file not readable by group or others. RING must be
 * empty ({ NULL, 0 }) or hold a loaded ring: on success it is freed and
 * replaced, on failure left untouched and "PATH:LINE: reason" is put in ERR.
 * The file's bytes are wiped from memory once parsed.
 */
bool seal_keyring_load(const char *path, struct seal_keyring *ring,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/* The same on TEXT (named NAME in messages), without the permission check. */
bool seal_keyring_parse(const char *text, const char *name,
    struct seal_keyring *ring, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Wipes and frees the keys; RING is left empty. Safe on an empty ring. */
void seal_keyring_free(struct seal_keyring *ring);

/*
 * Encrypts PLAIN (N bytes; may be NULL when N is 0) with the current key,
 * binding AAD. Returns the malloc'ed, NUL-terminated sealed text (caller
 * frees), or NULL on an empty ring, a NULL AAD, or an OpenSSL failure.
 */
char *seal_encrypt(const struct seal_keyring *ring, const char *aad,
    const unsigned char *plain, size_t n) __attribute__((warn_unused_result));

/*
 * Decrypts TEXT with the key it names. Returns the malloc'ed plaintext with a
 * NUL appended (not counted in *N; caller wipes and frees), or NULL when the
 * format is wrong, the key id is unknown, the AAD differs or authentication
 * fails (*N is then 0). Never returns unauthenticated bytes.
 */
unsigned char *seal_decrypt(const struct seal_keyring *ring, const char *aad,
    const char *text, size_t *n) __attribute__((warn_unused_result));

/* Copies the key id TEXT was sealed with into ID; false if TEXT is malformed. */
bool seal_key_id(const char *text, char id[SEAL_KEY_ID_MAX + 1])
	__attribute__((warn_unused_result));

#endif
