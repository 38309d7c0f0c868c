/*
 * tls.c - owns the SSL_CTX: TLS 1.2 minimum, Mozilla "intermediate" suites,
 * X25519/P-256/P-384, no compression or renegotiation, session tickets, and
 * optional client-certificate verification. Never hands evhttp a NULL
 * bufferevent: evhttp would then serve plaintext on the HTTPS port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <event2/bufferevent_ssl.h>

#include <certflow/log.h>

#include "tls.h"

/* Mozilla intermediate (v5.7) TLS 1.2 suites; TLS 1.3 keeps OpenSSL's defaults. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:" \
	"DHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

struct tls {
	SSL_CTX *ctx;
};

/* "what: OpenSSL's reason" into ERR, and clears OpenSSL's error queue. */
static void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown error";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	snprintf(err, errlen, "%s: %s", what, reason);
	ERR_clear_error();
}

static bool
tls_check_certificate(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);

	if (cert == NULL) {
		snprintf(err, errlen, "%s: no certificate", path);
		return false;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
		snprintf(err, errlen, "%s: the certificate has expired", path);
		return false;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
		snprintf(err, errlen, "%s: the certificate is not valid yet", path);
		return false;
	}
	return true;
}

static bool
tls_load_keypair(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
	char what[512];

	snprintf(what, sizeof(what), "cannot load certificate %s", cfg->tls_cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		tls_error(err, errlen, what);
		return false;
	}
	snprintf(what, sizeof(what), "cannot load private key %s", cfg->tls_key);
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		tls_error(err, errlen, what);
		return false;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen, "the private key does not match the certificate");
		return false;
	}
	return tls_check_certificate(ctx, cfg->tls_cert, err, errlen);
}

static bool
tls_load_client_ca(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names;
	int mode = SSL_VERIFY_PEER;
	char what[512];

	if (cfg->tls_verify_client == TLS_VERIFY_NONE)
		return true;
	snprintf(what, sizeof(what), "cannot load client CA %s", cfg->tls_client_ca);
	if (SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(cfg->tls_client_ca)) == NULL) {
		tls_error(err, errlen, what);
		return false;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	if (cfg->tls_verify_client == TLS_VERIFY_REQUIRE)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return true;
}

/* A complete new context, or NULL with ERR set. */
static SSL_CTX *
tls_build_ctx(const struct config *cfg, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "certflowd";
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		tls_error(err, errlen, "cipher list");
		goto fail;
	}
	if (SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		tls_error(err, errlen, "groups");
		goto fail;
	}
	if (!tls_load_keypair(ctx, cfg, err, errlen) ||
	    !tls_load_client_ca(ctx, cfg, err, errlen))
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls *
tls_new(const struct config *cfg, char *err, size_t errlen)
{
	struct tls *tls;

	if ((tls = calloc(1, sizeof(*tls))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((tls->ctx = tls_build_ctx(cfg, err, errlen)) == NULL) {
		free(tls);
		return NULL;
	}
	return tls;
}

bool
tls_reload(struct tls *tls, const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_build_ctx(cfg, err, errlen);

	if (ctx == NULL)
		return false;
	/* Open connections hold their own reference to the old context. */
	SSL_CTX_free(tls->ctx);
	tls->ctx = ctx;
	return true;
}

struct bufferevent *
tls_bevcb(struct event_base *base, void *arg)
{
	struct tls *tls = arg;
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(tls->ctx)) == NULL) {
		log_error("SSL_new failed: out of memory; refusing to serve plaintext");
		abort();
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_error("cannot create a TLS bufferevent: out of memory");
		abort();
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void
tls_free(struct tls *tls)
{
	if (tls == NULL)
		return;
	SSL_CTX_free(tls->ctx);
	free(tls);
}
