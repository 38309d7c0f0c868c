/*
 * server.c - owns the listener, evhttp, and every request's life: the
 * checks all routes share (framing and path, then route, method, body size
 * and type, JSON shape, bearer token), then the route's handler, then exactly
 * one answer with the common headers, its log line and its metrics. Never
 * blocks, never builds SQL. Connections themselves are conn_guard.c's; the
 * reserve descriptor, given up only to refuse connections when the process
 * is out of descriptors, is this file's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <certflow/jsonin.h>
#include <certflow/log.h>

#include "conn_guard.h"
#include "http_guard.h"
#include "metrics.h"
#include "routes.h"
#include "server.h"

#define ACCEPT_BACKLOG		1024
#define ACCEPT_PAUSE_MS		500	/* after EMFILE/ENFILE */
#define ACCEPT_LOG_PERIOD_S	10	/* one exhaustion warning at most this often */
#define BODY_SLACK_MAX		(1 << 20)

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;	/* owns the listener */
	struct evconnlistener *listener;
	struct event *resume_accept;
	int spare_fd;		/* reserve descriptor (/dev/null), or -1 */
	unsigned long long pauses_unlogged, refused_unlogged;
	time_t exhaustion_logged_at;	/* CLOCK_MONOTONIC seconds, 0 before the first */
	struct conn_guard *guard;	/* connection limits, deadlines */
	struct db_pool *pool;
	const struct config *cfg;
	long long max_body;
	bool draining;
	int inflight;
};

/*
 * The server whose listener is bound. evhttp_bind_listener makes the
 * evhttp the listener's callback argument, so accept_error_cb is handed the
 * evhttp, never the server: it finds the server here. One listener a process.
 */
static struct server *listening;

static const struct {
	enum evhttp_cmd_type cmd;
	unsigned method;
} method_map[] = {
	{ EVHTTP_REQ_GET, METHOD_GET },
	{ EVHTTP_REQ_POST, METHOD_POST },
	{ EVHTTP_REQ_PUT, METHOD_PUT },
	{ EVHTTP_REQ_DELETE, METHOD_DELETE },
	{ EVHTTP_REQ_PATCH, METHOD_PATCH },
	{ EVHTTP_REQ_HEAD, METHOD_HEAD },
	{ EVHTTP_REQ_OPTIONS, METHOD_OPTIONS },
};

static unsigned
method_of(struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	for (size_t i = 0; i < sizeof(method_map) / sizeof(method_map[0]); i++)
		if (method_map[i].cmd == cmd)
			return method_map[i].method;
	return 0;
}

static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	default: return problem_title(status);
	}
}

static long long
usec_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000000LL +
	    (now.tv_nsec - start->tv_nsec) / 1000;
}

static void
request_free(struct request *r)
{
	r->srv->inflight--;
	free(r->body);
	free(r->query);
	OPENSSL_cleanse(r->new_token, sizeof(r->new_token));
	OPENSSL_cleanse(r->receipt, sizeof(r->receipt));
	OPENSSL_cleanse(r->receipt_digits, sizeof(r->receipt_digits));
	free(r);
}

/* The answer to REQ will say "Connection: close", and evhttp closes after it. */
static void
answer_closes(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (evhttp_find_header(h, "Connection") == NULL)
		evhttp_add_header(h, "Connection", "close");
}

/* Common headers, the answer itself, the log line, the metrics; frees R. */
static void
request_send(struct request *r, int status, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	long long usec;

	evhttp_add_header(h, "X-Request-Id", r->id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Strict-Transport-Security", TLS_HSTS_VALUE);
	if (content_type != NULL)
		evhttp_add_header(h, "Content-Type", content_type);
	if (conn_guard_request_end(r->req) || r->srv->draining)
		answer_closes(r->req);
	usec = usec_since(&r->started);
	metrics_record(r->route_index, status, usec);
	if (r->route_index >= 0)
		log_info("%s %d %lldus rid=%s uri=%.200s", routes_labels()[r->route_index],
		    status, usec, r->id, evhttp_request_get_uri(r->req));
	else
		log_info("%s unmatched %d %lldus rid=%s uri=%.200s",
		    router_method_name(r->method), status, usec, r->id,
		    evhttp_request_get_uri(r->req));
	/* evhttp frees REQ at once when its connection is gone: nothing reads it after */
	conn_guard_send_reply(r->req, status, http_reason(status));
	request_free(r);
}

void
request_reply_json(struct request *r, int status, const char *json)
{
	if (json != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(r->req), json, strlen(json));
	request_send(r, status, json != NULL ? "application/json" : NULL);
}

void
request_reply_raw(struct request *r, int status, const char *content_type,
    struct evbuffer *body)
{
	evbuffer_add_buffer(evhttp_request_get_output_buffer(r->req), body);
	request_send(r, status, content_type);
}

void
request_reply_problem(struct request *r, struct problem *p)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	char *json;

	p->request_id = r->id;
	if (p->status == 401)
		evhttp_add_header(h, "WWW-Authenticate", "Bearer");
	else if (p->status == 503)
		evhttp_add_header(h, "Retry-After", "1");
	json = problem_json(p);
	evbuffer_add_printf(evhttp_request_get_output_buffer(r->req), "%s",
	    json != NULL ? json : "{\"title\":\"Error\"}");
	free(json);
	request_send(r, p->status, "application/problem+json");
}

void
request_fail(struct request *r, int status, const char *detail, const char *field)
{
	struct problem p = { .status = status, .detail = detail, .field = field };

	request_reply_problem(r, &p);
}

static bool
request_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > REQUEST_ID_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

/* The client's X-Request-Id when well formed, else 16 random hex digits. */
static void
request_assign_id(struct request *r)
{
	const char *given = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "X-Request-Id");
	unsigned char raw[8];

	if (given != NULL && request_id_valid(given)) {
		snprintf(r->id, sizeof(r->id), "%s", given);
		return;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		memset(raw, 0, sizeof(raw));
	hex_encode(raw, sizeof(raw), r->id);
}

static struct request *
request_new(struct server *srv, struct evhttp_request *req)
{
	struct request *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	r->srv = srv;
	r->pool = srv->pool;
	r->cfg = srv->cfg;
	r->req = req;
	r->route_index = -1;
	r->method = method_of(req);
	srv->inflight++;
	request_assign_id(r);
	return r;
}

static bool
content_type_is_json(const char *value)
{
	size_t n;

	if (value == NULL)
		return false;
	value += strspn(value, " \t");
	n = strcspn(value, "; \t");
	return n == strlen("application/json") &&
	    strncasecmp(value, "application/json", n) == 0;
}

static void
reply_jsonin_error(struct request *r, const struct jsonin_error *jerr)
{
	struct problem p = { .status = jerr->status, .detail = jerr->detail,
	    .field = jerr->field[0] != '\0' ? jerr->field : NULL,
	    .line = jerr->line, .column = jerr->column };

	request_reply_problem(r, &p);
}

/*
 * Reads and validates the body against the route's schema; answers on
 * failure. No body at all reads as {} where the schema requires nothing (an
 * action such as acknowledge), and is a 400 where it requires a field.
 */
static bool
request_read_body(struct request *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	struct jsonin_error jerr;
	json_t *obj;
	const char *text;

	if (r->route->schema == NULL)
		return true;
	if ((long long)len > r->srv->max_body) {
		request_fail(r, 413, "the body is larger than this server accepts", NULL);
		return false;
	}
	if (len > 0 && !content_type_is_json(evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Content-Type"))) {
		request_fail(r, 415, "the body must be application/json", NULL);
		return false;
	}
	if (len == 0 && jsonin_schema_requires(r->route->schema)) {
		request_fail(r, 400, "the body is empty; this route takes a JSON object", NULL);
		return false;
	}
	text = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "{}";
	if (len == 0)
		len = 2;
	if ((obj = jsonin_parse(text, len, &jerr)) == NULL ||
	    !jsonin_validate(obj, r->route->schema, &jerr)) {
		json_decref(obj);
		reply_jsonin_error(r, &jerr);
		return false;
	}
	json_decref(obj);
	if ((r->body = strndup(text, len)) == NULL) {
		request_fail(r, 500, "out of memory", NULL);
		return false;
	}
	return true;
}

/* The query string as a JSON object of strings; NULL with ERR set (400) on a repeated key. */
static json_t *
query_object(const char *query, struct jsonin_error *err)
{
	struct evkeyvalq kv;
	struct evkeyval *e;
	json_t *obj = NULL;

	TAILQ_INIT(&kv);
	memset(err, 0, sizeof(*err));
	err->status = 400;
	if (evhttp_parse_query_str(query, &kv) != 0) {
		snprintf(err->detail, sizeof(err->detail), "malformed query string");
		goto done;
	}
	obj = json_object();
	TAILQ_FOREACH(e, &kv, next) {
		json_t *value;

		if (json_object_get(obj, e->key) != NULL || (value = json_string(e->value)) == NULL ||
		    json_object_set_new(obj, e->key, value) != 0) {
			snprintf(err->detail, sizeof(err->detail),
			    "query parameter given twice or not UTF-8");
			snprintf(err->field, sizeof(err->field), "%.100s", e->key);
			json_decref(obj);
			obj = NULL;
			break;
		}
	}
done:
	evhttp_clear_headers(&kv);
	return obj;
}

/* Validates the query string against the route's; answers on failure. */
static bool
request_read_query(struct request *r)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->req));
	struct jsonin_error jerr;
	json_t *obj;

	/* Probes and scrapers may add what they like to /healthz and /metrics. */
	if (q == NULL || *q == '\0' || (r->route->flags & ROUTE_PUBLIC))
		return true;
	if (r->route->query == NULL) {
		request_fail(r, 422, "this route takes no query parameter", NULL);
		return false;
	}
	if ((obj = query_object(q, &jerr)) == NULL ||
	    !jsonin_validate(obj, r->route->query, &jerr)) {
		json_decref(obj);
		reply_jsonin_error(r, &jerr);
		return false;
	}
	r->query = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (r->query == NULL) {
		request_fail(r, 500, "out of memory", NULL);
		return false;
	}
	return true;
}

/* Turns "Authorization: Bearer cf_..." into its digest; answers 401 when unusable. */
static bool
request_read_token(struct request *r)
{
	const char *value = evhttp_find_header(evhttp_request_get_input_headers(r->req),
	    "Authorization");
	unsigned char digest[TOKEN_DIGEST_LEN];
	const char *tok;
	size_t len;

	if (value == NULL && (r->route->flags & ROUTE_OPTIONAL_AUTH))
		return true;	/* anonymous */
	if (value == NULL) {
		request_fail(r, 401, "a bearer token is required", NULL);
		return false;
	}
	if (!token_from_bearer(value, &tok, &len) || !token_digest(tok, len, digest)) {
		request_fail(r, 401, "the bearer token is malformed", NULL);
		return false;
	}
	hex_encode(digest, sizeof(digest), r->token_hex);
	r->has_token = true;
	return true;
}

static void
request_route(struct request *r)
{
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r->req));
	char allow[128];

	switch (router_match(routes_patterns(), nroutes, r->method,
	    path != NULL ? path : "", &r->match)) {
	case ROUTER_NOT_FOUND:
		request_fail(r, 404, "no such route", NULL);
		return;
	case ROUTER_METHOD_NOT_ALLOWED:
		router_allow_header(r->match.allowed, allow, sizeof(allow));
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow", allow);
		request_fail(r, 405, "this route does not take this method", NULL);
		return;
	case ROUTER_FOUND:
		break;
	}
	r->route = &routes[r->match.index];
	r->route_index = (int)r->match.index;
	/* A caller without a usable token learns nothing, not even about its body. */
	if (!(r->route->flags & ROUTE_PUBLIC) && !request_read_token(r))
		return;
	if (!request_read_query(r) || !request_read_body(r))
		return;
	r->route->handle(r);
}

/* Framing, headers and path, before any route: a 400 that closes the connection. */
static bool
request_guard(struct request *r)
{
	char why[HTTP_GUARD_DETAIL_MAX];

	if (http_guard_check(r->req, why, sizeof(why)))
		return true;
	log_info("refused before routing: %s rid=%s", why, r->id);
	answer_closes(r->req);
	request_fail(r, 400, why, NULL);
	return false;
}

static void
server_dispatch(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	struct conn *conn = conn_guard_request_begin(req);
	struct request *r = request_new(srv, req);

	if (r == NULL) {
		evhttp_send_error(req, 503, "Service Unavailable");
		return;
	}
	if (conn_guard_last_request(conn))
		answer_closes(req);
	if (srv->draining) {
		request_fail(r, 503, "the server is shutting down", NULL);
		return;
	}
	if (request_guard(r))
		request_route(r);
}

/* Takes the reserve descriptor back when it is not held; warns when it cannot. */
static void
spare_take(struct server *srv)
{
	if (srv->spare_fd != -1)
		return;
	if ((srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		log_warn("cannot take the reserve descriptor back: %s", strerror(errno));
}

static void
resume_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	spare_take(srv);
	if (srv->listener != NULL && !srv->draining)
		evconnlistener_enable(srv->listener);
}

/*
 * Out of descriptors: gives up the reserve descriptor to accept, and close at
 * once, the connections waiting in LFD's backlog (so that their clients see
 * an EOF now instead of hanging there), then takes it back. Returns how many
 * were closed.
 */
static unsigned
refuse_pending(struct server *srv, evutil_socket_t lfd)
{
	unsigned n = 0;
	int fd;

	if (srv->spare_fd == -1)
		return 0;
	close(srv->spare_fd);
	srv->spare_fd = -1;
	while (n < ACCEPT_BACKLOG && (fd = accept(lfd, NULL, NULL)) != -1) {
		close(fd);
		metrics_connection(METRICS_CONN_REFUSED);
		n++;
	}
	spare_take(srv);
	return n;
}

/* Counts a pause and its refusals; warns about them at most every ACCEPT_LOG_PERIOD_S. */
static void
note_exhaustion(struct server *srv, int err, unsigned refused)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	srv->pauses_unlogged++;
	srv->refused_unlogged += refused;
	if (srv->exhaustion_logged_at != 0 &&
	    now.tv_sec - srv->exhaustion_logged_at < ACCEPT_LOG_PERIOD_S)
		return;
	log_warn("accept: %s: %llu connection(s) closed at once, accepting paused "
	    "%llu time(s) for %d ms", strerror(err), srv->refused_unlogged,
	    srv->pauses_unlogged, ACCEPT_PAUSE_MS);
	srv->pauses_unlogged = srv->refused_unlogged = 0;
	srv->exhaustion_logged_at = now.tv_sec;
}

/* Out of descriptors or memory: refuse what waits, then pause accepting instead of spinning. */
static void
accept_error_cb(struct evconnlistener *lev, void *http)
{
	struct server *srv = listening;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval pause = { 0, ACCEPT_PAUSE_MS * 1000 };
	unsigned refused = 0;

	if (srv == NULL || srv->listener != lev) {
		log_warn("accept: %s on a listener no server owns", strerror(err));
		return;
	}
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_debug("accept: %s", strerror(err));
		return;
	}
	if (err == EMFILE || err == ENFILE)
		refused = refuse_pending(srv, evconnlistener_get_fd(lev));
	note_exhaustion(srv, err, refused);
	evconnlistener_disable(lev);
	evtimer_add(srv->resume_accept, &pause);
}

static bool
server_listen(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char addr[128];

	snprintf(addr, sizeof(addr), strchr(cfg->listen_addr, ':') != NULL ?
	    "[%s]:%d" : "%s:%d", cfg->listen_addr, cfg->listen_port);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errlen, "listen_addr '%s' is not a numeric address",
		    cfg->listen_addr);
		return false;
	}
	srv->listener = evconnlistener_new_bind(srv->base, NULL, NULL,
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    ACCEPT_BACKLOG, (struct sockaddr *)&ss, sslen);
	if (srv->listener == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
		return false;
	}
	evconnlistener_set_error_cb(srv->listener, accept_error_cb);
	/* Accepted sockets inherit it on Linux: without it, Nagle and delayed
	 * ACKs hold small answers back for up to 40 ms. */
	{
		int one = 1;

		if (setsockopt(evconnlistener_get_fd(srv->listener), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one)) != 0)
			log_warn("TCP_NODELAY: %s", strerror(errno));
	}
	if ((srv->bound = evhttp_bind_listener(srv->http, srv->listener)) == NULL) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
		snprintf(err, errlen, "cannot serve HTTP on %s", addr);
		return false;
	}
	listening = srv;
	log_info("listening on https://%s", addr);
	return true;
}

static void
server_configure_http(struct server *srv, const struct config *cfg)
{
	long long slack = cfg->max_body_size < BODY_SLACK_MAX ?
	    cfg->max_body_size : BODY_SLACK_MAX;

	/* evhttp's own 413 is HTML: leave it room so that ours (problem+json) answers first. */
	evhttp_set_max_body_size(srv->http, (ev_ssize_t)(cfg->max_body_size + slack));
	evhttp_set_max_headers_size(srv->http, (ev_ssize_t)cfg->max_header_size);
	evhttp_set_timeout(srv->http, cfg->http_idle_timeout_s);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_bevcb(srv->http, conn_guard_bevcb, srv->guard);
	evhttp_set_gencb(srv->http, server_dispatch, srv);
}

struct server *
server_new(struct event_base *base, const struct config *cfg, struct tls *tls,
    struct db_pool *pool, char *err, size_t errlen)
{
	struct server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->spare_fd = -1;
	srv->base = base;
	srv->pool = pool;
	srv->cfg = cfg;
	srv->max_body = cfg->max_body_size;
	srv->http = evhttp_new(base);
	srv->resume_accept = evtimer_new(base, resume_accept_cb, srv);
	srv->guard = conn_guard_new(cfg, tls);
	if (srv->http == NULL || srv->resume_accept == NULL || srv->guard == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	server_configure_http(srv, cfg);
	if ((srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open the reserve descriptor (/dev/null): %s",
		    strerror(errno));
		goto fail;
	}
	if (!server_listen(srv, cfg, err, errlen))
		goto fail;
	return srv;
fail:
	server_free(srv);
	return NULL;
}

void
server_stop_accepting(struct server *srv)
{
	srv->draining = true;
	if (srv->bound != NULL) {
		evhttp_del_accept_socket(srv->http, srv->bound);	/* frees the listener */
		srv->bound = NULL;
		srv->listener = NULL;
	}
	if (listening == srv)
		listening = NULL;
}

int
server_inflight(const struct server *srv)
{
	return srv->inflight;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (listening == srv)
		listening = NULL;
	if (srv->http != NULL)
		evhttp_free(srv->http);	/* closes the listener and every connection */
	if (srv->resume_accept != NULL)
		event_free(srv->resume_accept);
	if (srv->spare_fd != -1)
		close(srv->spare_fd);
	conn_guard_free(srv->guard);	/* after evhttp: its connections may outlive it a loop turn */
	free(srv);
}
