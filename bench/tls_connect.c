/*
 * tls_connect.c - new TLS connections per second against certflowd, one
 * request per connection: connect, TLS handshake, GET PATH with
 * "Connection: close", read the whole answer, close; THREADS threads in a
 * loop for SECONDS. "full" makes every handshake a full one; "resumed"
 * offers the newest session (TLS 1.3 or 1.2 ticket) that the thread's
 * connections received, as a browser or an HTTP client library does.
 * The client verifies the server's certificate against CAFILE.
 *
 *   tls_connect HOST PORT CAFILE full|resumed THREADS SECONDS [PATH]
 *
 * Prints one line: connections/s, p50 ms, p99 ms (connect to close), the
 * share of handshakes that resumed, errors, and the protocol and cipher.
 * Built by scripts/bench: cc -O2 tls_connect.c $(pkg-config --cflags --libs openssl) -pthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_SAMPLES (1 << 21)

static SSL_CTX *ctx;
static struct sockaddr_in addr;
static int resumed_mode;
static double deadline;
static char request[512];
static size_t request_len;
static __thread SSL_SESSION *latest;	/* the newest ticket this thread received */

struct worker {
	pthread_t tid;
	double *lat;		/* milliseconds, one per connection */
	long n, resumed, errors;
	char proto[64];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One connection; 0 when the answer was read whole (a 200), else -1. */
static int
one(struct worker *w, SSL_SESSION **sess)
{
	char buf[4096];
	int fd, one_ = 1, n, ok = -1;
	size_t got = 0;
	SSL *ssl = NULL;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		goto out;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		goto out;
	if (resumed_mode && *sess != NULL)
		SSL_set_session(ssl, *sess);
	if (SSL_connect(ssl) != 1)
		goto out;
	if (SSL_write(ssl, request, (int)request_len) != (int)request_len)
		goto out;
	/* "Connection: close": the answer ends when the server closes */
	while ((n = SSL_read(ssl, buf + (got < 16 ? got : 16), (int)sizeof(buf) - 16)) > 0) {
		if (got < 16 && got + n >= 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0)
			ok = 0;
		got += n;
	}
	if (SSL_session_reused(ssl))
		w->resumed++;
	if (w->proto[0] == '\0')
		snprintf(w->proto, sizeof(w->proto), "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
	if (resumed_mode && latest != NULL) {
		SSL_SESSION_free(*sess);
		*sess = latest;
		latest = NULL;
	}
	SSL_shutdown(ssl);
out:
	if (ssl != NULL)
		SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return ok;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	SSL_SESSION *sess = NULL;
	double t0;

	while ((t0 = now()) < deadline) {
		if (one(w, &sess) != 0) {
			w->errors++;
			continue;
		}
		if (w->n < MAX_SAMPLES)
			w->lat[w->n] = (now() - t0) * 1000;
		w->n++;
	}
	SSL_SESSION_free(sess);
	return NULL;
}

/* Keeps each new session (a TLS 1.3 ticket arrives after the handshake). */
static int
new_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	SSL_SESSION_free(latest);
	latest = sess;
	return 1;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct worker *w;
	int threads, seconds;
	long total = 0, resumed = 0, errors = 0, kept = 0;
	double *all, started;

	if (argc < 7 || (strcmp(argv[4], "full") != 0 && strcmp(argv[4], "resumed") != 0)) {
		fprintf(stderr, "usage: tls_connect HOST PORT CAFILE full|resumed THREADS SECONDS [PATH]\n");
		return 2;
	}
	resumed_mode = strcmp(argv[4], "resumed") == 0;
	threads = atoi(argv[5]);
	seconds = atoi(argv[6]);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)atoi(argv[2]));
	if (threads < 1 || seconds < 1 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
		fprintf(stderr, "tls_connect: bad host, thread count or duration\n");
		return 2;
	}
	request_len = (size_t)snprintf(request, sizeof(request),
	    "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
	    argc > 7 ? argv[7] : "/healthz", argv[1], argv[2]);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* each thread keeps the newest session it was given, not a shared cache */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_session);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if ((w = calloc((size_t)threads, sizeof(*w))) == NULL)
		return 1;
	started = now();
	deadline = started + seconds;
	for (int i = 0; i < threads; i++) {
		if ((w[i].lat = malloc(MAX_SAMPLES * sizeof(double))) == NULL ||
		    pthread_create(&w[i].tid, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "tls_connect: cannot start a thread\n");
			return 1;
		}
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].n;
		resumed += w[i].resumed;
		errors += w[i].errors;
	}
	if ((all = malloc((size_t)(total > 0 ? total : 1) * sizeof(double))) == NULL)
		return 1;
	for (int i = 0; i < threads; i++)
		for (long k = 0; k < w[i].n && k < MAX_SAMPLES; k++)
			all[kept++] = w[i].lat[k];
	qsort(all, (size_t)kept, sizeof(double), cmp);
	printf("%.0f %.2f %.2f %.3f %ld %s\n", total / (now() - started),
	    kept ? all[kept / 2] : 0, kept ? all[(long)(kept * 0.99)] : 0,
	    total + errors ? (double)resumed / (double)(total + errors) : 0, errors,
	    w[0].proto[0] ? w[0].proto : "-");
	return 0;
}
