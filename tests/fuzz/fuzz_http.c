/*
 * fuzz_http.c - certflowd's whole HTTP front on arbitrary bytes. The input is
 * sent as it is, as the raw request, with no prefix: the request line is
 * fuzzed too, and the committed seeds (tests/fuzz/corpus/fuzz_http) give it
 * its shape. It goes over TLS, with a key and certificate made in memory at
 * start, to a server built once in this process from daemon/'s own objects:
 * conn_guard.c, http_guard.c, server.c, the router, the query and body checks,
 * the routes. No PostgreSQL: libpq refuses the pool's conninfo at once, so a
 * route that reaches the database answers 503 without waiting. Each input:
 * connect, handshake, write the bytes, close_notify and shut the write side,
 * then run the loop until the server closes (bounded), then close. The
 * server and client run in one thread, turn about, nonblocking. Invariants:
 * the server closes once the request has ended; whatever comes back starts
 * with a well-formed status line, never a 500, and is certflowd's (it
 * carries X-Request-Id), not one of evhttp's HTML pages; every request is
 * answered or dropped before the next input; sockets do not pile up.
 * FUZZ_HTTP_SHOW=1 prints each answer's status line (to write seeds).
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <certflow/config.h>
#include <certflow/log.h>

#include "../../daemon/credentials.h"
#include "../../daemon/db_pool.h"
#include "../../daemon/metrics.h"
#include "../../daemon/reports.h"
#include "../../daemon/routes.h"
#include "../../daemon/server.h"
#include "../../daemon/tls.h"

#define MAX_TURNS	20000	/* loop turns per input: the server closes long before */
#define SETTLE_TURNS	64	/* after the client has gone, for the server to notice */
#define SOCKET_CHECK_EVERY	256	/* inputs between two counts of open sockets */
#define ANSWER_KEEP	2048	/* bytes of the answer kept for the checks */

/* The server and the client context, built at the first input, kept to the end. */
static struct {
	struct config cfg;
	struct event_base *base;
	struct tls *tls;
	struct db_pool *pool;
	struct server *srv;
	SSL_CTX *client;
	int port;
	int sockets;		/* open sockets after the first input */
	bool show;		/* FUZZ_HTTP_SHOW set: each answer's first line to stderr */
	unsigned long inputs;
} fx;

/* One exchange: where the client is, and what it has read. */
enum phase { HANDSHAKE, WRITE, SHUTDOWN, READ, DONE };

struct exchange {
	const uint8_t *data;
	size_t size;
	SSL *ssl;
	int fd;
	enum phase phase;
	char answer[ANSWER_KEEP + 1];
	size_t got;		/* bytes of answer, all of them (answer keeps the first) */
};

/* ---- the server ---- */

/* A memfd holding the PEM text in BIO (no file on disk); its /proc path in PATH. */
static int
pem_memfd(BIO *bio, char path[64])
{
	char *pem;
	long len = BIO_get_mem_data(bio, &pem);
	int fd = memfd_create("fuzz_http.pem", MFD_CLOEXEC);

	FUZZ_ASSERT(fd >= 0 && len > 0);
	FUZZ_ASSERT(write(fd, pem, (size_t)len) == (ssize_t)len);
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* A P-256 key and a self-signed certificate valid for a day, as memfds named in CFG. */
static void
make_keypair(struct config *cfg, int fds[2])
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *name = X509_get_subject_name(cert);
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	char path[64];

	FUZZ_ASSERT(key != NULL && cert != NULL && kb != NULL && cb != NULL);
	FUZZ_ASSERT(X509_set_version(cert, X509_VERSION_3) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(cert), 86400) != NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0) == 1 &&
	    X509_set_issuer_name(cert, name) == 1 && X509_set_pubkey(cert, key) == 1 &&
	    X509_sign(cert, key, EVP_sha256()) > 0);
	FUZZ_ASSERT(PEM_write_bio_X509(cb, cert) == 1 &&
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) == 1);
	fds[0] = pem_memfd(cb, path);
	free(cfg->tls_cert);
	FUZZ_ASSERT((cfg->tls_cert = strdup(path)) != NULL);
	fds[1] = pem_memfd(kb, path);
	free(cfg->tls_key);
	FUZZ_ASSERT((cfg->tls_key = strdup(path)) != NULL);
	BIO_free(kb);
	BIO_free(cb);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* A port of 127.0.0.1 free a moment ago (libevent will not bind port 0). */
static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	FUZZ_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* The defaults, on 127.0.0.1, and a database libpq refuses. */
static void
make_config(struct config *cfg, int pem_fds[2])
{
	config_defaults(cfg);
	free(cfg->listen_addr);
	free(cfg->db_conninfo);
	FUZZ_ASSERT((cfg->listen_addr = strdup("127.0.0.1")) != NULL);
	/*
	 * A socket directory (no name to look up) and an sslmode libpq refuses
	 * when the connection starts: CONNECTION_BAD without any socket.
	 */
	FUZZ_ASSERT((cfg->db_conninfo = strdup("host=/nonexistent sslmode=fuzz-no-database")) != NULL);
	cfg->db_pool_size = 1;
	cfg->db_reconnect_min_ms = 600000;	/* no retries while fuzzing */
	cfg->db_reconnect_max_ms = 600000;
	make_keypair(cfg, pem_fds);
}

static void
server_start(void)
{
	const struct db_statement *stmts;
	int nstmts, pem_fds[2];
	char err[512];

	log_init("fuzz_http", LOG_LVL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	make_config(&fx.cfg, pem_fds);
	FUZZ_ASSERT((fx.base = event_base_new()) != NULL);
	fx.tls = tls_new(&fx.cfg, err, sizeof(err));
	if (fx.tls == NULL)
		fprintf(stderr, "fuzz_http: TLS: %s\n", err);
	FUZZ_ASSERT(fx.tls != NULL);
	close(pem_fds[0]);
	close(pem_fds[1]);
	FUZZ_ASSERT(routes_init(&fx.cfg) && metrics_init(routes_labels(), nroutes));
	FUZZ_ASSERT(reports_init(fx.base, &fx.cfg, err, sizeof(err)));
	FUZZ_ASSERT(credentials_init(&fx.cfg, err, sizeof(err)));
	stmts = routes_statements(&nstmts);
	FUZZ_ASSERT((fx.pool = db_pool_new(fx.base, &fx.cfg, stmts, nstmts)) != NULL);
	/* Another process may take the port between free_port and the bind. */
	for (int tries = 0; fx.srv == NULL && tries < 10; tries++) {
		fx.cfg.listen_port = fx.port = free_port();
		fx.srv = server_new(fx.base, &fx.cfg, fx.tls, fx.pool, err, sizeof(err));
	}
	if (fx.srv == NULL)
		fprintf(stderr, "fuzz_http: %s\n", err);
	FUZZ_ASSERT(fx.srv != NULL);
	FUZZ_ASSERT((fx.client = SSL_CTX_new(TLS_client_method())) != NULL);
	SSL_CTX_set_verify(fx.client, SSL_VERIFY_NONE, NULL);
	fx.sockets = -1;
	fx.show = getenv("FUZZ_HTTP_SHOW") != NULL;
}

/*
 * Open sockets of this process: only the server's make any (the sanitizers
 * open pipes to their symbolizer as they please).
 */
static int
count_sockets(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[64];
	int n = 0;

	FUZZ_ASSERT(d != NULL);
	while ((e = readdir(d)) != NULL) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len > 0 && strncmp(target, "socket:", 7) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ---- the client ---- */

static void
exchange_open(struct exchange *x, const uint8_t *data, size_t size)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct linger abort_close = { 1, 0 };

	memset(x, 0, sizeof(*x));
	x->data = data;
	x->size = size;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)fx.port);
	x->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	FUZZ_ASSERT(x->fd >= 0);
	/* closed with a reset: no TIME_WAIT, so no running out of ports */
	FUZZ_ASSERT(setsockopt(x->fd, SOL_SOCKET, SO_LINGER, &abort_close,
	    sizeof(abort_close)) == 0);
	FUZZ_ASSERT(connect(x->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
	    errno == EINPROGRESS);
	FUZZ_ASSERT((x->ssl = SSL_new(fx.client)) != NULL && SSL_set_fd(x->ssl, x->fd) == 1);
	SSL_set_connect_state(x->ssl);
	x->phase = HANDSHAKE;
}

/* True when R from an SSL call only means "not yet". */
static bool
would_block(struct exchange *x, int r)
{
	int e = SSL_get_error(x->ssl, r);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

static void
exchange_read(struct exchange *x)
{
	char buf[4096];
	int r;

	while ((r = SSL_read(x->ssl, buf, sizeof(buf))) > 0) {
		if (x->got < ANSWER_KEEP) {
			size_t k = ANSWER_KEEP - x->got < (size_t)r ?
			    ANSWER_KEEP - x->got : (size_t)r;

			memcpy(x->answer + x->got, buf, k);
		}
		x->got += (size_t)r;
	}
	if (!would_block(x, r))
		x->phase = DONE;	/* closed, cleanly or not */
}

/* One step of the client; the server runs between two steps. */
static void
exchange_step(struct exchange *x)
{
	int r;

	switch (x->phase) {
	case HANDSHAKE:
		if ((r = SSL_do_handshake(x->ssl)) == 1)
			x->phase = x->size > 0 ? WRITE : SHUTDOWN;
		else
			FUZZ_ASSERT(would_block(x, r));	/* the server takes every connection */
		break;
	case WRITE:
		/* Without partial writes, a retry passes the same bytes. */
		if ((r = SSL_write(x->ssl, x->data, (int)x->size)) > 0)
			x->phase = SHUTDOWN;
		else if (!would_block(x, r))
			x->phase = READ;	/* the server closed first: read its answer */
		break;
	case SHUTDOWN:
		/* close_notify, then FIN: the server sees the end of the request */
		SSL_shutdown(x->ssl);
		shutdown(x->fd, SHUT_WR);
		x->phase = READ;
		break;
	case READ:
		exchange_read(x);
		break;
	case DONE:
		break;
	}
}

static void
exchange_close(struct exchange *x)
{
	SSL_free(x->ssl);
	close(x->fd);
	ERR_clear_error();
	for (int i = 0; i < SETTLE_TURNS && server_inflight(fx.srv) > 0; i++)
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
}

/* ---- the checks ---- */

/* "HTTP/1.x NNN Reason\r\n", the reason printable, the status 1xx-5xx but 500. */
static void
check_status_line(const struct exchange *x)
{
	const char *a = x->answer, *end;
	int status;

	if (x->got == 0)
		return;
	if (strncmp(a, "HTTP/1.1 ", 9) != 0 && strncmp(a, "HTTP/1.0 ", 9) != 0) {
		fprintf(stderr, "fuzz_http: not a status line: %.80s\n", a);
		FUZZ_ASSERT(!"the answer starts with a status line");
	}
	FUZZ_ASSERT(a[9] >= '1' && a[9] <= '5' && a[10] >= '0' && a[10] <= '9' &&
	    a[11] >= '0' && a[11] <= '9' && a[12] == ' ');
	status = atoi(a + 9);
	FUZZ_ASSERT(status != 500);
	FUZZ_ASSERT((end = strstr(a, "\r\n")) != NULL);
	for (const char *p = a + 13; p < end; p++)
		FUZZ_ASSERT(*p >= 0x20 && *p < 0x7f);
	/* certflowd's, not one of evhttp's own HTML pages (100 Continue is evhttp's) */
	if (status != 100 && strstr(a, "\r\nX-Request-Id: ") == NULL) {
		fprintf(stderr, "fuzz_http: an answer not ours: %.300s\n", a);
		FUZZ_ASSERT(!"the answer carries X-Request-Id");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct exchange x;
	int turns;

	if (fx.srv == NULL)
		server_start();
	exchange_open(&x, data, size);
	for (turns = 0; turns < MAX_TURNS && x.phase != DONE; turns++) {
		exchange_step(&x);
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	}
	if (fx.show)
		fprintf(stderr, "fuzz_http: %zu bytes in %d turns: %.*s\n", x.got, turns,
		    (int)strcspn(x.answer, "\r\n"), x.answer);
	/* Having read the whole request and its end, the server must close. */
	FUZZ_ASSERT(x.phase == DONE);
	check_status_line(&x);
	exchange_close(&x);
	FUZZ_ASSERT(server_inflight(fx.srv) == 0);
	if (fx.inputs++ % SOCKET_CHECK_EVERY == 0) {
		if (fx.sockets < 0)
			fx.sockets = count_sockets();
		FUZZ_ASSERT(count_sockets() <= fx.sockets);
	}
	return 0;
}
