/*
 * idle_conns.c - opens N TLS keep-alive connections to certflowd, sends one
 * "GET PATH" (HTTP/1.1, keep-alive) on each and reads its answer, then
 * holds every connection open and idle until its standard input closes.
 * One thread, non-blocking sockets, epoll; at most PARALLEL connections are
 * being opened at once. Prints "open N failed F" on stdout once every
 * connection is idle or failed, then "closed C" whenever the server has
 * closed some of the idle ones (C in all). Needs N + a few file descriptors
 * (ulimit -n).
 *
 *   idle_conns HOST PORT CAFILE N [PARALLEL] [PATH]
 *
 * Built by scripts/bench: cc -O2 idle_conns.c $(pkg-config --cflags --libs openssl)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

enum state { CONNECTING, HANDSHAKE, SENDING, READING, IDLE, DONE };

struct conn {
	int fd;
	enum state state;
	SSL *ssl;
	char head[1024];	/* the answer's start, for its headers */
	size_t got;
	long need;		/* bytes of the whole answer, once the headers are in */
};

static SSL_CTX *ctx;
static struct sockaddr_in addr;
static int ep;
static char request[512];
static int request_len;
static long opening, idle, failed, closed, started, total;

static void
watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	epoll_ctl(ep, op, c->fd, &ev);
}

static void
fail(struct conn *c)
{
	if (c->state == IDLE) {
		idle--;
		closed++;
	} else {
		opening--;
		failed++;
	}
	c->state = DONE;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
	ERR_clear_error();
}

/* Waits for what OpenSSL asked for after RET; false when the connection failed. */
static int
want(struct conn *c, int ret)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		watch(c, EPOLLIN, EPOLL_CTL_MOD);
		return 1;
	case SSL_ERROR_WANT_WRITE:
		watch(c, EPOLLOUT, EPOLL_CTL_MOD);
		return 1;
	default:
		fail(c);
		return 0;
	}
}

static void
start(struct conn *c)
{
	int one = 1;

	c->state = CONNECTING;
	opening++;
	started++;
	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		perror("idle_conns: socket");
		exit(1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
		c->ssl = NULL;
		watch(c, EPOLLOUT, EPOLL_CTL_ADD);
		fail(c);
		return;
	}
	c->ssl = SSL_new(ctx);
	SSL_set_fd(c->ssl, c->fd);
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* Moves C on as far as it goes without blocking. */
static void
step(struct conn *c)
{
	int ret, err = 0;
	socklen_t len = sizeof(err);
	char buf[4096];

	switch (c->state) {
	case CONNECTING:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			fail(c);
			return;
		}
		c->state = HANDSHAKE;
		/* fall through */
	case HANDSHAKE:
		if ((ret = SSL_connect(c->ssl)) != 1) {
			want(c, ret);
			return;
		}
		c->state = SENDING;
		/* fall through */
	case SENDING:
		if ((ret = SSL_write(c->ssl, request, request_len)) <= 0) {
			want(c, ret);
			return;
		}
		c->state = READING;
		/* fall through */
	case READING:
		while ((ret = SSL_read(c->ssl, buf, sizeof(buf))) > 0) {
			size_t room = sizeof(c->head) - 1 - c->got;
			size_t take = (size_t)ret < room ? (size_t)ret : room;
			char *end, *cl;

			memcpy(c->head + c->got, buf, take);
			c->got += (size_t)ret;
			c->head[c->got < sizeof(c->head) ? c->got : sizeof(c->head) - 1] = '\0';
			if (c->need == 0 && (end = strstr(c->head, "\r\n\r\n")) != NULL) {
				if (strncmp(c->head, "HTTP/1.1 200", 12) != 0 ||
				    (cl = strcasestr(c->head, "\r\nContent-Length:")) == NULL || cl > end) {
					fail(c);
					return;
				}
				c->need = (end + 4 - c->head) + strtol(cl + 17, NULL, 10);
			}
			if (c->need > 0 && (long)c->got >= c->need) {
				c->state = IDLE;
				opening--;
				idle++;
				watch(c, EPOLLIN, EPOLL_CTL_MOD);
				return;
			}
		}
		want(c, ret);
		return;
	case IDLE:
		/* readable while idle: the server closed it (or sent something) */
		ret = SSL_read(c->ssl, buf, sizeof(buf));
		if (ret <= 0 && (SSL_get_error(c->ssl, ret) == SSL_ERROR_WANT_READ))
			return;
		fail(c);
		return;
	case DONE:
		return;
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event events[256];
	struct conn *conns, stdin_mark;
	long parallel, next = 0;
	int reported = 0;
	long reported_closed = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: idle_conns HOST PORT CAFILE N [PARALLEL] [PATH]\n");
		return 2;
	}
	total = atol(argv[4]);
	parallel = argc > 5 ? atol(argv[5]) : 64;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)atoi(argv[2]));
	if (total < 1 || parallel < 1 || inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) {
		fprintf(stderr, "idle_conns: bad host or count\n");
		return 2;
	}
	request_len = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n\r\n",
	    argc > 6 ? argv[6] : "/healthz", argv[1], argv[2]);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if ((conns = calloc((size_t)total, sizeof(*conns))) == NULL || (ep = epoll_create1(0)) < 0) {
		perror("idle_conns");
		return 1;
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &stdin_mark };

		epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
	}
	for (;;) {
		int n;

		while (next < total && opening < parallel)
			start(&conns[next++]);
		if (!reported && next == total && opening == 0) {
			printf("open %ld failed %ld\n", idle, failed);
			fflush(stdout);
			reported = 1;
		}
		if (reported && closed != reported_closed) {
			printf("closed %ld\n", closed);
			fflush(stdout);
			reported_closed = closed;
		}
		if ((n = epoll_wait(ep, events, 256, 1000)) < 0) {
			if (errno == EINTR)
				continue;
			perror("idle_conns: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr == &stdin_mark) {
				char b[64];

				if (read(STDIN_FILENO, b, sizeof(b)) <= 0)
					return 0;	/* stdin closed: the kernel closes the rest */
				continue;
			}
			step(events[i].data.ptr);
		}
	}
}
