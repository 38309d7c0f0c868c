/*
 * conn_guard.c - owns each client connection's guard state (struct conn): the
 * connection count, the per-request deadline timer, the request count and the
 * raw header scan, which sees each byte before evhttp parses it, so that a
 * bad header block gets our 400 and evhttp never reads it. A conn lives as
 * long as its TLS bufferevent: it hangs off the SSL (ex_data) and SSL_free
 * frees it, whoever closes. It never frees an evhttp connection itself: it
 * hands it back to evhttp's event callback as a timeout, as evhttp's own
 * idle timeout does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <certflow/log.h>
#include <certflow/problem.h>
#include <certflow/token.h>

#include "conn_guard.h"
#include "metrics.h"

#define LINGER_MS		1000	/* at most, to write our own answer before closing */
#define REFUSAL_LOG_PERIOD_S	10	/* one warning at most this often */

struct conn_guard {
	struct tls *tls;
	int max_connections, max_requests, deadline_s;
	size_t max_header_size;
	unsigned long long max_body_size;
	int open;		/* TLS connections alive */
	int refs;		/* conns alive, plus one until conn_guard_free */
	unsigned long long refused_unlogged;
	time_t refused_logged_at;
};

enum conn_state {
	CONN_WAITING,		/* for (the rest of) a request: the deadline runs */
	CONN_HANDLING,		/* the request is with a route */
	CONN_LINGERING,		/* writing our own 400 or 408, then closing */
	CONN_REFUSED,		/* plaintext placeholder, closed at once, never read */
	CONN_CLOSING,		/* handed back to evhttp to close */
};

struct conn {
	struct conn_guard *g;
	struct bufferevent *bev;
	struct event *timer;	/* the deadline, the linger, or the refusal */
	struct evbuffer_cb_entry *watch;	/* on the input: first bytes, header scan */
	enum conn_state state;
	bool counted;		/* in g->open */
	int requests;		/* dispatched on this connection */
	struct http_scan scan;
	/* evhttp's callbacks while we write our own answer */
	bufferevent_data_cb http_read, http_write;
	bufferevent_event_cb http_event;
	void *http_arg;
};

static int conn_index = -1;	/* SSL ex_data slot holding the conn */

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);

static void
guard_unref(struct conn_guard *g)
{
	if (--g->refs == 0)
		free(g);
}

static void
conn_free(struct conn *c)
{
	if (c->watch != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	if (c->counted) {
		c->g->open--;
		metrics_connection(METRICS_CONN_CLOSED);
	}
	event_free(c->timer);
	guard_unref(c->g);
	free(c);
}

/* SSL_free's hook: the connection is gone, whoever closed it. */
static void
conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	if (ptr != NULL)
		conn_free(ptr);
}

static struct conn *
conn_new(struct conn_guard *g, struct event_base *base)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->timer = evtimer_new(base, conn_timer_cb, c)) == NULL) {
		free(c);
		return NULL;
	}
	c->g = g;
	g->refs++;
	http_scan_reset(&c->scan, c->g->max_header_size, c->g->max_body_size);
	return c;
}

/* "address:port" of C's peer, or "?" (for log lines). */
static void
conn_peer(const struct conn *c, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char addr[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	snprintf(out, len, "?");
	if (getpeername(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &sslen) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		port = ntohs(in6->sin6_port);
	}
	snprintf(out, len, "%s:%d", addr, port);
}

/* ---- closing ---- */

/* Lets evhttp close C's connection as after its own timeout; C may be gone after. */
static void
conn_hand_back(struct conn *c)
{
	struct bufferevent *bev = c->bev;
	bufferevent_event_cb event_cb = c->http_event;
	void *arg = c->http_arg;

	if (c->state == CONN_LINGERING)
		bufferevent_setcb(bev, c->http_read, c->http_write, c->http_event, c->http_arg);
	else
		bufferevent_getcb(bev, NULL, NULL, &event_cb, &arg);
	c->state = CONN_CLOSING;
	evtimer_del(c->timer);
	if (event_cb == NULL) {
		log_error("a connection has no evhttp callback to close it");
		return;
	}
	event_cb(bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, arg);
}

static void
linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void
linger_written_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_hand_back(arg);
}

static void
linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_hand_back(arg);
}

/* 16 random hex digits, as server.c gives requests without a usable X-Request-Id. */
static void
new_request_id(char rid[17])
{
	unsigned char raw[8];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	hex_encode(raw, sizeof(raw), rid);
}

/* The answer's text: status line, server.c's common headers, problem body; malloc'ed, NULL on OOM. */
static char *
problem_answer(int status, const char *detail, const char *rid)
{
	struct problem p = { .status = status, .detail = detail, .request_id = rid };
	char *json, *text = NULL;

	if ((json = problem_json(&p)) == NULL)
		return NULL;
	if (asprintf(&text, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
	    "Content-Length: %zu\r\nX-Request-Id: %s\r\nCache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Strict-Transport-Security: " TLS_HSTS_VALUE "\r\nConnection: close\r\n\r\n%s",
	    status, problem_title(status), strlen(json), rid, json) < 0)
		text = NULL;
	free(json);
	return text;
}

/*
 * Takes the connection from evhttp to answer a problem itself, then closes:
 * evhttp never reads what is left. False (nothing changed) when out of memory.
 */
static bool
conn_send_problem(struct conn *c, int status, const char *detail, const char *rid)
{
	struct timeval linger = { 0, LINGER_MS * 1000 };
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char *text = problem_answer(status, detail, rid);

	if (text == NULL)
		return false;
	bufferevent_getcb(c->bev, &c->http_read, &c->http_write, &c->http_event, &c->http_arg);
	bufferevent_setcb(c->bev, linger_read_cb, linger_written_cb, linger_event_cb, c);
	c->state = CONN_LINGERING;
	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_add(bufferevent_get_output(c->bev), text, strlen(text));
	free(text);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	evtimer_add(c->timer, &linger);
	metrics_record(-1, status, 0);
	return true;
}

/*
 * The deadline passed: a 408 when part of a request came and nothing else is
 * being written; a connection that sent no request byte is just closed.
 */
static void
conn_expire(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	bool tls_up = ssl != NULL && SSL_is_init_finished(ssl);
	bool begun = tls_up && c->scan.bytes > 0;
	char peer[INET6_ADDRSTRLEN + 8], detail[96], rid[17];

	conn_peer(c, peer, sizeof(peer));
	new_request_id(rid);
	metrics_connection(METRICS_CONN_DEADLINE);
	log_info("closing the connection from %s: %s within request_deadline_s (%d s) rid=%s",
	    peer, !tls_up ? "no TLS handshake" : begun ? "request not complete" : "no request",
	    c->g->deadline_s, rid);
	snprintf(detail, sizeof(detail), "the request did not arrive within %d s",
	    c->g->deadline_s);
	if (!begun || evbuffer_get_length(bufferevent_get_output(c->bev)) != 0 ||
	    !conn_send_problem(c, 408, detail, rid))
		conn_hand_back(c);
}

/* The raw scan found a bad header block: our 400 (or 413), and evhttp never parses it. */
static void
conn_refuse_request(struct conn *c, const char *why)
{
	char peer[INET6_ADDRSTRLEN + 8], rid[17];

	conn_peer(c, peer, sizeof(peer));
	new_request_id(rid);
	log_info("refused before routing: %s from %s rid=%s", why, peer, rid);
	if (!conn_send_problem(c, c->scan.status, why, rid))
		conn_hand_back(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	switch (c->state) {
	case CONN_WAITING:
		conn_expire(c);
		break;
	case CONN_LINGERING:
		conn_hand_back(c);
		break;
	case CONN_REFUSED:
		/* No SSL to free it with: evhttp frees the bufferevent, we free C. */
		conn_hand_back(c);
		conn_free(c);
		break;
	case CONN_HANDLING:
	case CONN_CLOSING:
		break;
	}
}

/* ---- accepting ---- */

static void
note_refusal(struct conn_guard *g)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	g->refused_unlogged++;
	if (g->refused_logged_at != 0 &&
	    now.tv_sec - g->refused_logged_at < REFUSAL_LOG_PERIOD_S)
		return;
	log_warn("max_connections (%d) reached: %llu new connection(s) closed at once",
	    g->max_connections, g->refused_unlogged);
	g->refused_unlogged = 0;
	g->refused_logged_at = now.tv_sec;
}

/*
 * A plaintext bufferevent that is closed before the loop ever reads from it:
 * C's timer is already active when evhttp gets it, so it runs before the
 * socket's first read event. Exits only when even that cannot be allocated.
 */
static struct bufferevent *
conn_refuse(struct conn *c, struct event_base *base)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (bev == NULL) {
		log_error("out of memory for a new connection; exiting rather than "
		    "let evhttp serve it in plaintext");
		abort();
	}
	c->bev = bev;
	c->state = CONN_REFUSED;
	metrics_connection(METRICS_CONN_REFUSED);
	event_active(c->timer, EV_TIMEOUT, 1);
	return bev;
}

static void conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg);

/* Ties C to BEV (freed with its SSL) and starts the deadline; false (BEV freed) on failure. */
static bool
conn_attach(struct conn *c, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct timeval deadline = { c->g->deadline_s, 0 };

	c->bev = bev;
	if ((c->watch = evbuffer_add_cb(in, conn_input_cb, c)) == NULL)
		goto fail;
	if (SSL_set_ex_data(bufferevent_openssl_get_ssl(bev), conn_index, c) != 1)
		goto fail;
	c->state = CONN_WAITING;
	c->counted = true;
	c->g->open++;
	metrics_connection(METRICS_CONN_OPENED);
	evtimer_add(c->timer, &deadline);
	return true;
fail:
	log_error("out of memory for a new connection; refusing it");
	if (c->watch != NULL)
		evbuffer_remove_cb_entry(in, c->watch);
	c->watch = NULL;
	c->bev = NULL;
	bufferevent_free(bev);
	return false;
}

struct bufferevent *
conn_guard_bevcb(struct event_base *base, void *arg)
{
	struct conn_guard *g = arg;
	struct conn *c = conn_new(g, base);
	struct bufferevent *bev = NULL;

	if (c == NULL) {
		log_error("out of memory for a new connection; exiting rather than "
		    "let evhttp serve it in plaintext");
		abort();
	}
	if (g->open >= g->max_connections)
		note_refusal(g);
	else
		bev = tls_bufferevent_new(g->tls, base);
	if (bev == NULL || !conn_attach(c, bev))
		return conn_refuse(c, base);
	return bev;
}

/* ---- requests ---- */

/* Feeds the last N bytes of BUF to C's header scan. */
static void
scan_tail(struct conn *c, struct evbuffer *buf, size_t n)
{
	size_t len = evbuffer_get_length(buf);
	struct evbuffer_ptr pos;
	struct evbuffer_iovec v;

	if (n > len)
		n = len;
	if (evbuffer_ptr_set(buf, &pos, len - n, EVBUFFER_PTR_SET) != 0)
		return;
	while (n > 0 && c->scan.in_headers && evbuffer_peek(buf, (ev_ssize_t)n, &pos, &v, 1) > 0) {
		size_t k = v.iov_len < n ? v.iov_len : n;

		http_scan_feed(&c->scan, v.iov_base, k);
		n -= k;
		if (n > 0 && evbuffer_ptr_set(buf, &pos, k, EVBUFFER_PTR_ADD) != 0)
			break;
	}
}

/*
 * Bytes arrived (before evhttp reads them): the first of a request (re)starts
 * its deadline, and the headers are scanned; a bad header block is refused here.
 */
static void
conn_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct timeval deadline = { c->g->deadline_s, 0 };
	const char *why;

	if (info->n_added == 0 || c->state != CONN_WAITING)
		return;
	if (c->scan.bytes == 0)
		evtimer_add(c->timer, &deadline);
	scan_tail(c, buf, info->n_added);
	if ((why = http_scan_problem(&c->scan)) != NULL)
		conn_refuse_request(c, why);
}

static struct conn *
conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	SSL *ssl;

	if (evcon == NULL || (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return NULL;
	return SSL_get_ex_data(ssl, conn_index);
}

struct conn *
conn_guard_request_begin(struct evhttp_request *req)
{
	struct conn *c = conn_of(req);

	if (c == NULL || c->state != CONN_WAITING)
		return NULL;
	evtimer_del(c->timer);
	c->state = CONN_HANDLING;
	c->requests++;
	return c;
}

bool
conn_guard_last_request(const struct conn *c)
{
	return c != NULL && c->requests >= c->g->max_requests;
}

bool
conn_guard_request_end(struct evhttp_request *req)
{
	struct conn *c = conn_of(req);
	struct evbuffer *in;
	struct timeval deadline;

	if (c == NULL || c->state != CONN_HANDLING)
		return false;
	c->state = CONN_WAITING;
	http_scan_reset(&c->scan, c->g->max_header_size, c->g->max_body_size);
	in = bufferevent_get_input(c->bev);
	if (evbuffer_get_length(in) == 0)
		return false;
	/* Pipelined bytes: the next request has begun. */
	deadline.tv_sec = c->g->deadline_s;
	deadline.tv_usec = 0;
	evtimer_add(c->timer, &deadline);
	scan_tail(c, in, evbuffer_get_length(in));
	return http_scan_problem(&c->scan) != NULL;
}

/*
 * evhttp queues an answer's headers and body as separate pieces of the
 * connection's output, and bufferevent_openssl writes each piece as a TLS
 * record of its own, with a write(2) each: two records, two segments and two
 * wake-ups of the client per answer. Joined first, an answer that fits in one
 * record leaves as one. The output is written only once the loop sees the
 * socket writable, after this returns.
 */
void
conn_guard_send_reply(struct evhttp_request *req, int status, const char *reason)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct evbuffer *out;

	evhttp_send_reply(req, status, reason, NULL);	/* may free REQ */
	if (bev == NULL)
		return;
	out = bufferevent_get_output(bev);
	if (evbuffer_get_length(out) <= SSL3_RT_MAX_PLAIN_LENGTH)
		evbuffer_pullup(out, -1);
}

/* ---- the guard ---- */

struct conn_guard *
conn_guard_new(const struct config *cfg, struct tls *tls)
{
	struct conn_guard *g;

	if (conn_index < 0 &&
	    (conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free)) < 0)
		return NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->tls = tls;
	g->max_connections = cfg->max_connections;
	g->max_requests = cfg->max_requests_per_connection;
	g->deadline_s = cfg->request_deadline_s;
	g->max_header_size = (size_t)cfg->max_header_size;
	g->max_body_size = (unsigned long long)cfg->max_body_size;
	g->refs = 1;
	return g;
}

void
conn_guard_free(struct conn_guard *g)
{
	if (g != NULL)
		guard_unref(g);
}
