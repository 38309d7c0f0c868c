/*
 * credentials.h - certflowd's signing side of the credentials: the Ed25519
 * key ring of signing_key_file and the issuer URL, and the signed documents
 * built from what the database answers (facts, status list bits).
 */
#ifndef CERTFLOW_CREDENTIALS_H
#define CERTFLOW_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include <certflow/config.h>

/* Loads the key ring; without signing_key_file credentials are disabled. */
bool credentials_init(const struct config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* SIGHUP: a new ring replaces the running one only when the file is good. */
bool credentials_reload(const struct config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));
bool credentials_enabled(void);
void credentials_free(void);

/*
 * The signed credential of FACTS (lib/vc.h) under the current key, whose id
 * goes to *KEY_ID (points into the ring: valid until the next reload).
 * Malloc'ed JSON text; NULL with ERR.
 */
char *credentials_sign_facts(const json_t *facts, const char **key_id,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/* The signed status list credential of LIST ({list, valid_from, revoked}). */
char *credentials_sign_status_list(const json_t *list, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * Signs the N bytes of MSG with the current key (Ed25519) into SIG; its id
 * goes to *KEY_ID (valid until the next reload). False when signing is off.
 */
bool credentials_sign_raw(const unsigned char *msg, size_t n, unsigned char sig[64],
    const char **key_id) __attribute__((warn_unused_result));

/* The keys document (current and retired keys), malloc'ed JSON text. */
char *credentials_keys_json(void) __attribute__((warn_unused_result));

#endif
