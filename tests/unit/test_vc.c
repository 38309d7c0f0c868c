/*
 * test_vc.c - unit tests for lib/vc.c: a credential and its proof made by an
 * independent implementation (Python), sign-verify round trips of diplomas
 * and certificates, determinism, every altered byte refused, key rotation,
 * unknown and foreign keys, the proof's shape rules, status lists, the keys
 * document, and malformed facts refused with the fact named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certflow/jcs.h"
#include "certflow/multibase.h"
#include "certflow/sign.h"
#include "certflow/vc.h"

#define ISSUER	"https://certflow.example"
#define OTHER	"https://other.example"
#define UUID	"0f8fad5b-d9cb-469f-a165-70867728950e"
#define CREATED	"2026-07-01T08:00:00Z"
/* RFC 8032 section 7.1, TEST 1 and TEST 2: seeds and TEST 1's public key. */
#define SEED1 "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define PUB1 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define SEED2 "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"
#define MISMATCH "the signature does not match the document: it was " \
	"altered or signed by another key"

/*
 * The W3C vc-di-eddsa test key (TestVectors/keyPair.json) signing the
 * diploma of diploma_facts() as key "w3c" of ISSUER, created CREATED: the
 * canonical unsigned document and the proofValue, both computed with
 * /usr/bin/python3 alone (json.dumps with sorted keys as JCS, hashlib's
 * SHA-256 of the proof configuration with the document's @context, then
 * of the document; cryptography's Ed25519; base58btc by hand).
 */
#define W3C_SEED "c96ef9ea10c5e414c471723aff9de72c35fa5b70fae97e8832ecac7d2e2b8ed6"
#define PY_DOC_JCS "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"]," \
	"\"credentialStatus\":{\"id\":\"https://certflow.example/v1/status-lists/1#42\"," \
	"\"statusListCredential\":\"https://certflow.example/v1/status-lists/1\"," \
	"\"statusListIndex\":\"42\",\"statusPurpose\":\"revocation\",\"type\":" \
	"\"BitstringStatusListEntry\"},\"credentialSubject\":{\"jury\":{\"date\":" \
	"\"2026-06-29T15:30:00Z\",\"session\":\"7\"},\"name\":\"Ada Lovelace\"," \
	"\"path\":{\"code\":\"WEB\",\"title\":\"Web developer\"},\"projects\":" \
	"[{\"code\":\"P1\",\"title\":\"Shell\"}],\"skills\":[{\"code\":\"S1\"," \
	"\"project\":\"P1\",\"title\":\"Pipes\"}],\"type\":\"CertflowHolder\"}," \
	"\"id\":\"https://certflow.example/v1/credentials/" UUID "\",\"issuer\":" \
	"\"https://certflow.example\",\"type\":[\"VerifiableCredential\"," \
	"\"CertflowDiploma\"],\"validFrom\":\"2026-06-30T12:00:00Z\"}"
#define PY_PROOF_VALUE "z32UQeWyBGgLpQBKtkLpaCiiMfJopkvUCM5TJ3MwtSKHY4v3YNGt" \
	"yhWFPYgFyTuAjct6deHt8sop1TifMMKzKRHDF"

static json_t *
diploma_facts(void)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, "
	    "s:[{s:s, s:s}], s:[{s:s, s:s, s:s}], s:{s:i, s:s}, s:i, s:i}",
	    "id", UUID, "kind", "diploma", "issued_at", "2026-06-30T12:00:00Z",
	    "student", "name", "Ada Lovelace",
	    "path", "code", "WEB", "title", "Web developer",
	    "projects", "code", "P1", "title", "Shell",
	    "skills", "code", "S1", "title", "Pipes", "project", "P1",
	    "jury", "session_id", 7, "decided_at", "2026-06-29T15:30:00Z",
	    "status_list", 1, "status_index", 42);

	assert_non_null(f);
	return f;
}

static json_t *
certificate_facts(void)
{
	json_t *f = diploma_facts();

	assert_int_equal(json_object_set_new(f, "kind",
	    json_string("certificate")), 0);
	assert_int_equal(json_object_set_new(f, "jury", json_null()), 0);
	assert_int_equal(json_array_append_new(json_object_get(f, "projects"),
	    json_pack("{s:s, s:s}", "code", "P2", "title", "Café")), 0);
	assert_int_equal(json_array_append_new(json_object_get(f, "skills"),
	    json_pack("{s:s, s:s, s:s}", "code", "S2", "title", "Crème",
	    "project", "P2")), 0);
	return f;
}

static void
ring_of(const char *text, struct sign_keyring *ring)
{
	char err[256];

	if (!sign_keyring_parse(text, "test", ring, err, sizeof(err)))
		fail_msg("keyring: %s", err);
}

/* FACTS (consumed) as a credential of ISSUER signed by KEY. */
static char *
signed_credential(json_t *facts, const char *issuer,
    const struct sign_key *key)
{
	char err[256] = "";
	json_t *doc = vc_credential_document(issuer, facts, err, sizeof(err));
	char *text;

	if (doc == NULL)
		fail_msg("document: %s", err);
	if ((text = vc_sign(doc, issuer, key, CREATED, err, sizeof(err))) == NULL)
		fail_msg("sign: %s", err);
	json_decref(doc);
	json_decref(facts);
	return text;
}

/* Verifies TEXT against KEYS expecting failure with a message holding WANT. */
static void
refused(const char *text, const json_t *keys, const char *want)
{
	struct vc_verified v;
	char err[512] = "";

	if (vc_verify(text, strlen(text), keys, &v, err, sizeof(err)))
		fail_msg("verified, expected: %s", want);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_null(v.id);
	assert_null(v.skills);
}

/* Sets (or, with a leading '-', deletes) the member at PATH of DOC (JSON VALUE). */
static void
apply(json_t *doc, const char *path, const char *value)
{
	char buf[64], *key, *dot;
	bool del = path[0] == '-';
	json_t *at = doc;

	snprintf(buf, sizeof(buf), "%s", path + del);
	key = buf;
	while ((dot = strchr(key, '.')) != NULL) {
		char *bracket;

		*dot = '\0';
		if ((bracket = strchr(key, '[')) != NULL) {
			*bracket = '\0';
			at = json_array_get(json_object_get(at, key),
			    (size_t)atoi(bracket + 1));
		} else {
			at = json_object_get(at, key);
		}
		key = dot + 1;
	}
	assert_non_null(at);
	if (del)
		assert_int_equal(json_object_del(at, key), 0);
	else
		assert_int_equal(json_object_set_new(at, key, json_loads(value,
		    JSON_DECODE_ANY, NULL)), 0);
}

/* TEXT re-serialised after apply(PATH, VALUE) changed its parsed form. */
static char *
edited(const char *text, const char *path, const char *value)
{
	json_t *doc = json_loads(text, 0, NULL);
	char *out;

	assert_non_null(doc);
	apply(doc, path, value);
	assert_non_null(out = json_dumps(doc, JSON_COMPACT));
	json_decref(doc);
	return out;
}

static void
test_matches_python_vector(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	struct vc_verified v;
	json_t *facts = diploma_facts(), *doc, *keys, *signed_doc;
	char err[256] = "", *canon, *text;

	ring_of("w3c " W3C_SEED "\n", &ring);
	assert_non_null(doc = vc_credential_document(ISSUER, facts, err,
	    sizeof(err)));
	assert_non_null(canon = jcs_canonical(doc, NULL));
	assert_string_equal(canon, PY_DOC_JCS);
	assert_non_null(text = vc_sign(doc, ISSUER, sign_current(&ring),
	    CREATED, err, sizeof(err)));
	assert_non_null(signed_doc = json_loads(text, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    signed_doc, "proof"), "proofValue")), PY_PROOF_VALUE);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	assert_true(vc_verify(text, strlen(text), keys, &v, err, sizeof(err)));
	assert_string_equal(v.key_id, "w3c");
	vc_verified_free(&v);
	json_decref(signed_doc);
	json_decref(keys);
	json_decref(doc);
	json_decref(facts);
	free(canon);
	free(text);
	sign_keyring_free(&ring);
}

static void
test_diploma_round_trip(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	struct vc_verified v;
	char err[256] = "x", *text;
	json_t *keys, *doc, *subject, *proof;

	ring_of("k1 " SEED1 "\n", &ring);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	text = signed_credential(diploma_facts(), ISSUER, sign_current(&ring));
	assert_true(vc_verify(text, strlen(text), keys, &v, err, sizeof(err)));
	assert_string_equal(err, "");
	assert_string_equal(v.id, ISSUER "/v1/credentials/" UUID);
	assert_string_equal(v.kind, "diploma");
	assert_string_equal(v.issuer, ISSUER);
	assert_string_equal(v.valid_from, "2026-06-30T12:00:00Z");
	assert_string_equal(v.key_id, "k1");
	assert_string_equal(v.holder, "Ada Lovelace");
	assert_string_equal(v.path_code, "WEB");
	assert_string_equal(v.path_title, "Web developer");
	assert_int_equal(json_array_size(v.skills), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(v.skills, 0), "project")), "P1");
	assert_string_equal(v.status_list, ISSUER "/v1/status-lists/1");
	assert_int_equal(v.status_index, 42);
	vc_verified_free(&v);
	assert_null(v.id);
	vc_verified_free(&v);
	vc_verified_free(NULL);
	/* The emitted shape: compact, proof without @context, jury as given. */
	assert_null(strchr(text, '\n'));
	assert_non_null(doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL));
	subject = json_object_get(doc, "credentialSubject");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    subject, "jury"), "session")), "7");
	proof = json_object_get(doc, "proof");
	assert_int_equal(json_object_size(proof), 6);
	assert_null(json_object_get(proof, "@context"));
	assert_string_equal(json_string_value(json_object_get(proof,
	    "verificationMethod")), ISSUER "/.well-known/certflow/keys#k1");
	assert_string_equal(json_string_value(json_object_get(proof, "created")),
	    CREATED);
	/* OUT may be NULL. */
	assert_true(vc_verify(text, strlen(text), keys, NULL, err, sizeof(err)));
	json_decref(doc);
	json_decref(keys);
	free(text);
	sign_keyring_free(&ring);
}

static void
test_certificate_round_trip(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	struct vc_verified v;
	char err[256], *text;
	json_t *keys, *doc, *facts;

	ring_of("k1 " SEED1 "\n", &ring);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	text = signed_credential(certificate_facts(), ISSUER,
	    sign_current(&ring));
	assert_true(vc_verify(text, strlen(text), keys, &v, err, sizeof(err)));
	assert_string_equal(v.kind, "certificate");
	assert_int_equal(json_array_size(v.skills), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(v.skills, 1), "title")), "Crème");
	vc_verified_free(&v);
	assert_non_null(doc = json_loads(text, 0, NULL));
	assert_null(json_object_get(json_object_get(doc, "credentialSubject"),
	    "jury"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    doc, "type"), 1)), "CertflowCertificate");
	json_decref(doc);
	free(text);
	/* A certificate's jury may be absent as well as null. */
	facts = certificate_facts();
	json_object_del(facts, "jury");
	text = signed_credential(facts, ISSUER, sign_current(&ring));
	assert_true(vc_verify(text, strlen(text), keys, NULL, err, sizeof(err)));
	free(text);
	json_decref(keys);
	sign_keyring_free(&ring);
}

static void
test_signing_is_deterministic(void **state)
{
	struct sign_keyring ring = { NULL, 0 };
	char *a, *b, *c, err[256];
	json_t *doc, *facts = diploma_facts();

	ring_of("k1 " SEED1 "\n", &ring);
	assert_non_null(doc = vc_credential_document(ISSUER, facts, err,
	    sizeof(err)));
	assert_non_null(a = vc_sign(doc, ISSUER, sign_current(&ring), CREATED,
	    err, sizeof(err)));
	assert_non_null(b = vc_sign(doc, ISSUER, sign_current(&ring), CREATED,
	    err, sizeof(err)));
	assert_string_equal(a, b);
	/* DOC itself is not changed; another time gives another proof. */
	assert_null(json_object_get(doc, "proof"));
	assert_non_null(c = vc_sign(doc, ISSUER, sign_current(&ring),
	    "2026-07-01T08:00:01Z", err, sizeof(err)));
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
	json_decref(doc);
	json_decref(facts);
	sign_keyring_free(&ring);
}

static void
test_every_altered_byte_fails(void **state)
{
	static const unsigned char flips[] = { 0x01, 0x20, 0x80 };
	struct sign_keyring ring = { NULL, 0 };
	size_t len, syntax = 0, mismatch = 0;
	json_t *keys, *facts = certificate_facts();
	char err[512], *text, *copy;

	ring_of("k1 " SEED1 "\n", &ring);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	json_object_set_new(facts, "projects", json_pack("[{s:s, s:s}]",
	    "code", "P2", "title", "Café"));
	json_object_set_new(facts, "skills", json_pack("[{s:s, s:s, s:s}]",
	    "code", "S2", "title", "Crème", "project", "P2"));
	text = signed_credential(facts, ISSUER, sign_current(&ring));
	len = strlen(text);
	assert_non_null(copy = malloc(len + 1));
	for (size_t i = 0; i < len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			memcpy(copy, text, len + 1);
			copy[i] = (char)(copy[i] ^ flips[f]);
			err[0] = '\0';
			if (vc_verify(copy, len, keys, NULL, err, sizeof(err)))
				fail_msg("byte %zu ^ 0x%02x verifies", i, flips[f]);
			assert_true(err[0] != '\0');
			syntax += strncmp(err, "not valid JSON: ", 16) == 0;
			mismatch += strcmp(err, MISMATCH) == 0;
		}
		/* Every truncation fails too. */
		assert_false(vc_verify(text, i, keys, NULL, err, sizeof(err)));
		assert_true(strncmp(err, "not valid JSON: ", 16) == 0);
	}
	/* Both kinds of refusal occur, and they are most of them. */
	assert_true(syntax > 0 && mismatch > 0);
	assert_true(syntax + mismatch > 2 * len);
	assert_true(vc_verify(text, len, keys, NULL, err, sizeof(err)));
	free(copy);
	free(text);
	json_decref(keys);
	sign_keyring_free(&ring);
}

static void
test_rotation_keeps_old_credentials(void **state)
{
	struct sign_keyring old = { NULL, 0 }, now = { NULL, 0 };
	struct vc_verified v;
	json_t *old_keys, *keys, *m;
	char err[256], *by_k1, *by_k2;

	ring_of("k1 " SEED1 "\n", &old);
	ring_of("k1 public " PUB1 "\nk2 " SEED2 "\n", &now);
	by_k1 = signed_credential(diploma_facts(), ISSUER, sign_current(&old));
	by_k2 = signed_credential(diploma_facts(), ISSUER, sign_current(&now));
	assert_non_null(old_keys = vc_keys_document(ISSUER, &old));
	assert_non_null(keys = vc_keys_document(ISSUER, &now));
	/* The published list: ring order, the retired key kept. */
	assert_string_equal(json_string_value(json_object_get(keys, "id")),
	    ISSUER "/.well-known/certflow/keys");
	assert_int_equal(json_array_size(json_object_get(keys,
	    "verificationMethod")), 2);
	m = json_array_get(json_object_get(keys, "verificationMethod"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "id")),
	    ISSUER "/.well-known/certflow/keys#k1");
	assert_string_equal(json_string_value(json_object_get(m, "status")),
	    "retired");
	assert_string_equal(json_string_value(json_object_get(m, "controller")),
	    ISSUER);
	assert_string_equal(json_string_value(json_object_get(m, "type")),
	    "Multikey");
	assert_true(strncmp(json_string_value(json_object_get(m,
	    "publicKeyMultibase")), "z6Mk", 4) == 0);
	m = json_array_get(json_object_get(keys, "verificationMethod"), 1);
	assert_string_equal(json_string_value(json_object_get(m, "status")),
	    "current");
	assert_true(vc_verify(by_k1, strlen(by_k1), keys, &v, err, sizeof(err)));
	assert_string_equal(v.key_id, "k1");
	vc_verified_free(&v);
	assert_true(vc_verify(by_k2, strlen(by_k2), keys, &v, err, sizeof(err)));
	assert_string_equal(v.key_id, "k2");
	vc_verified_free(&v);
	/* The keys published before the rotation do not know k2. */
	refused(by_k2, old_keys, "key k2 is not among the published keys");
	free(by_k1);
	free(by_k2);
	json_decref(old_keys);
	json_decref(keys);
	sign_keyring_free(&old);
	sign_keyring_free(&now);
}

static void
test_unknown_and_foreign_keys(void **state)
{
	struct sign_keyring ring = { NULL, 0 }, k9 = { NULL, 0 };
	struct sign_keyring impostor = { NULL, 0 };
	json_t *keys, *other_keys, *impostor_keys, *facts, *doc;
	char err[256], *text, *foreign, *by_k9;

	ring_of("k1 " SEED1 "\n", &ring);
	ring_of("k9 " SEED2 "\n", &k9);
	ring_of("k1 " SEED2 "\n", &impostor);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	assert_non_null(other_keys = vc_keys_document(OTHER, &ring));
	assert_non_null(impostor_keys = vc_keys_document(ISSUER, &impostor));
	text = signed_credential(diploma_facts(), ISSUER, sign_current(&ring));
	by_k9 = signed_credential(diploma_facts(), ISSUER, sign_current(&k9));
	refused(by_k9, keys, "key k9 is not among the published keys");
	/* The same key id with another public key: the signature fails. */
	refused(text, impostor_keys, MISMATCH);
	/* The keys of another issuer list other ids. */
	refused(text, other_keys, "key k1 is not among the published keys");
	/* A credential of ISSUER whose proof names a key of OTHER. */
	facts = diploma_facts();
	assert_non_null(doc = vc_credential_document(ISSUER, facts, err,
	    sizeof(err)));
	assert_non_null(foreign = vc_sign(doc, OTHER, sign_current(&ring),
	    CREATED, err, sizeof(err)));
	refused(foreign, other_keys, "the proof's verificationMethod "
	    OTHER "/.well-known/certflow/keys#k1 is not a key published by "
	    "the issuer " ISSUER);
	/* A published key must be controlled by the issuer, and decode. */
	apply(keys, "verificationMethod[0].controller", "\"" OTHER "\"");
	refused(text, keys, "key k1 is published with controller " OTHER
	    ", not the issuer " ISSUER);
	json_decref(keys);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	apply(keys, "verificationMethod[0].publicKeyMultibase",
	    "\"z6MkNOTAKEY\"");
	refused(text, keys, "key k1 is not published as an Ed25519 Multikey");
	json_decref(keys);
	assert_non_null(keys = json_object());
	refused(text, keys, "the keys document has no verificationMethod list");
	free(text);
	free(by_k9);
	free(foreign);
	json_decref(doc);
	json_decref(facts);
	json_decref(keys);
	json_decref(other_keys);
	json_decref(impostor_keys);
	sign_keyring_free(&ring);
	sign_keyring_free(&k9);
	sign_keyring_free(&impostor);
}

/* The diploma, changed by apply(PATH, VALUE) before KEY signs it. */
static char *
signed_after(const struct sign_key *key, const char *path, const char *value)
{
	json_t *facts = diploma_facts(), *doc;
	char err[256], *text;

	assert_non_null(doc = vc_credential_document(ISSUER, facts, err,
	    sizeof(err)));
	apply(doc, path, value);
	assert_non_null(text = vc_sign(doc, ISSUER, key, CREATED, err,
	    sizeof(err)));
	json_decref(doc);
	json_decref(facts);
	return text;
}

static void
test_proof_rules(void **state)
{
	static const struct {
		const char *path, *value, *want;	/* as apply() takes them */
	} after[] = {
		{ "proof.@context", "[\"https://www.w3.org/2018/credentials/v1\"]",
		    "the proof's @context is not the start of the document's "
		    "@context" },
		{ "proof", "[{}, {}]", "the document carries a set of 2 proofs; "
		    "certflow credentials have exactly one" },
		{ "-proof", NULL, "the document has no proof" },
		{ "proof.cryptosuite", "\"eddsa-rdfc-2022\"", "the proof's "
		    "cryptosuite is eddsa-rdfc-2022, not eddsa-jcs-2022" },
		{ "proof.type", "\"Ed25519Signature2020\"", "the proof's type is "
		    "Ed25519Signature2020, not DataIntegrityProof" },
		{ "proof.proofPurpose", "\"authentication\"", "the proof's purpose "
		    "is authentication, not assertionMethod" },
		{ "-proof.proofPurpose", NULL, "the proof has no proofPurpose" },
		{ "proof.proofValue", "\"z0OIl\"", "the proofValue is not a "
		    "multibase base58btc Ed25519 signature" },
		{ "proof.proofValue", "\"z2NEpo7TZRRrLZSi2U\"", "the proofValue is "
		    "not a multibase base58btc Ed25519 signature" },
		{ "proof.created", "\"yesterday\"", "the proof's created time is "
		    "not an RFC 3339 timestamp" },
		{ "credentialSubject.name", "\"Eve\"", MISMATCH },
	}, before[] = {
		{ "type", "[\"VerifiableCredential\"]", "the credential is neither "
		    "a CertflowDiploma nor a CertflowCertificate" },
		{ "credentialStatus.statusListIndex", "\"042\"", "the "
		    "credential's statusListIndex is not a decimal index" },
		{ "credentialStatus", "[{}]", "the credential's credentialStatus "
		    "is not one BitstringStatusListEntry for revocation" },
		{ "-credentialSubject.name", NULL, "the credential has no "
		    "credentialSubject.name" },
		{ "@context", "[\"https://www.w3.org/2018/credentials/v1\"]",
		    "the document is not a W3C Verifiable Credential 2.0" },
	};
	struct sign_keyring ring = { NULL, 0 };
	json_t *keys;
	char err[256], *text, *changed;

	ring_of("k1 " SEED1 "\n", &ring);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	text = signed_credential(diploma_facts(), ISSUER, sign_current(&ring));
	/* The form of W3C's own vector: the proof repeats the @context. */
	changed = edited(text, "proof.@context",
	    "[\"" VC_CONTEXT_V2 "\"]");
	assert_non_null(strstr(changed, "\"proofPurpose\":\"assertionMethod\","
	    "\"proofValue\""));
	assert_true(vc_verify(changed, strlen(changed), keys, NULL, err,
	    sizeof(err)));
	free(changed);
	for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
		changed = edited(text, after[i].path, after[i].value);
		refused(changed, keys, after[i].want);
		free(changed);
	}
	/* Signed as they are, still not certflow credentials. */
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
		changed = signed_after(sign_current(&ring), before[i].path,
		    before[i].value);
		refused(changed, keys, before[i].want);
		free(changed);
	}
	/* Not JSON, or not one object without duplicate keys. */
	refused("[]", keys, "the document is not a JSON object");
	refused("{\"issuer\":\"" ISSUER "\",\"issuer\":\"" ISSUER "\"}", keys,
	    "not valid JSON: duplicate object key");
	refused("{} {}", keys, "not valid JSON: end of file expected");
	refused("{\"proof\":{}}", keys, "the document has no issuer URL");
	assert_false(vc_verify(NULL, 0, keys, NULL, err, sizeof(err)));
	assert_false(vc_verify(text, strlen(text), NULL, NULL, err,
	    sizeof(err)));
	free(text);
	json_decref(keys);
	sign_keyring_free(&ring);
}

static void
test_sign_refusals(void **state)
{
	struct sign_keyring ring = { NULL, 0 }, retired = { NULL, 0 };
	json_t *doc, *facts = diploma_facts(), *arr = json_array();
	char err[256];

	ring_of("k1 " SEED1 "\n", &ring);
	ring_of("k0 public " PUB1 "\n", &retired);
	assert_non_null(doc = vc_credential_document(ISSUER, facts, err,
	    sizeof(err)));
	assert_null(vc_sign(doc, ISSUER, &retired.keys[0], CREATED, err,
	    sizeof(err)));
	assert_string_equal(err, "key k0 cannot sign: it has no private part");
	assert_null(vc_sign(doc, ISSUER, NULL, CREATED, err, sizeof(err)));
	assert_null(vc_sign(doc, ISSUER, sign_current(&ring),
	    "2026-07-01T08:00:00+02:00", err, sizeof(err)));
	assert_string_equal(err, "the proof's created time must be a UTC "
	    "timestamp YYYY-MM-DDTHH:MM:SSZ");
	assert_null(vc_sign(doc, ISSUER "/", sign_current(&ring), CREATED, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "without a trailing '/'"));
	assert_null(vc_sign(arr, ISSUER, sign_current(&ring), CREATED, err,
	    sizeof(err)));
	assert_string_equal(err, "the document to sign is not a JSON object");
	json_object_set_new(doc, "proof", json_object());
	assert_null(vc_sign(doc, ISSUER, sign_current(&ring), CREATED, err,
	    sizeof(err)));
	assert_string_equal(err, "the document already has a proof");
	/* A number JCS cannot carry exactly is refused, not signed. */
	json_object_del(doc, "proof");
	json_object_set_new(doc, "big", json_integer(9007199254740993LL));
	assert_null(vc_sign(doc, ISSUER, sign_current(&ring), CREATED, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "cannot be canonicalised"));
	json_decref(arr);
	json_decref(doc);
	json_decref(facts);
	sign_keyring_free(&ring);
	sign_keyring_free(&retired);
}

static char *
signed_list(const struct sign_key *key, int64_t list, const uint64_t *set,
    size_t nset)
{
	char err[256], *text;
	json_t *doc = vc_status_list_document(ISSUER, list,
	    "2026-07-01T00:00:00Z", set, nset, err, sizeof(err));

	if (doc == NULL)
		fail_msg("status list: %s", err);
	assert_non_null(text = vc_sign(doc, ISSUER, key, "2026-07-01T00:00:00Z",
	    err, sizeof(err)));
	json_decref(doc);
	return text;
}

static void
test_status_list(void **state)
{
	static const uint64_t set[] = { 0, 42, 4096, VC_STATUS_LIST_BITS - 1 };
	static const uint64_t clear[] = { 1, 41, 43, 4095, 65536,
	    VC_STATUS_LIST_BITS - 2 };
	struct sign_keyring ring = { NULL, 0 }, k9 = { NULL, 0 };
	const char *url = ISSUER "/v1/status-lists/1";
	json_t *keys, *doc, *subject;
	char err[256], *text, *tampered, *cred;
	bool revoked;

	ring_of("k1 " SEED1 "\n", &ring);
	ring_of("k9 " SEED2 "\n", &k9);
	assert_non_null(keys = vc_keys_document(ISSUER, &ring));
	text = signed_list(sign_current(&ring), 1, set, 4);
	/* The document's shape. */
	assert_non_null(doc = json_loads(text, 0, NULL));
	assert_string_equal(json_string_value(json_object_get(doc, "id")), url);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    doc, "type"), 1)), "BitstringStatusListCredential");
	subject = json_object_get(doc, "credentialSubject");
	assert_string_equal(json_string_value(json_object_get(subject, "id")),
	    ISSUER "/v1/status-lists/1#list");
	assert_string_equal(json_string_value(json_object_get(subject,
	    "statusPurpose")), "revocation");
	json_decref(doc);
	for (size_t i = 0; i < 4; i++) {
		revoked = false;
		assert_true(vc_status_check(text, strlen(text), keys, url, set[i],
		    &revoked, err, sizeof(err)));
		assert_true(revoked);
	}
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++) {
		revoked = true;
		assert_true(vc_status_check(text, strlen(text), keys, url,
		    clear[i], &revoked, err, sizeof(err)));
		assert_false(revoked);
	}
	/* Another list, an index beyond it, a tampered or foreign list. */
	assert_false(vc_status_check(text, strlen(text), keys,
	    ISSUER "/v1/status-lists/2", 42, &revoked, err, sizeof(err)));
	assert_string_equal(err, "the status list is " ISSUER
	    "/v1/status-lists/1, not the credential's list " ISSUER
	    "/v1/status-lists/2");
	assert_false(vc_status_check(text, strlen(text), keys, url,
	    VC_STATUS_LIST_BITS, &revoked, err, sizeof(err)));
	assert_non_null(strstr(err, "holding index 131072"));
	tampered = edited(text, "id", "\"" ISSUER "/v1/status-lists/2\"");
	assert_false(vc_status_check(tampered, strlen(tampered), keys,
	    ISSUER "/v1/status-lists/2", 42, &revoked, err, sizeof(err)));
	assert_string_equal(err, MISMATCH);
	free(tampered);
	tampered = signed_list(sign_current(&k9), 1, set, 4);
	assert_false(vc_status_check(tampered, strlen(tampered), keys, url, 42,
	    &revoked, err, sizeof(err)));
	assert_string_equal(err, "key k9 is not among the published keys");
	free(tampered);
	/* A credential is not a status list. */
	cred = signed_credential(diploma_facts(), ISSUER, sign_current(&ring));
	assert_false(vc_status_check(cred, strlen(cred), keys,
	    ISSUER "/v1/credentials/" UUID, 42, &revoked, err, sizeof(err)));
	assert_string_equal(err, "the document is not a "
	    "BitstringStatusListCredential");
	free(cred);
	/* An empty list is all zeros. */
	free(text);
	text = signed_list(sign_current(&ring), 1, NULL, 0);
	assert_true(vc_status_check(text, strlen(text), keys, url, 0, &revoked,
	    err, sizeof(err)));
	assert_false(revoked);
	free(text);
	json_decref(keys);
	sign_keyring_free(&ring);
	sign_keyring_free(&k9);
}

static void
test_status_list_refusals(void **state)
{
	static const uint64_t beyond[] = { 3, VC_STATUS_LIST_BITS };
	char err[256];

	assert_null(vc_status_list_document(ISSUER, 0, "2026-07-01T00:00:00Z",
	    NULL, 0, err, sizeof(err)));
	assert_string_equal(err, "status list number 0 must be at least 1");
	assert_null(vc_status_list_document(ISSUER, 1, "2026-07-01", NULL, 0,
	    err, sizeof(err)));
	assert_string_equal(err, "validFrom must be a UTC timestamp "
	    "YYYY-MM-DDTHH:MM:SSZ");
	assert_null(vc_status_list_document(ISSUER, 1, "2026-07-01T00:00:00Z",
	    beyond, 2, err, sizeof(err)));
	assert_string_equal(err, "status index 131072 is beyond the list's "
	    "131072 entries");
	assert_null(vc_status_list_document("http://certflow.example", 1,
	    "2026-07-01T00:00:00Z", NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "https URL"));
	assert_null(vc_keys_document("https://", NULL));
}

/* Each malformed fact, and the message that names it. */
static const struct {
	const char *path;	/* "a.b" or "a[0].b"; a leading '-' deletes */
	const char *value;	/* JSON, for a change */
	const char *want;
} bad_facts[] = {
	{ "-id", NULL, "fact 'id' is required" },
	{ "id", "\"0F8FAD5B-D9CB-469F-A165-70867728950E\"", "fact 'id' must be "
	    "a lower-case UUID" },
	{ "id", "\"0f8fad5bd9cb469fa16570867728950e\"", "fact 'id' must be a "
	    "lower-case UUID" },
	{ "kind", "\"badge\"", "fact 'kind' must be one of diploma, certificate" },
	{ "issued_at", "\"2026-06-30 12:00:00\"", "fact 'issued_at' must be an "
	    "RFC 3339 timestamp" },
	{ "issued_at", "\"2026-06-30T12:00:00.5Z\"", "fact 'issued_at' must be "
	    "a UTC timestamp YYYY-MM-DDTHH:MM:SSZ" },
	{ "issued_at", "\"2026-06-30T14:00:00+02:00\"", "fact 'issued_at' must "
	    "be a UTC timestamp YYYY-MM-DDTHH:MM:SSZ" },
	{ "issued_at", "\"2026-02-30T12:00:00Z\"", "fact 'issued_at' must be "
	    "an RFC 3339 timestamp" },
	{ "student.name", "\"\"", "fact 'student.name' must be at least 1 "
	    "characters long" },
	{ "student.name", "42", "fact 'student.name' must be a string" },
	{ "-student", NULL, "fact 'student' is required" },
	{ "path.title", "null", "fact 'path.title' must not be null" },
	{ "path.code", "\"has space\"", "fact 'path.code' must be a code" },
	{ "projects", "[]", "fact 'projects' must have at least 1 item" },
	{ "projects[0].title", "\"\"", "fact 'projects[0].title' must be at "
	    "least 1" },
	{ "skills[0].project", "\"P9\"", "fact 'skills[0].project' names P9, "
	    "which is not among the projects" },
	{ "-skills[0].code", NULL, "fact 'skills[0].code' is required" },
	{ "skills", "{}", "fact 'skills' must be an array" },
	{ "jury", "null", "fact 'jury' is required for a diploma" },
	{ "-jury", NULL, "fact 'jury' is required for a diploma" },
	{ "jury.session_id", "0", "fact 'jury.session_id' must be a positive "
	    "integer id" },
	{ "jury.session_id", "\"7\"", "fact 'jury.session_id' must be a "
	    "positive integer id" },
	{ "jury.decided_at", "\"2026-06-29T15:30Z\"", "fact 'jury.decided_at' "
	    "must be an RFC 3339 timestamp" },
	{ "jury.decided_at", "\"2026-06-29t15:30:00z\"", "fact "
	    "'jury.decided_at' must be a UTC timestamp YYYY-MM-DDTHH:MM:SSZ" },
	{ "status_list", "0", "fact 'status_list' must be a positive integer id" },
	{ "-status_list", NULL, "fact 'status_list' is required" },
	{ "status_index", "-1", "fact 'status_index' must be an integer between "
	    "0 and 131071" },
	{ "status_index", "131072", "fact 'status_index' must be an integer "
	    "between 0 and 131071" },
	{ "status_index", "1.5", "fact 'status_index' must be an integer" },
	{ "extra", "1", "fact 'extra' unknown field" },
};

static void
test_malformed_facts(void **state)
{
	char err[256];
	json_t *facts, *doc;

	for (size_t i = 0; i < sizeof(bad_facts) / sizeof(bad_facts[0]); i++) {
		facts = diploma_facts();
		apply(facts, bad_facts[i].path, bad_facts[i].value);
		err[0] = '\0';
		if (vc_credential_document(ISSUER, facts, err, sizeof(err)) != NULL)
			fail_msg("facts with %s accepted", bad_facts[i].path);
		if (strncmp(err, bad_facts[i].want, strlen(bad_facts[i].want)) != 0)
			fail_msg("%s: '%s', want '%s'", bad_facts[i].path, err,
			    bad_facts[i].want);
		json_decref(facts);
	}
	/* A certificate has no jury; a repeated project is a slip. */
	facts = certificate_facts();
	apply(facts, "jury", "{\"session_id\": 7, \"decided_at\": "
	    "\"2026-06-29T15:30:00Z\"}");
	assert_null(vc_credential_document(ISSUER, facts, err, sizeof(err)));
	assert_string_equal(err, "fact 'jury' must be null for a certificate");
	apply(facts, "jury", "null");
	apply(facts, "projects[1].code", "\"P1\"");
	assert_null(vc_credential_document(ISSUER, facts, err, sizeof(err)));
	assert_string_equal(err, "fact 'projects[1].code' repeats project P1");
	json_decref(facts);
	/* No skill acquired is a fact, not a malformed one. */
	facts = certificate_facts();
	apply(facts, "skills", "[]");
	assert_non_null(doc = vc_credential_document(ISSUER, facts, err,
	    sizeof(err)));
	json_decref(doc);
	json_decref(facts);
	assert_null(vc_credential_document(ISSUER, NULL, err, sizeof(err)));
	assert_string_equal(err, "the facts are not a JSON object");
	facts = diploma_facts();
	assert_null(vc_credential_document(ISSUER "/x/", facts, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "the issuer must be an https URL"));
	assert_null(vc_credential_document("https://a b", facts, err,
	    sizeof(err)));
	assert_string_equal(err, "the issuer must not contain spaces or "
	    "control characters");
	json_decref(facts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_python_vector),
		cmocka_unit_test(test_diploma_round_trip),
		cmocka_unit_test(test_certificate_round_trip),
		cmocka_unit_test(test_signing_is_deterministic),
		cmocka_unit_test(test_every_altered_byte_fails),
		cmocka_unit_test(test_rotation_keeps_old_credentials),
		cmocka_unit_test(test_unknown_and_foreign_keys),
		cmocka_unit_test(test_proof_rules),
		cmocka_unit_test(test_sign_refusals),
		cmocka_unit_test(test_status_list),
		cmocka_unit_test(test_status_list_refusals),
		cmocka_unit_test(test_malformed_facts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
