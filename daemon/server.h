/*
 * server.h - the HTTPS front: listener, evhttp, and the dispatch of each
 * request to its route after the checks every route shares (path, method,
 * body size and type, JSON shape, bearer token).
 */
#ifndef CERTFLOW_SERVER_H
#define CERTFLOW_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>

#include <certflow/config.h>

#include "db_pool.h"
#include "tls.h"

struct server;

/* Binds the listener and starts serving; NULL with ERR set on failure. */
struct server *server_new(struct event_base *base, const struct config *cfg,
    struct tls *tls, struct db_pool *pool, char *err, size_t errlen);

/* Closes the listener; requests in flight go on, new ones on open connections get 503. */
void server_stop_accepting(struct server *srv);

/* Requests received and not yet answered. */
int server_inflight(const struct server *srv);

/* Frees evhttp and every connection. Free the pool first (it answers what waits). */
void server_free(struct server *srv);

#endif
