/*
 * route_report.c - the whistleblowing routes' own steps around their SQL:
 * before it, the body's confidential fields are sealed (AES-256-GCM) and
 * receipts are drawn or read, then hashed slowly on a worker thread; after
 * it, sealed values are opened for the one who may read them. Plaintext
 * report texts never reach PostgreSQL or a log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <certflow/receipt.h>
#include <certflow/seal.h>

#include "reports.h"
#include "routes.h"

#define SEALED_SUFFIX "_sealed"

struct pending {
	struct request *r;
	void (*next)(struct request *r);
	bool ok;
};

/* "report.body" for the field "body": binds a sealed value to its place. */
static void
aad_for(const char *field, char *aad, size_t len)
{
	snprintf(aad, len, "report.%s", field);
}

/* Replaces OBJ[NAME] by NAME_sealed: the sealed text (strings as they are, other values as JSON). */
static bool
seal_member(json_t *obj, const char *name)
{
	json_t *value = json_object_get(obj, name);
	char aad[96], key[96], *plain, *sealed;
	bool ok;

	if (value == NULL || json_is_null(value))
		return true;
	plain = json_is_string(value) ? strdup(json_string_value(value)) :
	    json_dumps(value, JSON_COMPACT);
	if (plain == NULL)
		return false;
	aad_for(name, aad, sizeof(aad));
	sealed = seal_encrypt(reports_keyring(), aad, (unsigned char *)plain, strlen(plain));
	OPENSSL_cleanse(plain, strlen(plain));
	free(plain);
	snprintf(key, sizeof(key), "%s" SEALED_SUFFIX, name);
	ok = sealed != NULL && json_object_set_new(obj, key, json_string(sealed)) == 0 &&
	    json_object_del(obj, name) == 0;
	free(sealed);
	return ok;
}

/* Seals each "field" or "object.field" of the route's list in BODY. */
static bool
seal_fields(json_t *body, const char *const *paths)
{
	for (; paths != NULL && *paths != NULL; paths++) {
		const char *dot = strchr(*paths, '.');
		char parent[64];
		json_t *obj = body;

		if (dot != NULL) {
			snprintf(parent, sizeof(parent), "%.*s", (int)(dot - *paths), *paths);
			if ((obj = json_object_get(body, parent)) == NULL)
				continue;
		}
		if (!seal_member(obj, dot != NULL ? dot + 1 : *paths))
			return false;
	}
	return true;
}

/* Draws a receipt, or takes (and removes) the one the body carries. Answers on failure. */
static bool
take_receipt(struct request *r, json_t *body)
{
	if (r->route->flags & ROUTE_RECEIPT_NEW) {
		if (!receipt_generate(r->receipt) ||
		    !receipt_normalize(r->receipt, r->receipt_digits)) {
			request_fail(r, 500, "cannot draw a receipt", NULL);
			return false;
		}
		return true;
	}
	if (!receipt_normalize(json_string_value(json_object_get(body, "receipt")),
	    r->receipt_digits)) {
		request_fail(r, 422, "must be a receipt: 25 digits, in groups or not", "receipt");
		return false;
	}
	json_object_del(body, "receipt");
	return true;
}

static void
hash_work(void *arg)
{
	struct pending *p = arg;

	p->ok = reports_receipt_hash(p->r->receipt_digits, p->r->receipt_hash);
}

static void
hash_done(void *arg)
{
	struct pending *p = arg;
	struct request *r = p->r;
	void (*next)(struct request *) = p->next;
	bool ok = p->ok;

	free(p);
	if (!ok) {
		request_fail(r, 500, "cannot hash the receipt", NULL);
		return;
	}
	next(r);
}

void
route_report_prepare(struct request *r, void (*next)(struct request *r))
{
	json_t *body = NULL;
	struct pending *p;
	char *text;

	if (!reports_enabled()) {
		request_fail(r, 503, "reports are not configured on this server", NULL);
		return;
	}
	body = json_loads(r->body != NULL ? r->body : "{}", 0, NULL);
	if (body == NULL || !seal_fields(body, r->route->sealed)) {
		json_decref(body);
		request_fail(r, 500, "cannot seal the report", NULL);
		return;
	}
	if ((r->route->flags & (ROUTE_RECEIPT_NEW | ROUTE_RECEIPT_GIVEN)) &&
	    !take_receipt(r, body)) {
		json_decref(body);
		return;
	}
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		request_fail(r, 500, "out of memory", NULL);
		return;
	}
	free(r->body);
	r->body = text;
	if (!(r->route->flags & (ROUTE_RECEIPT_NEW | ROUTE_RECEIPT_GIVEN))) {
		next(r);
		return;
	}
	/* The slow hash runs on a worker thread; the loop goes on. */
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		request_fail(r, 503, "the server is busy; retry shortly", NULL);
		return;
	}
	p->r = r;
	p->next = next;
	if (!worker_submit(reports_workers(), hash_work, hash_done, p)) {
		free(p);
		request_fail(r, 503, "the server is busy; retry shortly", NULL);
	}
}

/* The reporter's user id from its sealed parts (sql/0004); -1 when it does not check. */
static json_int_t
open_reporter(const json_t *parts)
{
	unsigned char *key, buf[64], md[32];
	uint64_t ct = (uint64_t)json_integer_value(json_object_get(parts, "ct")), pad = 0, uid;
	const char *check = json_string_value(json_object_get(parts, "check"));
	char hex[65];
	size_t n = 0;
	unsigned int mdlen;

	key = seal_decrypt(reports_keyring(), "report.reporter_key",
	    json_string_value(json_object_get(parts, "key")), &n);
	if (key == NULL || n != 32 || check == NULL) {
		free(key);
		return -1;
	}
	memcpy(buf, key, 32);
	memcpy(buf + 32, "reporter", 8);
	EVP_Digest(buf, 40, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		pad = pad << 8 | md[i];
	uid = ct ^ pad;
	for (int i = 0; i < 8; i++)
		buf[32 + i] = (unsigned char)(uid >> (56 - 8 * i));
	memcpy(buf + 40, "check", 5);
	EVP_Digest(buf, 45, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), hex);
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(key, n);
	free(key);
	return strcmp(hex, check) == 0 ? (json_int_t)uid : -1;
}

/* Opens one NAME_sealed member of OBJ into NAME (evidence back into JSON). */
static void
open_member(json_t *obj, const char *key, json_t *value)
{
	size_t base_len = strlen(key) - strlen(SEALED_SUFFIX);
	char name[96], aad[128];
	unsigned char *plain;
	json_t *opened = json_null();
	size_t n = 0;

	snprintf(name, sizeof(name), "%.*s", (int)base_len, key);
	if (strcmp(name, "reporter") == 0) {
		/* the confidential reporter, for investigators: a user id */
		json_int_t uid = json_is_object(value) ? open_reporter(value) : 0;

		json_object_set_new(obj, "reporter_id", uid > 0 ? json_integer(uid) :
		    json_is_object(value) ? json_string("(does not check)") : json_null());
		return;
	}
	if (json_is_string(value)) {
		aad_for(name, aad, sizeof(aad));
		plain = seal_decrypt(reports_keyring(), aad, json_string_value(value), &n);
		if (plain == NULL)
			opened = json_string("(cannot be opened with the configured keys)");
		else if (strcmp(name, "evidence") == 0)
			opened = json_loadb((char *)plain, n, 0, NULL);
		else
			opened = json_stringn((char *)plain, n);
		if (plain != NULL)
			OPENSSL_cleanse(plain, n);
		free(plain);
	}
	json_object_set_new(obj, name, opened != NULL ? opened : json_null());
}

/* Opens every *_sealed member, at any depth. Members are collected first:
 * adding to an object while iterating over it is not safe. */
static void
open_all(json_t *node)
{
	const char *key;
	json_t *value, *child, *sealed;
	size_t i, suffix = strlen(SEALED_SUFFIX);

	if (json_is_array(node)) {
		json_array_foreach(node, i, child)
			open_all(child);
		return;
	}
	if (!json_is_object(node) || (sealed = json_object()) == NULL)
		return;
	json_object_foreach(node, key, value) {
		size_t len = strlen(key);

		if (len > suffix && strcmp(key + len - suffix, SEALED_SUFFIX) == 0)
			json_object_set(sealed, key, value);
		else
			open_all(value);
	}
	json_object_foreach(sealed, key, value) {
		json_object_del(node, key);
		open_member(node, key, value);
	}
	json_decref(sealed);
}

void
route_report_unseal(struct request *r, int status, const char *body)
{
	json_t *obj = json_loads(body, 0, NULL);
	char *text;

	if (obj == NULL) {
		request_fail(r, 500, "cannot read the report", NULL);
		return;
	}
	open_all(obj);
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (text == NULL) {
		request_fail(r, 500, "out of memory", NULL);
		return;
	}
	request_reply_json(r, status, text);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
}
