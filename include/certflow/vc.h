/*
 * vc.h - certflow's W3C Verifiable Credentials 2.0: the diploma and
 * certificate documents built from the facts the database records, the
 * Bitstring Status List credential, the published keys document, and the
 * Data Integrity proof (cryptosuite eddsa-jcs-2022) that signs and verifies
 * all of them. Pure: no clock, no network, no database.
 *
 * URLs, for an issuer ISSUER (an https URL without a trailing '/'):
 *   credential        ISSUER/v1/credentials/UUID
 *   status list       ISSUER/v1/status-lists/LIST
 *   keys document     ISSUER/.well-known/certflow/keys
 *   verification key  ISSUER/.well-known/certflow/keys#KEY_ID
 */
#ifndef CERTFLOW_VC_H
#define CERTFLOW_VC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <certflow/sign.h>

#define VC_CONTEXT_V2		"https://www.w3.org/ns/credentials/v2"
#define VC_CRYPTOSUITE		"eddsa-jcs-2022"
#define VC_STATUS_LIST_BITS	131072	/* entries per status list */

/*
 * The unsigned credential for FACTS, a JSON object the database builds:
 *   {"id": "UUID", "kind": "diploma"|"certificate",
 *    "issued_at": "YYYY-MM-DDTHH:MM:SSZ",
 *    "student": {"name": "..."},
 *    "path": {"code": "...", "title": "..."},
 *    "projects": [{"code": "...", "title": "..."}, ...],
 *    "skills": [{"code": "...", "title": "...", "project": "PROJECT_CODE"}, ...],
 *    "jury": {"session_id": N, "decided_at": "YYYY-MM-DDTHH:MM:SSZ"} | null,
 *    "status_list": N, "status_index": N}
 * Strict: no other member; codes are [A-Za-z0-9][A-Za-z0-9_.-]* (at most
 * 64); names and titles non-empty; at least one project, project codes
 * unique, and every skill's project among them; times exactly
 * in that UTC form; the jury an object for a diploma, null or absent for a
 * certificate; status_list >= 1, status_index below VC_STATUS_LIST_BITS.
 * Returns a new reference (caller decrefs), or NULL with a reason in ERR
 * naming the fact ("fact 'skills[0].project' names P9, ...").
 */
json_t *vc_credential_document(const char *issuer, const json_t *facts,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The unsigned BitstringStatusListCredential of list LIST, valid from
 * VALID_FROM (RFC 3339, UTC), whose revocation bits at the NSET indexes in
 * SET are 1 (VC_STATUS_LIST_BITS entries). NULL with ERR on failure.
 */
json_t *vc_status_list_document(const char *issuer, int64_t list,
    const char *valid_from, const uint64_t *set, size_t nset,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The keys document served at ISSUER/.well-known/certflow/keys: every key
 * of RING as a Multikey verification method, the one that signs marked
 * "current", the others "retired". New reference; NULL when ISSUER is not
 * an https URL without a trailing '/', or out of memory.
 */
json_t *vc_keys_document(const char *issuer, const struct sign_keyring *ring)
	__attribute__((warn_unused_result));

/*
 * DOC with a DataIntegrityProof (eddsa-jcs-2022, proofPurpose
 * assertionMethod, verificationMethod ISSUER/.well-known/certflow/keys#ID
 * of KEY, created CREATED) added, as compact JSON text (malloc'ed, caller
 * frees). DOC is not changed. The same inputs always give the same bytes.
 * NULL with ERR when DOC cannot be canonicalised or KEY cannot sign.
 */
char *vc_sign(const json_t *doc, const char *issuer, const struct sign_key *key,
    const char *created, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* What a verified credential says; owned by the struct (vc_verified_free). */
struct vc_verified {
	char *id;			/* the credential's id URL */
	char *kind;			/* "diploma" or "certificate" */
	char *issuer;
	char *valid_from;
	char *key_id;			/* the fragment of verificationMethod */
	char *holder;			/* credentialSubject.name */
	char *path_code, *path_title;
	json_t *skills;			/* credentialSubject.skills, as signed */
	char *status_list;		/* statusListCredential URL; NULL if none */
	uint64_t status_index;
};

/*
 * Verifies the signed document TEXT (LEN bytes) against KEYS, a keys
 * document as vc_keys_document builds it: strict JSON, one proof of type
 * DataIntegrityProof with cryptosuite eddsa-jcs-2022 and proofPurpose
 * assertionMethod, its verificationMethod found in KEYS and controlled by
 * the document's issuer, and the Ed25519 signature over the JCS hash data.
 * A proof that carries an @context (as W3C's own vectors do) must have it
 * as the start of the document's and signs under it, per the spec.
 * On success fills OUT (when not NULL) and leaves ERR empty; otherwise OUT
 * is zeroed and a message in ERR says what failed ("not valid JSON: ...",
 * "the signature does not match the document: it was altered or signed by
 * another key", "key k9 is not among the published keys").
 */
bool vc_verify(const char *text, size_t len, const json_t *keys,
    struct vc_verified *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

void vc_verified_free(struct vc_verified *v);

/*
 * Verifies the status list credential TEXT (LEN bytes) against KEYS like
 * vc_verify (the same proof code), checks that its id is LIST_URL, that it
 * is a BitstringStatusListCredential for revocation, and puts the bit at
 * INDEX in *REVOKED. False with ERR when any of that fails.
 */
bool vc_status_check(const char *text, size_t len, const json_t *keys,
    const char *list_url, uint64_t index, bool *revoked, char *err,
    size_t errlen) __attribute__((warn_unused_result));

#endif
