/*
 * vc.c - owns certflow's W3C Verifiable Credentials: the diploma, certificate,
 * status list and keys documents built from facts, and the Data Integrity
 * proof (eddsa-jcs-2022) that signs and verifies all of them through one
 * hashing path. Pure: no clock, no network, no database; never logs, and
 * never puts key material in a message. Text quoted from a document being
 * verified is clipped and stripped of control characters.
 */
#include "certflow/vc.h"
#include "certflow/jcs.h"
#include "certflow/jsonin.h"
#include "certflow/multibase.h"
#include "certflow/statuslist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER_MAX	1024		/* longest issuer URL we build on */
#define URL_MAX		(ISSUER_MAX + 256)
#define CLIP_MAX	96		/* quoted untrusted text, NUL included */
#define KEYS_PATH	"/.well-known/certflow/keys"
#define PROOF_TYPE	"DataIntegrityProof"
#define PROOF_PURPOSE	"assertionMethod"
#define MISMATCH	"the signature does not match the document: it was " \
	"altered or signed by another key"

_Static_assert(VC_STATUS_LIST_BITS >= STATUSLIST_MIN_BITS &&
    VC_STATUS_LIST_BITS % 8 == 0, "a status list statuslist.c encodes");

static bool errorf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes the message into ERR (when there is room); returns false. */
static bool
errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return false;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* S (untrusted) for a message: clipped, control characters as '?'. */
static const char *
clip(const char *s, char buf[CLIP_MAX])
{
	size_t i, max = CLIP_MAX - 4;

	if (s == NULL)
		s = "(none)";
	for (i = 0; s[i] != '\0' && i < max; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (s[i] != '\0')
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* The string member KEY of OBJ without NUL characters, or NULL. */
static const char *
member_string(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);

	return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

/* True when member KEY of OBJ is the string WANT. */
static bool
member_is(const json_t *obj, const char *key, const char *want)
{
	const char *s = member_string(obj, key);

	return s != NULL && strcmp(s, want) == 0;
}

/* True when the "type" of OBJ (a string or an array of them) includes T. */
static bool
has_type(const json_t *obj, const char *t)
{
	const json_t *type = json_object_get(obj, "type"), *v;
	size_t i;

	if (json_is_string(type))
		return strcmp(json_string_value(type), t) == 0;
	json_array_foreach(type, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), t) == 0)
			return true;
	return false;
}

/* "YYYY-MM-DDTHH:MM:SSZ" naming a real instant: the one form we write. */
static bool
utc_second_ok(const char *s)
{
	return s != NULL && strlen(s) == 20 && s[10] == 'T' && s[19] == 'Z' &&
	    jsonin_format_ok(JF_FMT_TIMESTAMP, s);
}

/* An https URL without a trailing '/', query or fragment, that we can extend. */
static bool
issuer_ok(const char *issuer, char *err, size_t errlen)
{
	size_t n = issuer != NULL ? strlen(issuer) : 0;

	if (n <= 8 || n > ISSUER_MAX || strncmp(issuer, "https://", 8) != 0 ||
	    issuer[n - 1] == '/' || strpbrk(issuer, "?#") != NULL)
		return errorf(err, errlen, "the issuer must be an https URL of "
		    "at most %d characters without a trailing '/', a query or "
		    "a fragment", ISSUER_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)issuer[i] <= 0x20 || issuer[i] == 0x7f)
			return errorf(err, errlen, "the issuer must not contain "
			    "spaces or control characters");
	return true;
}

/* ---- documents ---- */

static const char *const kind_choices[] = { "diploma", "certificate", NULL };

#define CODE_FACT { .name = "code", .type = JF_STRING, .required = true, \
	.min = 1, .max = 64, .format = JF_FMT_CODE }
#define TEXT_FACT(n) { .name = n, .type = JF_STRING, .required = true, .min = 1 }

static const struct jf_field student_facts[] = { TEXT_FACT("name") };
static const struct jf_schema student_schema = JF_SCHEMA(student_facts);
static const struct jf_field titled_facts[] = { CODE_FACT, TEXT_FACT("title") };
static const struct jf_schema titled_schema = JF_SCHEMA(titled_facts);
static const struct jf_field skill_facts[] = {
	CODE_FACT, TEXT_FACT("title"),
	{ .name = "project", .type = JF_STRING, .required = true, .min = 1,
	  .max = 64, .format = JF_FMT_CODE },
};
static const struct jf_schema skill_schema = JF_SCHEMA(skill_facts);
static const struct jf_field jury_facts[] = {
	{ .name = "session_id", .type = JF_ID, .required = true },
	{ .name = "decided_at", .type = JF_STRING, .required = true,
	  .format = JF_FMT_TIMESTAMP },
};
static const struct jf_schema jury_schema = JF_SCHEMA(jury_facts);
static const struct jf_field credential_facts[] = {
	{ .name = "id", .type = JF_STRING, .required = true,
	  .format = JF_FMT_UUID },
	{ .name = "kind", .type = JF_STRING, .required = true,
	  .choices = kind_choices },
	{ .name = "issued_at", .type = JF_STRING, .required = true,
	  .format = JF_FMT_TIMESTAMP },
	{ .name = "student", .type = JF_OBJECT, .required = true,
	  .sub = &student_schema },
	{ .name = "path", .type = JF_OBJECT, .required = true,
	  .sub = &titled_schema },
	{ .name = "projects", .type = JF_ARRAY, .required = true, .min = 1,
	  .item = JF_OBJECT, .sub = &titled_schema },
	{ .name = "skills", .type = JF_ARRAY, .required = true,
	  .item = JF_OBJECT, .sub = &skill_schema },
	{ .name = "jury", .type = JF_OBJECT, .sub = &jury_schema,
	  .nullable = true },
	{ .name = "status_list", .type = JF_ID, .required = true },
	{ .name = "status_index", .type = JF_INT, .required = true, .min = 0,
	  .max = VC_STATUS_LIST_BITS - 1 },
};
static const struct jf_schema credential_schema = JF_SCHEMA(credential_facts);

/* The project of FACTS whose code is CODE, or NULL. */
static const json_t *
find_project(const json_t *facts, const char *code)
{
	const json_t *p;
	size_t i;

	json_array_foreach(json_object_get(facts, "projects"), i, p)
		if (member_is(p, "code", code))
			return p;
	return NULL;
}

/*
 * What the schema cannot say: the timestamps' one form, the jury of a
 * diploma only, project codes unique and every skill's project listed.
 */
static bool
facts_consistent(const json_t *facts, char *err, size_t errlen)
{
	const json_t *jury = json_object_get(facts, "jury"), *v;
	bool diploma = member_is(facts, "kind", "diploma");
	size_t i;

	if (!utc_second_ok(member_string(facts, "issued_at")))
		return errorf(err, errlen, "fact 'issued_at' must be a UTC "
		    "timestamp YYYY-MM-DDTHH:MM:SSZ");
	if (diploma && !json_is_object(jury))
		return errorf(err, errlen, "fact 'jury' is required for a "
		    "diploma");
	if (!diploma && jury != NULL && !json_is_null(jury))
		return errorf(err, errlen, "fact 'jury' must be null for a "
		    "certificate");
	if (diploma && !utc_second_ok(member_string(jury, "decided_at")))
		return errorf(err, errlen, "fact 'jury.decided_at' must be a "
		    "UTC timestamp YYYY-MM-DDTHH:MM:SSZ");
	json_array_foreach(json_object_get(facts, "projects"), i, v)
		if (find_project(facts, member_string(v, "code")) != v)
			return errorf(err, errlen, "fact 'projects[%zu].code' "
			    "repeats project %s", i, member_string(v, "code"));
	json_array_foreach(json_object_get(facts, "skills"), i, v)
		if (find_project(facts, member_string(v, "project")) == NULL)
			return errorf(err, errlen, "fact 'skills[%zu].project' "
			    "names %s, which is not among the projects", i,
			    member_string(v, "project"));
	return true;
}

json_t *
vc_credential_document(const char *issuer, const json_t *facts, char *err,
    size_t errlen)
{
	struct jsonin_error je;
	const json_t *jury, *path;
	json_t *projects = NULL, *skills = NULL, *subject = NULL, *doc = NULL;
	char cred_url[URL_MAX], list_url[URL_MAX], entry_url[URL_MAX];
	char index[32], session[32];
	json_int_t list;
	bool diploma;

	if (!issuer_ok(issuer, err, errlen))
		return NULL;
	if (!json_is_object(facts)) {
		errorf(err, errlen, "the facts are not a JSON object");
		return NULL;
	}
	if (!jsonin_validate(facts, &credential_schema, &je)) {
		errorf(err, errlen, "fact '%s' %s", je.field, je.detail);
		return NULL;
	}
	if (!facts_consistent(facts, err, errlen))
		return NULL;
	diploma = member_is(facts, "kind", "diploma");
	jury = json_object_get(facts, "jury");
	path = json_object_get(facts, "path");
	snprintf(cred_url, sizeof(cred_url), "%s/v1/credentials/%s", issuer,
	    member_string(facts, "id"));
	list = json_integer_value(json_object_get(facts, "status_list"));
	snprintf(index, sizeof(index), "%" JSON_INTEGER_FORMAT,
	    json_integer_value(json_object_get(facts, "status_index")));
	snprintf(list_url, sizeof(list_url), "%s/v1/status-lists/%"
	    JSON_INTEGER_FORMAT, issuer, list);
	snprintf(entry_url, sizeof(entry_url), "%s/v1/status-lists/%"
	    JSON_INTEGER_FORMAT "#%s", issuer, list, index);
	/* Copies: the facts hold exactly the members the schema names. */
	if ((projects = json_deep_copy(json_object_get(facts, "projects"))) ==
	    NULL ||
	    (skills = json_deep_copy(json_object_get(facts, "skills"))) == NULL ||
	    (subject = json_pack("{s:s, s:s, s:{s:O, s:O}, s:O, s:O}",
	    "type", "CertflowHolder",
	    "name", member_string(json_object_get(facts, "student"), "name"),
	    "path", "code", json_object_get(path, "code"),
	    "title", json_object_get(path, "title"),
	    "projects", projects, "skills", skills)) == NULL)
		goto fail;
	if (diploma) {
		snprintf(session, sizeof(session), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(json_object_get(jury, "session_id")));
		if (json_object_set_new(subject, "jury", json_pack("{s:s, s:O}",
		    "session", session, "date",
		    json_object_get(jury, "decided_at"))) != 0)
			goto fail;
	}
	doc = json_pack("{s:[s], s:s, s:[s, s], s:s, s:O, s:O, "
	    "s:{s:s, s:s, s:s, s:s, s:s}}",
	    "@context", VC_CONTEXT_V2,
	    "id", cred_url,
	    "type", "VerifiableCredential",
	    diploma ? "CertflowDiploma" : "CertflowCertificate",
	    "issuer", issuer,
	    "validFrom", json_object_get(facts, "issued_at"),
	    "credentialSubject", subject,
	    "credentialStatus", "id", entry_url,
	    "type", "BitstringStatusListEntry", "statusPurpose", "revocation",
	    "statusListIndex", index, "statusListCredential", list_url);
fail:
	/* Past the checks above, only memory can fail. */
	if (doc == NULL)
		errorf(err, errlen, "out of memory");
	json_decref(projects);
	json_decref(skills);
	json_decref(subject);
	return doc;
}

json_t *
vc_status_list_document(const char *issuer, int64_t list,
    const char *valid_from, const uint64_t *set, size_t nset, char *err,
    size_t errlen)
{
	char list_url[URL_MAX], subject_id[URL_MAX];
	char *encoded = NULL;
	json_t *doc = NULL;

	if (!issuer_ok(issuer, err, errlen))
		return NULL;
	if (list < 1) {
		errorf(err, errlen, "status list number %lld must be at least 1",
		    (long long)list);
		return NULL;
	}
	if (!utc_second_ok(valid_from)) {
		errorf(err, errlen, "validFrom must be a UTC timestamp "
		    "YYYY-MM-DDTHH:MM:SSZ");
		return NULL;
	}
	if (set == NULL && nset > 0) {
		errorf(err, errlen, "no revoked indexes given");
		return NULL;
	}
	for (size_t i = 0; i < nset; i++)
		if (set[i] >= VC_STATUS_LIST_BITS) {
			errorf(err, errlen, "status index %llu is beyond the "
			    "list's %d entries", (unsigned long long)set[i],
			    VC_STATUS_LIST_BITS);
			return NULL;
		}
	snprintf(list_url, sizeof(list_url), "%s/v1/status-lists/%lld", issuer,
	    (long long)list);
	snprintf(subject_id, sizeof(subject_id), "%s/v1/status-lists/%lld#list",
	    issuer, (long long)list);
	if ((encoded = statuslist_encode(VC_STATUS_LIST_BITS, set, nset)) ==
	    NULL) {
		errorf(err, errlen, "cannot encode the status list (out of "
		    "memory or zlib failure)");
		return NULL;
	}
	doc = json_pack("{s:[s], s:s, s:[s, s], s:s, s:s, s:{s:s, s:s, s:s, s:s}}",
	    "@context", VC_CONTEXT_V2,
	    "id", list_url,
	    "type", "VerifiableCredential", "BitstringStatusListCredential",
	    "issuer", issuer,
	    "validFrom", valid_from,
	    "credentialSubject", "id", subject_id, "type", "BitstringStatusList",
	    "statusPurpose", "revocation", "encodedList", encoded);
	free(encoded);
	if (doc == NULL)
		errorf(err, errlen, "out of memory");
	return doc;
}

json_t *
vc_keys_document(const char *issuer, const struct sign_keyring *ring)
{
	const struct sign_key *current = sign_current(ring);
	json_t *methods = NULL, *doc = NULL;
	char url[URL_MAX];
	char *mk = NULL;

	if (!issuer_ok(issuer, NULL, 0) || ring == NULL)
		return NULL;
	if ((methods = json_array()) == NULL)
		goto fail;
	for (size_t i = 0; i < ring->n; i++) {
		const struct sign_key *k = &ring->keys[i];

		snprintf(url, sizeof(url), "%s" KEYS_PATH "#%s", issuer, k->id);
		if ((mk = multikey_ed25519_encode(k->pub)) == NULL ||
		    json_array_append_new(methods, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:s}", "id", url, "type", "Multikey", "controller",
		    issuer, "publicKeyMultibase", mk, "status",
		    k == current ? "current" : "retired")) != 0)
			goto fail;
		free(mk);
		mk = NULL;
	}
	snprintf(url, sizeof(url), "%s" KEYS_PATH, issuer);
	doc = json_pack("{s:s, s:s, s:O}", "id", url, "issuer", issuer,
	    "verificationMethod", methods);
fail:
	free(mk);
	json_decref(methods);
	return doc;
}

/* ---- the proof ---- */

/*
 * The eddsa-jcs-2022 hash data of UNSECURED (the document without its
 * proof) under OPTIONS (the proof without proofValue): the proof
 * configuration is OPTIONS with the document's @context, as the
 * cryptosuite's "Proof Configuration" step sets it. Signing and
 * verifying both come through here.
 */
static bool
hash_data(const json_t *unsecured, const json_t *options,
    unsigned char out[SIGN_HASH_DATA_LEN], char *err, size_t errlen)
{
	const json_t *context = json_object_get(unsecured, "@context");
	json_t *config = json_copy((json_t *)options);
	char *canon_config = NULL, *canon_doc = NULL;
	size_t config_len = 0, doc_len = 0;
	bool ok = false;

	if (config == NULL ||
	    (context != NULL && json_object_set(config, "@context",
	    (json_t *)context) != 0)) {
		errorf(err, errlen, "out of memory");
		goto fail;
	}
	if ((canon_config = jcs_canonical(config, &config_len)) == NULL ||
	    (canon_doc = jcs_canonical(unsecured, &doc_len)) == NULL) {
		errorf(err, errlen, "the document cannot be canonicalised "
		    "(RFC 8785): a number that is not an exact double, or "
		    "nesting deeper than %d levels", JCS_MAX_DEPTH);
		goto fail;
	}
	if (!sign_jcs2022_hash_data(canon_config, config_len, canon_doc,
	    doc_len, out)) {
		errorf(err, errlen, "cannot hash the document (OpenSSL)");
		goto fail;
	}
	ok = true;
fail:
	free(canon_config);
	free(canon_doc);
	json_decref(config);
	return ok;
}

char *
vc_sign(const json_t *doc, const char *issuer, const struct sign_key *key,
    const char *created, char *err, size_t errlen)
{
	unsigned char hash[SIGN_HASH_DATA_LEN], sig[SIGN_SIG_LEN];
	json_t *proof = NULL, *secured = NULL;
	char *proof_value = NULL, *text = NULL;
	char vm[URL_MAX];

	if (!json_is_object(doc)) {
		errorf(err, errlen, "the document to sign is not a JSON object");
		return NULL;
	}
	if (json_object_get(doc, "proof") != NULL) {
		errorf(err, errlen, "the document already has a proof");
		return NULL;
	}
	if (!issuer_ok(issuer, err, errlen))
		return NULL;
	if (key == NULL || !key->has_private) {
		errorf(err, errlen, "key %s cannot sign: it has no private part",
		    key != NULL ? key->id : "(none)");
		return NULL;
	}
	if (!utc_second_ok(created)) {
		errorf(err, errlen, "the proof's created time must be a UTC "
		    "timestamp YYYY-MM-DDTHH:MM:SSZ");
		return NULL;
	}
	snprintf(vm, sizeof(vm), "%s" KEYS_PATH "#%s", issuer, key->id);
	if ((proof = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", PROOF_TYPE,
	    "cryptosuite", VC_CRYPTOSUITE, "created", created,
	    "verificationMethod", vm, "proofPurpose", PROOF_PURPOSE)) == NULL) {
		errorf(err, errlen, "out of memory");
		goto fail;
	}
	if (!hash_data(doc, proof, hash, err, errlen))
		goto fail;
	if (!sign_ed25519(key, hash, sizeof(hash), sig)) {
		errorf(err, errlen, "key %s cannot sign (OpenSSL)", key->id);
		goto fail;
	}
	if ((proof_value = multibase_base58btc_encode(sig, sizeof(sig))) ==
	    NULL ||
	    json_object_set_new(proof, "proofValue",
	    json_string(proof_value)) != 0 ||
	    (secured = json_copy((json_t *)doc)) == NULL ||
	    json_object_set(secured, "proof", proof) != 0 ||
	    (text = json_dumps(secured, JSON_COMPACT)) == NULL)
		errorf(err, errlen, "out of memory");
fail:
	free(proof_value);
	json_decref(proof);
	json_decref(secured);
	return text;
}

/* A verified document; the strings point into DOC. */
struct proven {
	json_t *doc;
	const char *issuer;
	const char *key_id;	/* the fragment of verificationMethod */
};

/* Finds VM in the keys document KEYS and puts its Ed25519 key in PUB. */
static bool
published_key(const json_t *keys, const char *issuer, const char *vm,
    const char *kid, unsigned char pub[SIGN_PUB_LEN], char *err,
    size_t errlen)
{
	const json_t *methods = json_object_get(keys, "verificationMethod"), *m;
	char b1[CLIP_MAX], b2[CLIP_MAX], b3[CLIP_MAX];
	size_t i;

	if (!json_is_array(methods))
		return errorf(err, errlen, "the keys document has no "
		    "verificationMethod list");
	json_array_foreach(methods, i, m) {
		if (!member_is(m, "id", vm))
			continue;
		if (!member_is(m, "controller", issuer))
			return errorf(err, errlen, "key %s is published with "
			    "controller %s, not the issuer %s", clip(kid, b1),
			    clip(member_string(m, "controller"), b2),
			    clip(issuer, b3));
		if (!member_is(m, "type", "Multikey") ||
		    !multikey_ed25519_decode(member_string(m,
		    "publicKeyMultibase"), pub))
			return errorf(err, errlen, "key %s is not published as "
			    "an Ed25519 Multikey", clip(kid, b1));
		return true;
	}
	return errorf(err, errlen, "key %s is not among the published keys",
	    clip(kid, b1));
}

/* True when the array or string A is a prefix of the array or string B. */
static bool
context_prefix(const json_t *a, const json_t *b)
{
	size_t na = json_is_array(a) ? json_array_size(a) : 1;
	size_t nb = json_is_array(b) ? json_array_size(b) : 1;

	if (a == NULL || b == NULL || na > nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!json_equal(json_is_array(a) ? json_array_get(a, i) : a,
		    json_is_array(b) ? json_array_get(b, i) : b))
			return false;
	return true;
}

/* Checks the members of PROOF that say how it was made, and by whom. */
static bool
proof_shape_ok(const json_t *proof, const char *issuer, const char **vmp,
    const char **kidp, char *err, size_t errlen)
{
	static const struct {
		const char *key, *what, *want;
	} fixed[] = {
		{ "type", "type", PROOF_TYPE },
		{ "cryptosuite", "cryptosuite", VC_CRYPTOSUITE },
		{ "proofPurpose", "purpose", PROOF_PURPOSE },
	};
	const char *vm = member_string(proof, "verificationMethod");
	const json_t *created = json_object_get(proof, "created");
	size_t ilen = strlen(issuer), plen = strlen(KEYS_PATH "#");
	char b1[CLIP_MAX], b2[CLIP_MAX];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		const char *s = member_string(proof, fixed[i].key);

		if (s == NULL)
			return errorf(err, errlen, "the proof has no %s",
			    fixed[i].key);
		if (strcmp(s, fixed[i].want) != 0)
			return errorf(err, errlen, "the proof's %s is %s, not %s",
			    fixed[i].what, clip(s, b1), fixed[i].want);
	}
	if (created != NULL &&
	    !jsonin_format_ok(JF_FMT_TIMESTAMP, json_string_value(created)))
		return errorf(err, errlen, "the proof's created time is not an "
		    "RFC 3339 timestamp");
	if (vm == NULL)
		return errorf(err, errlen, "the proof has no verificationMethod");
	if (strncmp(vm, issuer, ilen) != 0 ||
	    strncmp(vm + ilen, KEYS_PATH "#", plen) != 0 ||
	    vm[ilen + plen] == '\0')
		return errorf(err, errlen, "the proof's verificationMethod %s is "
		    "not a key published by the issuer %s", clip(vm, b1),
		    clip(issuer, b2));
	*vmp = vm;
	*kidp = vm + ilen + plen;
	return true;
}

/*
 * The W3C vc-di-eddsa "Verify Proof (eddsa-jcs-2022)" algorithm on TEXT,
 * with certflow's rules on top (one proof, made by a key of KEYS that the
 * document's issuer controls), then the shape every credential has. On
 * success P holds the parsed document (the caller decrefs P->doc).
 */
static bool
verify_proof(const char *text, size_t len, const json_t *keys,
    struct proven *p, char *err, size_t errlen)
{
	unsigned char pub[SIGN_PUB_LEN], hash[SIGN_HASH_DATA_LEN];
	unsigned char *sig = NULL;
	const json_t *proof, *context;
	json_t *doc = NULL, *unsecured = NULL, *options = NULL;
	const char *issuer, *vm = NULL, *kid = NULL;
	json_error_t je;
	char b1[CLIP_MAX];
	size_t siglen = 0;
	bool ok = false;

	memset(p, 0, sizeof(*p));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL || keys == NULL)
		return errorf(err, errlen, "no document or no keys document");
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		errorf(err, errlen, "not valid JSON: %s (line %d, column %d)",
		    clip(je.text, b1), je.line, je.column);
		goto fail;
	}
	if (!json_is_object(doc)) {
		errorf(err, errlen, "the document is not a JSON object");
		goto fail;
	}
	if ((issuer = member_string(doc, "issuer")) == NULL || *issuer == '\0') {
		errorf(err, errlen, "the document has no issuer URL");
		goto fail;
	}
	proof = json_object_get(doc, "proof");
	if (json_is_array(proof)) {
		errorf(err, errlen, "the document carries a set of %zu proofs; "
		    "certflow credentials have exactly one",
		    json_array_size(proof));
		goto fail;
	}
	if (!json_is_object(proof)) {
		errorf(err, errlen, "the document has no proof");
		goto fail;
	}
	if (!proof_shape_ok(proof, issuer, &vm, &kid, err, errlen) ||
	    !published_key(keys, issuer, vm, kid, pub, err, errlen))
		goto fail;
	if (!multibase_base58btc_decode(member_string(proof, "proofValue"),
	    &sig, &siglen) || siglen != SIGN_SIG_LEN) {
		errorf(err, errlen, "the proofValue is not a multibase "
		    "base58btc Ed25519 signature");
		goto fail;
	}
	if ((unsecured = json_copy(doc)) == NULL ||
	    json_object_del(unsecured, "proof") != 0 ||
	    (options = json_copy((json_t *)proof)) == NULL ||
	    json_object_del(options, "proofValue") != 0) {
		errorf(err, errlen, "out of memory");
		goto fail;
	}
	/* A proof that names its @context signs the document under it. */
	if ((context = json_object_get(options, "@context")) != NULL) {
		if (!context_prefix(context, json_object_get(doc, "@context"))) {
			errorf(err, errlen, "the proof's @context is not the "
			    "start of the document's @context");
			goto fail;
		}
		if (json_object_set(unsecured, "@context", (json_t *)context) !=
		    0) {
			errorf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (!hash_data(unsecured, options, hash, err, errlen))
		goto fail;
	if (!sign_verify_ed25519(pub, hash, sizeof(hash), sig)) {
		errorf(err, errlen, MISMATCH);
		goto fail;
	}
	context = json_object_get(doc, "@context");
	if (!json_is_array(context) ||
	    !json_is_string(json_array_get(context, 0)) ||
	    strcmp(json_string_value(json_array_get(context, 0)),
	    VC_CONTEXT_V2) != 0 || !has_type(doc, "VerifiableCredential")) {
		errorf(err, errlen, "the document is not a W3C Verifiable "
		    "Credential 2.0");
		goto fail;
	}
	p->doc = doc;
	p->issuer = issuer;
	p->key_id = kid;
	doc = NULL;
	ok = true;
fail:
	free(sig);
	json_decref(options);
	json_decref(unsecured);
	json_decref(doc);
	return ok;
}

/* A strict decimal index: digits only, no leading zero, no overflow. */
static bool
parse_index(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s != '\0'; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9' || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* A copy of S, or NULL with ERR saying memory ran out. */
static char *
copy_of(const char *s, char *err, size_t errlen)
{
	char *copy = strdup(s);

	if (copy == NULL)
		errorf(err, errlen, "out of memory");
	return copy;
}

/* A copy of the string member KEY of OBJ, or NULL with ERR naming WHAT. */
static char *
dup_member(const json_t *obj, const char *key, const char *what, char *err,
    size_t errlen)
{
	const char *s = member_string(obj, key);

	if (s == NULL || *s == '\0') {
		errorf(err, errlen, "the credential has no %s", what);
		return NULL;
	}
	return copy_of(s, err, errlen);
}

/* The credentialStatus of DOC into OUT: none, or one revocation entry. */
static bool
read_status(const json_t *doc, struct vc_verified *out, char *err,
    size_t errlen)
{
	const json_t *status = json_object_get(doc, "credentialStatus");

	if (status == NULL)
		return true;
	if (!json_is_object(status) ||
	    !member_is(status, "type", "BitstringStatusListEntry") ||
	    !member_is(status, "statusPurpose", "revocation"))
		return errorf(err, errlen, "the credential's credentialStatus is "
		    "not one BitstringStatusListEntry for revocation");
	if (!parse_index(member_string(status, "statusListIndex"),
	    &out->status_index))
		return errorf(err, errlen, "the credential's statusListIndex is "
		    "not a decimal index");
	return (out->status_list = dup_member(status, "statusListCredential",
	    "statusListCredential", err, errlen)) != NULL;
}

/* What P's credential says, into OUT (which vc_verified_free empties). */
static bool
read_credential(const struct proven *p, struct vc_verified *out, char *err,
    size_t errlen)
{
	const json_t *subject = json_object_get(p->doc, "credentialSubject");
	const json_t *path = json_object_get(subject, "path");
	const json_t *skills = json_object_get(subject, "skills");
	const char *kind = NULL;

	if (has_type(p->doc, "CertflowDiploma"))
		kind = "diploma";
	if (has_type(p->doc, "CertflowCertificate"))
		kind = kind == NULL ? "certificate" : NULL;
	if (kind == NULL)
		return errorf(err, errlen, "the credential is neither a "
		    "CertflowDiploma nor a CertflowCertificate");
	if (!json_is_array(skills))
		return errorf(err, errlen, "the credential has no "
		    "credentialSubject.skills list");
	out->skills = json_incref((json_t *)skills);
	return (out->kind = copy_of(kind, err, errlen)) != NULL &&
	    (out->id = dup_member(p->doc, "id", "id", err, errlen)) != NULL &&
	    (out->issuer = copy_of(p->issuer, err, errlen)) != NULL &&
	    (out->key_id = copy_of(p->key_id, err, errlen)) != NULL &&
	    (out->valid_from = dup_member(p->doc, "validFrom", "validFrom", err,
	    errlen)) != NULL &&
	    (out->holder = dup_member(subject, "name", "credentialSubject.name",
	    err, errlen)) != NULL &&
	    (out->path_code = dup_member(path, "code",
	    "credentialSubject.path.code", err, errlen)) != NULL &&
	    (out->path_title = dup_member(path, "title",
	    "credentialSubject.path.title", err, errlen)) != NULL &&
	    read_status(p->doc, out, err, errlen);
}

bool
vc_verify(const char *text, size_t len, const json_t *keys,
    struct vc_verified *out, char *err, size_t errlen)
{
	struct vc_verified v = { 0 };
	struct proven p;
	bool ok;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (!verify_proof(text, len, keys, &p, err, errlen))
		return false;
	ok = read_credential(&p, &v, err, errlen);
	json_decref(p.doc);
	if (ok && out != NULL)
		*out = v;
	else
		vc_verified_free(&v);
	return ok;
}

void
vc_verified_free(struct vc_verified *v)
{
	if (v == NULL)
		return;
	free(v->id);
	free(v->kind);
	free(v->issuer);
	free(v->valid_from);
	free(v->key_id);
	free(v->holder);
	free(v->path_code);
	free(v->path_title);
	json_decref(v->skills);
	free(v->status_list);
	memset(v, 0, sizeof(*v));
}

bool
vc_status_check(const char *text, size_t len, const json_t *keys,
    const char *list_url, uint64_t index, bool *revoked, char *err,
    size_t errlen)
{
	const json_t *subject;
	char b1[CLIP_MAX], b2[CLIP_MAX];
	struct proven p;
	bool ok = false;

	if (list_url == NULL || revoked == NULL)
		return errorf(err, errlen, "no status list URL to check");
	if (!verify_proof(text, len, keys, &p, err, errlen))
		return false;
	subject = json_object_get(p.doc, "credentialSubject");
	if (!member_is(p.doc, "id", list_url))
		errorf(err, errlen, "the status list is %s, not the credential's "
		    "list %s", clip(member_string(p.doc, "id"), b1),
		    clip(list_url, b2));
	else if (!has_type(p.doc, "BitstringStatusListCredential") ||
	    !member_is(subject, "type", "BitstringStatusList"))
		errorf(err, errlen, "the document is not a "
		    "BitstringStatusListCredential");
	else if (!member_is(subject, "statusPurpose", "revocation"))
		errorf(err, errlen, "the status list is not for revocation");
	else if (!statuslist_bit(member_string(subject, "encodedList"), index,
	    revoked))
		errorf(err, errlen, "the status list's encodedList is not a "
		    "valid bitstring holding index %llu",
		    (unsigned long long)index);
	else
		ok = true;
	json_decref(p.doc);
	return ok;
}
