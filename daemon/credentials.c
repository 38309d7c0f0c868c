/*
 * credentials.c - owns the signing key ring and the issuer URL, and turns
 * the database's facts into signed documents with lib/vc.c. Everything here
 * runs on the event loop: an Ed25519 signature and the JCS of a credential
 * cost tens of microseconds, a status list's gzip about a millisecond.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <certflow/log.h>
#include <certflow/sign.h>
#include <certflow/vc.h>

#include "credentials.h"

#define STATUS_SET_MAX VC_STATUS_LIST_BITS

static struct {
	bool enabled;
	struct sign_keyring ring;
	char *issuer;
} creds;

bool
credentials_init(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->signing_key_file[0] == '\0') {
		log_warn("signing_key_file is not set: credentials are recorded but not served");
		return true;
	}
	if (!sign_keyring_load(cfg->signing_key_file, &creds.ring, err, errlen))
		return false;
	if (sign_current(&creds.ring) == NULL) {
		snprintf(err, errlen, "%s: no key with a private part: nothing can sign",
		    cfg->signing_key_file);
		sign_keyring_free(&creds.ring);
		return false;
	}
	if ((creds.issuer = strdup(cfg->credential_issuer)) == NULL) {
		snprintf(err, errlen, "out of memory");
		sign_keyring_free(&creds.ring);
		return false;
	}
	creds.enabled = true;
	return true;
}

bool
credentials_reload(const struct config *cfg, char *err, size_t errlen)
{
	struct sign_keyring fresh = { NULL, 0 };

	if (!creds.enabled || cfg->signing_key_file[0] == '\0')
		return true;
	if (!sign_keyring_load(cfg->signing_key_file, &fresh, err, errlen))
		return false;
	if (sign_current(&fresh) == NULL) {
		snprintf(err, errlen, "%s: no key with a private part", cfg->signing_key_file);
		sign_keyring_free(&fresh);
		return false;
	}
	sign_keyring_free(&creds.ring);
	creds.ring = fresh;
	log_info("reloaded %zu signing keys; %s signs", creds.ring.n,
	    sign_current(&creds.ring)->id);
	return true;
}

bool
credentials_enabled(void)
{
	return creds.enabled;
}

void
credentials_free(void)
{
	if (creds.enabled)
		sign_keyring_free(&creds.ring);
	free(creds.issuer);
	creds.issuer = NULL;
	creds.enabled = false;
}

char *
credentials_sign_facts(const json_t *facts, const char **key_id, char *err, size_t errlen)
{
	const struct sign_key *key = sign_current(&creds.ring);
	json_t *doc;
	char *text;

	doc = vc_credential_document(creds.issuer, facts, err, errlen);
	if (doc == NULL)
		return NULL;
	/* created is the issuance: signing again gives the same bytes */
	text = vc_sign(doc, creds.issuer, key,
	    json_string_value(json_object_get(facts, "issued_at")), err, errlen);
	json_decref(doc);
	if (text != NULL)
		*key_id = key->id;
	return text;
}

/* The revoked indexes of LIST into a malloc'ed array; false if malformed. */
static bool
revoked_indexes(const json_t *revoked, uint64_t **set, size_t *n)
{
	size_t i;
	json_t *v;

	*n = json_array_size(revoked);
	if (!json_is_array(revoked) || *n > STATUS_SET_MAX)
		return false;
	if ((*set = calloc(*n + 1, sizeof(**set))) == NULL)
		return false;
	json_array_foreach(revoked, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			free(*set);
			return false;
		}
		(*set)[i] = (uint64_t)json_integer_value(v);
	}
	return true;
}

char *
credentials_sign_status_list(const json_t *list, char *err, size_t errlen)
{
	const char *valid_from = json_string_value(json_object_get(list, "valid_from"));
	json_int_t id = json_integer_value(json_object_get(list, "list"));
	uint64_t *set = NULL;
	size_t nset = 0;
	json_t *doc;
	char *text;

	if (valid_from == NULL || id <= 0 ||
	    !revoked_indexes(json_object_get(list, "revoked"), &set, &nset)) {
		snprintf(err, errlen, "malformed status list from the database");
		return NULL;
	}
	doc = vc_status_list_document(creds.issuer, id, valid_from, set, nset, err, errlen);
	free(set);
	if (doc == NULL)
		return NULL;
	text = vc_sign(doc, creds.issuer, sign_current(&creds.ring), valid_from, err, errlen);
	json_decref(doc);
	return text;
}

bool
credentials_sign_raw(const unsigned char *msg, size_t n, unsigned char sig[64],
    const char **key_id)
{
	const struct sign_key *key;

	if (!creds.enabled || (key = sign_current(&creds.ring)) == NULL ||
	    !sign_ed25519(key, msg, n, sig))
		return false;
	*key_id = key->id;
	return true;
}

char *
credentials_keys_json(void)
{
	json_t *doc = vc_keys_document(creds.issuer, &creds.ring);
	char *text;

	if (doc == NULL)
		return NULL;
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}
