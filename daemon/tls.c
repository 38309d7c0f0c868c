/*
 * tls.c - owns the SSL_CTX: TLS 1.2 minimum, Mozilla "intermediate" suites,
 * X25519/P-256/P-384, no compression or renegotiation, session tickets, and
 * optional client-certificate verification, and each connection's TLS
 * bufferevent (conn_guard.c hands it to evhttp, never a NULL one: evhttp would
 * then serve plaintext on the HTTPS port). A context is built whole, with its
 * files checked (readable, key matching, certificate in its validity period),
 * or not at all: start, --check-config and SIGHUP share that one path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <event2/bufferevent_ssl.h>

#include <certflow/log.h>

#include "tls.h"

/*
 * Mozilla intermediate (v5.7) suites. The DHE ones need an RSA certificate and
 * DH parameters, which certflowd does not set: they never negotiate. The server
 * picks in this order, but a client that prefers ChaCha20 (no AES hardware)
 * gets it (SSL_OP_PRIORITIZE_CHACHA).
 */
#define TLS13_SUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:" \
	"DHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"
#define TLS_EXPIRY_WARN_DAYS	14	/* a certificate expiring sooner is logged at start and reload */

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

/* PATH is a file we may read; else "cannot read WHAT PATH: errno text" into ERR. */
static bool
tls_readable(const char *what, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int e = 0;

	if (fd < 0)
		e = errno;
	else if (fstat(fd, &st) != 0)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	if (fd >= 0)
		close(fd);
	if (e != 0)
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(e));
	return e == 0;
}

/* T as "2026-11-22 10:30:00 UTC" into OUT, or "?" when it cannot be read. */
static void
tls_format_time(const ASN1_TIME *t, char *out, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, len, "?");
}

/*
 * The leaf certificate in CTX is valid now (else ERR names PATH and the
 * dates); logs a warning when it expires within TLS_EXPIRY_WARN_DAYS.
 */
static bool
tls_check_validity(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	const ASN1_TIME *nb, *na;
	char from[40], until[40];
	int days = 0, secs = 0, after, before;

	if (cert == NULL) {
		snprintf(err, errlen, "certificate %s: no certificate", path);
		return false;
	}
	nb = X509_get0_notBefore(cert);
	na = X509_get0_notAfter(cert);
	tls_format_time(nb, from, sizeof(from));
	tls_format_time(na, until, sizeof(until));
	after = X509_cmp_current_time(na);
	before = X509_cmp_current_time(nb);
	if (after == 0 || before == 0) {
		ERR_clear_error();
		snprintf(err, errlen, "certificate %s: unreadable validity dates", path);
		return false;
	}
	if (after < 0) {
		snprintf(err, errlen, "certificate %s has expired: valid from %s until %s",
		    path, from, until);
		return false;
	}
	if (before > 0) {
		snprintf(err, errlen, "certificate %s is not valid yet: valid from %s until %s",
		    path, from, until);
		return false;
	}
	if (ASN1_TIME_diff(&days, &secs, NULL, na) == 1 && days < TLS_EXPIRY_WARN_DAYS)
		log_warn("certificate %s expires in %d days, on %s: renew it, then send SIGHUP",
		    path, days, until);
	return true;
}

/* E is OpenSSL's "this key is not the certificate's" (SSL_CTX_use_PrivateKey checks it). */
static bool
tls_key_mismatch(unsigned long e)
{
	return ERR_GET_LIB(e) == ERR_LIB_X509 &&
	    (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
	     ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
}

static bool
tls_load_keypair(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
	char what[512];

	/* OpenSSL's own words for a missing file are "system library::..."; errno's are clearer. */
	if (!tls_readable("certificate", cfg->tls_cert, err, errlen) ||
	    !tls_readable("private key", cfg->tls_key, err, errlen))
		return false;
	snprintf(what, sizeof(what), "cannot load certificate %s", cfg->tls_cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		tls_error(err, errlen, what);
		return false;
	}
	snprintf(what, sizeof(what), "cannot load private key %s", cfg->tls_key);
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		if (tls_key_mismatch(ERR_peek_error()))
			goto mismatch;
		tls_error(err, errlen, what);
		return false;
	}
	/* A key of another type loads beside the certificate: only this check sees it. */
	if (SSL_CTX_check_private_key(ctx) != 1)
		goto mismatch;
	return tls_check_validity(ctx, cfg->tls_cert, err, errlen);
mismatch:
	ERR_clear_error();
	snprintf(err, errlen, "private key %s does not match certificate %s",
	    cfg->tls_key, cfg->tls_cert);
	return false;
}

static bool
tls_load_client_ca(SSL_CTX *ctx, const struct config *cfg, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *names;
	int mode = SSL_VERIFY_PEER;
	char what[512];

	if (cfg->tls_verify_client == TLS_VERIFY_NONE)
		return true;
	if (!tls_readable("client CA", cfg->tls_client_ca, err, errlen))
		return false;
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
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1) {
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
tls_bufferevent_new(struct tls *tls, struct event_base *base)
{
	struct bufferevent *bev;
	char why[300];
	SSL *ssl;

	if ((ssl = SSL_new(tls->ctx)) == NULL) {
		tls_error(why, sizeof(why), "SSL_new");
		log_error("%s; refusing the connection", why);
		return NULL;
	}
	/* On failure libevent may or may not have freed SSL: a leak beats a double free. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		log_error("cannot create a TLS bufferevent: out of memory; refusing the connection");
		return NULL;
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
