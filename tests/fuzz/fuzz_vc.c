/*
 * fuzz_vc.c - lib/vc.c: verifying credentials anyone may hand in, against a
 * fixed keys document (two keys of FUZZ_SIGN_KEYS), and the signing path
 * with the input as content. Three checks per input:
 *   1. vc_verify and vc_status_check on the raw text: no crash, no leak, a
 *      printable message on refusal, never a success (the fuzzer cannot
 *      sign) unless the text is a seed signed by those keys;
 *   2. the input as credential facts: a document vc_credential_document
 *      accepts, once signed, verifies and says what the facts said;
 *   3. the input as a document: signed (after its proof is dropped and its
 *      issuer set), it never fails verification on the signature itself
 *      or on its key: canonicalisation is the same on both sides.
 */
#include "fuzz.h"

#include <certflow/vc.h>

#define LIST_URL	FUZZ_ISSUER "/v1/status-lists/1"
#define MISMATCH	"the signature does not match"

static struct sign_keyring ring;
static json_t *keys;

static void
setup(void)
{
	if (keys != NULL)
		return;
	FUZZ_ASSERT(sign_keyring_parse(FUZZ_SIGN_KEYS, "fuzz", &ring, NULL, 0));
	FUZZ_ASSERT((keys = vc_keys_document(FUZZ_ISSUER, &ring)) != NULL);
}

/* No message may carry raw control characters from the input. */
static void
check_message(const char *err)
{
	FUZZ_ASSERT(err[0] != '\0');
	for (const char *s = err; *s != '\0'; s++)
		FUZZ_ASSERT((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void
check_raw(const char *text, size_t len)
{
	struct vc_verified out;
	char err[512];
	bool revoked = true;

	if (vc_verify(text, len, keys, &out, err, sizeof(err))) {
		FUZZ_ASSERT(err[0] == '\0' && out.id != NULL && out.kind != NULL);
		FUZZ_ASSERT(strcmp(out.key_id, "cur") == 0 ||
		    strcmp(out.key_id, "old") == 0);
		vc_verified_free(&out);
	} else {
		FUZZ_ASSERT(out.id == NULL && out.skills == NULL);
		check_message(err);
	}
	if (!vc_status_check(text, len, keys, LIST_URL, 5, &revoked, err,
	    sizeof(err)))
		check_message(err);
}

/*
 * True when ERR refuses the signature or its key. Other messages may quote
 * the document, and so those words, but never at their start.
 */
static bool
proof_refused(const char *err)
{
	return strncmp(err, MISMATCH, strlen(MISMATCH)) == 0 ||
	    (strncmp(err, "key ", 4) == 0 &&
	    strstr(err, " is not among the published keys") != NULL);
}

/* Signs DOC with the current key; the compact JSON text or NULL. */
static char *
sign(const json_t *doc)
{
	char err[512];

	return vc_sign(doc, FUZZ_ISSUER, sign_current(&ring), FUZZ_CREATED, err,
	    sizeof(err));
}

static void
check_facts(const json_t *facts)
{
	struct vc_verified out;
	char err[512], *text;
	json_t *doc = vc_credential_document(FUZZ_ISSUER, facts, err,
	    sizeof(err));
	const json_t *student = json_object_get(facts, "student");

	/* Facts come from the database: refusals may quote them as they are. */
	if (doc == NULL) {
		FUZZ_ASSERT(err[0] != '\0');
		return;
	}
	FUZZ_ASSERT((text = sign(doc)) != NULL);
	if (!vc_verify(text, strlen(text), keys, &out, err, sizeof(err))) {
		fprintf(stderr, "a credential built from facts fails: %s\n", err);
		FUZZ_ASSERT(!"built credential verifies");
	}
	FUZZ_ASSERT(strcmp(out.kind, json_string_value(json_object_get(facts,
	    "kind"))) == 0);
	FUZZ_ASSERT(strcmp(out.holder, json_string_value(json_object_get(student,
	    "name"))) == 0);
	FUZZ_ASSERT(out.status_index == (uint64_t)json_integer_value(
	    json_object_get(facts, "status_index")));
	FUZZ_ASSERT(strcmp(out.key_id, "cur") == 0);
	vc_verified_free(&out);
	free(text);
	json_decref(doc);
}

static void
check_document(const json_t *input)
{
	struct vc_verified out;
	char err[512], *text;
	json_t *doc = json_deep_copy(input);
	bool revoked;

	FUZZ_ASSERT(doc != NULL);
	json_object_del(doc, "proof");
	FUZZ_ASSERT(json_object_set_new(doc, "issuer",
	    json_string(FUZZ_ISSUER)) == 0);
	if ((text = sign(doc)) != NULL) {
		if (vc_verify(text, strlen(text), keys, &out, err, sizeof(err)))
			vc_verified_free(&out);
		else
			FUZZ_ASSERT(!proof_refused(err));
		if (!vc_status_check(text, strlen(text), keys, LIST_URL, 5,
		    &revoked, err, sizeof(err)))
			FUZZ_ASSERT(!proof_refused(err));
		free(text);
	}
	json_decref(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v;

	setup();
	check_raw((const char *)data, size);
	v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(v)) {
		check_facts(v);
		check_document(v);
	}
	json_decref(v);
	return 0;
}
