/*
 * conn_guard.h - each client connection's life under hostile clients: how
 * many may be open (max_connections: beyond, a new one is accepted and closed
 * at once), how long a request may take to arrive (request_deadline_s from
 * its first byte, and from accept to the first byte: an absolute bound,
 * which evhttp's idle timeout is not; then 408, or just close), how many
 * requests one connection carries (max_requests_per_connection), and the raw
 * scan of each request's headers, answered with a 400 before evhttp parses a
 * bad one. It is evhttp's bufferevent callback, and it never gives evhttp
 * NULL: evhttp would then serve plaintext on the TLS port.
 */
#ifndef CERTFLOW_CONN_GUARD_H
#define CERTFLOW_CONN_GUARD_H

#include <stdbool.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include <certflow/config.h>

#include "http_guard.h"
#include "tls.h"

struct conn_guard;
struct conn;

/* The limits come from CFG; NULL when out of memory. */
struct conn_guard *conn_guard_new(const struct config *cfg, struct tls *tls);

/* Connections still open keep what they need until they close. */
void conn_guard_free(struct conn_guard *g);

/* evhttp_set_bevcb callback (ARG: the guard): a TLS bufferevent, or one closed at once. */
struct bufferevent *conn_guard_bevcb(struct event_base *base, void *arg);

/* REQ has fully arrived: its deadline stops. Its connection, or NULL if unknown. */
struct conn *conn_guard_request_begin(struct evhttp_request *req);

/* True when C's current request is the last one it may carry (NULL: false). */
bool conn_guard_last_request(const struct conn *c);

/*
 * REQ is being answered: its connection now waits for the next request. True
 * when the answer must close the connection: a request pipelined behind it
 * already has a bad header block (which evhttp must never parse).
 */
bool conn_guard_request_end(struct evhttp_request *req);

/* evhttp_send_reply, the answer written as one TLS record when it fits in one. */
void conn_guard_send_reply(struct evhttp_request *req, int status, const char *reason);

#endif
