/*
 * https_get.c - the one blocking HTTPS GET of the certflow tool (certflow
 * verify fetching a keys document or a status list): TLS 1.2+ with the
 * certificate verified against a CA bundle and the host name (or IP
 * address) checked, HTTP/1.1 with Connection: close, a 200 answer and a
 * body of at most HTTPS_BODY_MAX bytes. It never follows redirects, never
 * sends anything but the request line and three headers, and is bounded in
 * time: HTTPS_IO_TIMEOUT_S per read or write, HTTPS_TOTAL_TIMEOUT_S in all.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli.h"

#define URL_MAX			2048
#define HEADERS_MAX		(64 * 1024)
#define HTTPS_IO_TIMEOUT_S	10
#define HTTPS_TOTAL_TIMEOUT_S	30

struct url {
	char host[256];		/* without the brackets of an IPv6 literal */
	char port[6];
	char path[URL_MAX];	/* path and query, the fragment dropped */
	bool ip;		/* HOST is an address, not a DNS name */
};

static bool errorf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool
errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return false;
}

/* ERRORF with OpenSSL's first queued reason appended; empties the queue. */
static bool
ossl_errorf(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown OpenSSL error";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return errorf(err, errlen, "%s: %s", what, reason);
}

/* Splits "https://HOST[:PORT][/PATH][#FRAGMENT]" into U. */
static bool
parse_url(const char *url, struct url *u, char *err, size_t errlen)
{
	const char *p = url + 8, *host, *end, *colon = NULL;
	size_t hlen, n = strlen(url);
	unsigned char addr[16];

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "https://", 8) != 0)
		return errorf(err, errlen, "not an https URL");
	if (n > URL_MAX - 1)
		return errorf(err, errlen, "URL longer than %d bytes", URL_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return errorf(err, errlen, "URL with spaces or control "
			    "characters");
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return errorf(err, errlen, "URL with user information");
	if (*p == '[') {
		host = p + 1;
		if ((p = memchr(host, ']', (size_t)(end - host))) == NULL)
			return errorf(err, errlen, "unterminated IPv6 address");
		hlen = (size_t)(p - host);
		if (p[1] == ':')
			colon = p + 1;
		else if (p + 1 != end)
			return errorf(err, errlen, "bad host");
	} else {
		host = p;
		colon = memchr(p, ':', (size_t)(end - p));
		hlen = (size_t)((colon != NULL ? colon : end) - host);
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		return errorf(err, errlen, "bad host");
	memcpy(u->host, host, hlen);
	if (colon != NULL) {
		size_t plen = (size_t)(end - colon - 1);
		long port;

		if (plen == 0 || plen > 5 ||
		    strspn(colon + 1, "0123456789") < plen ||
		    (port = strtol(colon + 1, NULL, 10)) < 1 || port > 65535)
			return errorf(err, errlen, "bad port");
		snprintf(u->port, sizeof(u->port), "%ld", port);
	} else {
		snprintf(u->port, sizeof(u->port), "443");
	}
	snprintf(u->path, sizeof(u->path), "%s%.*s", *end == '/' ? "" : "/",
	    (int)strcspn(end, "#"), end);
	u->ip = inet_pton(AF_INET, u->host, addr) == 1 ||
	    inet_pton(AF_INET6, u->host, addr) == 1;
	if (!u->ip && strspn(u->host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != hlen)
		return errorf(err, errlen, "bad host name");
	return true;
}

/* A socket connected to U, with the I/O timeouts set; -1 with ERR. */
static int
connect_to(const struct url *u, char *err, size_t errlen)
{
	struct timeval tv = { HTTPS_IO_TIMEOUT_S, 0 };
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, rc, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = u->ip ? AI_NUMERICHOST : 0;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		errorf(err, errlen, "cannot resolve %s: %s", u->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1) {
			saved = errno;
			continue;
		}
		/* On Linux SO_SNDTIMEO bounds connect() too. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0 &&
		    connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		errorf(err, errlen, "cannot connect to %s port %s: %s", u->host,
		    u->port, saved == EINPROGRESS || saved == EAGAIN ?
		    "timed out" : strerror(saved));
	return fd;
}

/* A client context trusting CA_FILE (or OpenSSL's default paths). */
static SSL_CTX *
client_ctx(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ossl_errorf(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* We read to EOF; a peer closing without close_notify is no error. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (ca_file != NULL ?
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		char what[PATH_MAX + 64];

		snprintf(what, sizeof(what), "cannot load the CA bundle %s",
		    ca_file != NULL ? ca_file : "(OpenSSL default paths)");
		ossl_errorf(err, errlen, what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Why SSL_connect failed: the certificate check, or OpenSSL's reason. */
static bool
handshake_error(SSL *ssl, const struct url *u, char *err, size_t errlen)
{
	long v = SSL_get_verify_result(ssl);

	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		ERR_clear_error();
		return errorf(err, errlen, "timed out in the TLS handshake "
		    "with %s", u->host);
	}
	if (v != X509_V_OK) {
		ERR_clear_error();
		return errorf(err, errlen, "the certificate of %s is not "
		    "trusted: %s", u->host, X509_verify_cert_error_string(v));
	}
	return ossl_errorf(err, errlen, "TLS handshake failed");
}

/* Reads the whole answer (to EOF) into *BUF (malloc'ed) and *LEN. */
static bool
read_all(SSL *ssl, time_t deadline, char **buf, size_t *len, char *err,
    size_t errlen)
{
	size_t cap = 16384, n = 0, max = HEADERS_MAX + HTTPS_BODY_MAX;
	char *b = malloc(cap + 1), *nb;
	int r;

	if (b == NULL)
		return errorf(err, errlen, "out of memory");
	for (;;) {
		if (time(NULL) > deadline) {
			free(b);
			return errorf(err, errlen, "timed out after %d s",
			    HTTPS_TOTAL_TIMEOUT_S);
		}
		if (n == cap) {
			if (cap >= max) {
				free(b);
				return errorf(err, errlen, "answer larger than "
				    "%d bytes", HTTPS_BODY_MAX);
			}
			cap = cap * 2 < max ? cap * 2 : max;
			if ((nb = realloc(b, cap + 1)) == NULL) {
				free(b);
				return errorf(err, errlen, "out of memory");
			}
			b = nb;
		}
		errno = 0;
		if ((r = SSL_read(ssl, b + n, (int)(cap - n))) > 0) {
			n += (size_t)r;
			continue;
		}
		if (SSL_get_error(ssl, r) == SSL_ERROR_ZERO_RETURN)
			break;
		free(b);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return errorf(err, errlen, "timed out reading the answer");
		return ossl_errorf(err, errlen, "cannot read the answer");
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return true;
}

/* The value of header NAME in HEAD (NUL-terminated, CRLF lines), or NULL. */
static const char *
header(const char *head, const char *name, size_t *vlen, int *count)
{
	const char *line = strstr(head, "\r\n"), *found = NULL;
	size_t nlen = strlen(name);

	*count = 0;
	for (; line != NULL && line[2] != '\0'; line = strstr(line + 2, "\r\n")) {
		const char *s = line + 2, *v;

		if (strncasecmp(s, name, nlen) != 0 || s[nlen] != ':')
			continue;
		for (v = s + nlen + 1; *v == ' ' || *v == '\t'; v++)
			;
		*vlen = strcspn(v, "\r");
		while (*vlen > 0 && (v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t'))
			(*vlen)--;
		found = v;
		(*count)++;
	}
	return found;
}

/* Takes the body of the answer in BUF (N bytes) into *BODY and *LEN. */
static bool
parse_answer(char *buf, size_t n, char **body, size_t *len, char *err,
    size_t errlen)
{
	char *end = strstr(buf, "\r\n\r\n"), *b;
	const char *v;
	size_t vlen = 0, have, want;
	int count, status;

	if (strncmp(buf, "HTTP/1.", 7) != 0 || n < 12 || buf[8] != ' ' ||
	    sscanf(buf + 9, "%3d", &status) != 1)
		return errorf(err, errlen, "not an HTTP/1.x answer");
	if (end == NULL || (size_t)(end - buf) > HEADERS_MAX)
		return errorf(err, errlen, "the answer's headers do not end");
	end[2] = '\0';	/* the headers, each line ending in CRLF */
	if (status != 200)
		return errorf(err, errlen, "HTTP status %.*s", (int)strcspn(buf + 9,
		    "\r"), buf + 9);
	if ((v = header(buf, "Transfer-Encoding", &vlen, &count)) != NULL &&
	    !(vlen == 8 && strncasecmp(v, "identity", 8) == 0))
		return errorf(err, errlen, "the answer uses Transfer-Encoding "
		    "%.*s, which certflow does not read (chunked is refused)",
		    (int)(vlen < 40 ? vlen : 40), v);
	have = n - (size_t)(end + 4 - buf);
	want = have;
	if ((v = header(buf, "Content-Length", &vlen, &count)) != NULL) {
		char *stop;
		unsigned long long cl;

		if (count > 1 || vlen == 0 || strspn(v, "0123456789") != vlen ||
		    (cl = strtoull(v, &stop, 10)) > HTTPS_BODY_MAX)
			return errorf(err, errlen, "bad or too large "
			    "Content-Length (at most %d bytes)", HTTPS_BODY_MAX);
		if (cl > have)
			return errorf(err, errlen, "the answer was cut: %zu of "
			    "%llu bytes", have, cl);
		want = (size_t)cl;
	}
	if (want > HTTPS_BODY_MAX)
		return errorf(err, errlen, "body larger than %d bytes",
		    HTTPS_BODY_MAX);
	if ((b = malloc(want + 1)) == NULL)
		return errorf(err, errlen, "out of memory");
	memcpy(b, end + 4, want);
	b[want] = '\0';
	*body = b;
	*len = want;
	return true;
}

bool
https_get(const char *url, const char *ca_file, char **body, size_t *len,
    char *err, size_t errlen)
{
	time_t deadline = time(NULL) + HTTPS_TOTAL_TIMEOUT_S;
	char request[URL_MAX + 512], *answer = NULL;
	size_t alen = 0;
	struct url u;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	bool ok = false;
	int fd = -1, n;

	*body = NULL;
	*len = 0;
	if (!parse_url(url, &u, err, errlen))
		return false;
	if ((ctx = client_ctx(ca_file, err, errlen)) == NULL)
		goto fail;
	if ((fd = connect_to(&u, err, errlen)) == -1)
		goto fail;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		ossl_errorf(err, errlen, "cannot start TLS");
		goto fail;
	}
	/* SNI names hosts, never addresses (RFC 6066). */
	if (u.ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
	    u.host) != 1 :
	    (SSL_set_tlsext_host_name(ssl, u.host) != 1 ||
	    SSL_set1_host(ssl, u.host) != 1)) {
		ossl_errorf(err, errlen, "cannot set the expected host");
		goto fail;
	}
	errno = 0;
	if (SSL_connect(ssl) != 1) {
		handshake_error(ssl, &u, err, errlen);
		goto fail;
	}
	n = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\n"
	    "Host: %s%s%s%s%s\r\nAccept: application/json\r\n"
	    "Connection: close\r\n\r\n", u.path, strchr(u.host, ':') ? "[" : "",
	    u.host, strchr(u.host, ':') ? "]" : "",
	    strcmp(u.port, "443") != 0 ? ":" : "",
	    strcmp(u.port, "443") != 0 ? u.port : "");
	if (n < 0 || (size_t)n >= sizeof(request) ||
	    SSL_write(ssl, request, n) != n) {
		ossl_errorf(err, errlen, "cannot send the request");
		goto fail;
	}
	if (!read_all(ssl, deadline, &answer, &alen, err, errlen) ||
	    !parse_answer(answer, alen, body, len, err, errlen))
		goto fail;
	ok = true;
fail:
	free(answer);
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd != -1)
		close(fd);
	SSL_CTX_free(ctx);
	return ok;
}
