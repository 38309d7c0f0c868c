/*
 * route_dispatch.c - owns the two request headers that change how a POST
 * reaches its SQL function: Idempotency-Key (a retry gets the first answer,
 * the effect happens once) and If-Match (the resource's version must be
 * the one the client read). Such a request is sent through api.dispatch
 * (sql/0008_idempotency.sql) with the route's own function name, argument
 * list and parameters, still as one statement; any other request takes the
 * route's own prepared statement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <certflow/token.h>

#include "reports.h"
#include "routes.h"

#define KEY_MAX 255

static const char *
header(struct request *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

static bool
key_valid(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > KEY_MAX)
		return false;
	for (; *k != '\0'; k++)
		if (*k < 0x21 || *k > 0x7e)
			return false;
	return true;
}

/* "N" or N, a positive version; *VERSION 0 for "*" (any version). */
static bool
parse_if_match(const char *v, long long *version)
{
	char *end;
	size_t n = strlen(v);
	bool quoted = n >= 2 && v[0] == '"' && v[n - 1] == '"';

	*version = 0;
	if (strcmp(v, "*") == 0)
		return true;
	if (quoted)
		v++;
	if (*v < '1' || *v > '9')
		return false;
	*version = strtoll(v, &end, 10);
	return *version > 0 && end == v + n - (quoted ? 2 : 0);
}

/* SHA-256 of "METHOD path\n" and the body as received, in hex. */
static bool
hash_request(struct request *r, char out[65])
{
	const char *uri = evhttp_request_get_uri(r->req);
	const char *body = r->body != NULL ? r->body : "";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, "POST ", 5) == 1 &&
	    EVP_DigestUpdate(ctx, uri, strlen(uri)) == 1 &&
	    EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
	    EVP_DigestUpdate(ctx, body, strlen(body)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &len) == 1;

	EVP_MD_CTX_free(ctx);
	if (ok)
		hex_encode(md, len, out);
	return ok;
}

bool
route_dispatch_prepare(struct request *r)
{
	const char *key = r->method == METHOD_POST ? header(r, "Idempotency-Key") : NULL;
	const char *match = r->method == METHOD_POST ? header(r, "If-Match") : NULL;

	r->idem_key = NULL;
	r->if_match = 0;
	if (key != NULL) {
		if (!key_valid(key)) {
			request_fail(r, 400, "Idempotency-Key must be 1 to 255 visible ASCII "
			    "characters", "Idempotency-Key");
			return false;
		}
		if (!r->has_token && !reports_enabled()) {
			request_fail(r, 400, "Idempotency-Key needs a bearer token on this route",
			    "Idempotency-Key");
			return false;
		}
		if (!hash_request(r, r->request_hash)) {
			request_fail(r, 500, "cannot hash the request", NULL);
			return false;
		}
		r->idem_key = key;
	}
	if (match != NULL) {
		if (r->route->versioned == NULL) {
			request_fail(r, 400, "this route changes no versioned resource: "
			    "If-Match does not apply", "If-Match");
			return false;
		}
		if (!parse_if_match(match, &r->if_match)) {
			request_fail(r, 400, "If-Match must be one version, such as \"3\"",
			    "If-Match");
			return false;
		}
	}
	r->dispatched = r->idem_key != NULL || r->if_match > 0;
	return true;
}

/* The caller a key belongs to: the token's digest, or the source's HMAC. */
static bool
caller_of(struct request *r, char out[65])
{
	if (r->has_token) {
		memcpy(out, r->token_hex, TOKEN_DIGEST_HEX_LEN + 1);
		return true;
	}
	return reports_source_key(r->req, out);
}

bool
route_dispatch_submit(struct request *r, const char **params, int n,
    db_done_fn done)
{
	json_t *arr = json_array();
	char caller[65], ttl[16], vid[24], ifm[24], *text = NULL;
	const char *p[10];
	bool sent = false;

	for (int i = 0; i < n; i++)
		json_array_append_new(arr, params[i] != NULL ? json_string(params[i]) : json_null());
	if (json_array_size(arr) != (size_t)n || !caller_of(r, caller) ||
	    (text = json_dumps(arr, JSON_COMPACT)) == NULL)
		goto done;
	snprintf(ttl, sizeof(ttl), "%d", r->cfg->idempotency_ttl_s);
	snprintf(vid, sizeof(vid), "%lld", r->match.nparams > 0 ? (long long)r->match.params[0] : 0LL);
	snprintf(ifm, sizeof(ifm), "%lld", r->if_match);
	p[0] = r->route->fn;
	p[1] = r->route->args;
	p[2] = text;
	p[3] = caller;
	p[4] = r->idem_key;
	p[5] = r->idem_key != NULL ? r->request_hash : NULL;
	p[6] = ttl;
	p[7] = r->route->versioned;
	p[8] = r->route->versioned != NULL ? vid : NULL;
	p[9] = r->if_match > 0 ? ifm : NULL;
	sent = db_pool_submit(r->pool, routes_internal_statement(STMT_DISPATCH), 10, p, done, r);
done:
	if (text != NULL)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
	json_decref(arr);
	return sent;
}
