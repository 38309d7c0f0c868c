/*
 * sign.h - Ed25519 signing keys for Data Integrity proofs (eddsa-jcs-2022):
 * the signing key file, signatures, verification, and the cryptosuite's hash
 * data. The LAST key of a ring that has a private part signs; every key,
 * retired ones included, verifies. Canonicalisation (JCS) is the caller's.
 */
#ifndef CERTFLOW_SIGN_H
#define CERTFLOW_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

#define SIGN_KEY_ID_MAX		128
#define SIGN_SEED_LEN		32	/* an Ed25519 private key (RFC 8032 seed) */
#define SIGN_PUB_LEN		32
#define SIGN_SIG_LEN		64
#define SIGN_HASH_DATA_LEN	64	/* eddsa-jcs-2022: two SHA-256 */
#define SIGN_FILE_MAX		65536	/* largest key file sign_keyring_load reads */

struct sign_key {
	char id[SIGN_KEY_ID_MAX + 1];
	EVP_PKEY *pkey;			/* owned; private or public only */
	unsigned char pub[SIGN_PUB_LEN];
	bool has_private;
};

/* The LAST key with a private part signs; all of them verify. */
struct sign_keyring {
	struct sign_key *keys;
	size_t n;
};

/*
 * Loads a signing key file, one key per line, fields separated by spaces or
 * tabs:
 *   ID HEX          a key that signs: HEX = 64 hex digits, the 32-byte seed
 *   ID public HEX   a retired key kept to verify: HEX = the public key
 * ID is 1 to SIGN_KEY_ID_MAX characters of [A-Za-z0-9_.-] (usable as a URL
 * fragment and in JSON as is). '#' comment lines and blank lines are ignored;
 * at least one key; duplicate ids, and the same public key twice, are
 * refused. The file must be a regular file not writable by group or others,
 * and, when it holds a private key, not readable by them either (chmod 600).
 * RING must be empty ({ NULL, 0 }) or hold a loaded ring: on success it is
 * freed and replaced; on failure it is left untouched and "PATH:LINE: reason"
 * (or "PATH: reason") is put in ERR. The file's bytes are wiped once parsed;
 * no message ever contains key material.
 */
bool sign_keyring_load(const char *path, struct sign_keyring *ring,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/* The same on TEXT (named NAME in messages), without the permission checks. */
bool sign_keyring_parse(const char *text, const char *name,
    struct sign_keyring *ring, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Frees the keys (OpenSSL wipes the private parts); RING is left empty. */
void sign_keyring_free(struct sign_keyring *ring);

/* The key that signs (the last with a private part); NULL if none can. */
const struct sign_key *sign_current(const struct sign_keyring *ring);

/* The key named ID, or NULL. */
const struct sign_key *sign_find(const struct sign_keyring *ring,
    const char *id);

/*
 * Writes the Ed25519 signature of the N bytes of MSG (NULL when N is 0) with
 * KEY into SIG. False when KEY has no private part or OpenSSL fails (its
 * error queue then says why).
 */
bool sign_ed25519(const struct sign_key *key, const unsigned char *msg,
    size_t n, unsigned char sig[SIGN_SIG_LEN])
	__attribute__((warn_unused_result));

/*
 * True when SIG is a valid Ed25519 signature of MSG (N bytes) under PUB.
 * A refusal clears OpenSSL's error queue: a bad signature is not an error.
 */
bool sign_verify_ed25519(const unsigned char pub[SIGN_PUB_LEN],
    const unsigned char *msg, size_t n, const unsigned char sig[SIGN_SIG_LEN])
	__attribute__((warn_unused_result));

/*
 * The eddsa-jcs-2022 hash data (W3C vc-di-eddsa, section "Hashing
 * (eddsa-jcs-2022)"): SHA-256(canonical proof options) || SHA-256(canonical
 * document), 64 bytes, the message that sign_ed25519 signs. The caller
 * canonicalises (JCS) both and leaves proofValue out. Returns false (OUT
 * zeroed) only if OpenSSL cannot hash: a caller that ignores the result signs
 * a hash no document matches.
 */
bool sign_jcs2022_hash_data(const char *canon_proof_options, size_t po_len,
    const char *canon_document, size_t doc_len,
    unsigned char out[SIGN_HASH_DATA_LEN]);

/*
 * A fresh private key line "ID HEX\n" for a signing key file (certflow keys
 * new-signing), from RAND_bytes. Returns it malloc'ed; the caller wipes
 * (OPENSSL_cleanse) and frees it. NULL when ID is not a valid key id or the
 * CSPRNG or memory fails.
 */
char *sign_generate_line(const char *id) __attribute__((warn_unused_result));

#endif
