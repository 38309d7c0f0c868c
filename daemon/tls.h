/*
 * tls.h - the server's TLS context and the bufferevents evhttp speaks through.
 * A reload builds a whole new context and swaps it in only when it is
 * complete; connections already open keep the context they started with.
 */
#ifndef CERTFLOW_TLS_H
#define CERTFLOW_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <certflow/config.h>

/* Strict-Transport-Security on every answer, ours and conn_guard.c's raw ones: two years. */
#define TLS_HSTS_VALUE	"max-age=63072000"

struct tls;

/* Builds the context from CFG's tls_* keys; NULL with ERR set on failure. */
struct tls *tls_new(const struct config *cfg, char *err, size_t errlen);

/* Replaces the context from CFG; on failure keeps the old one and sets ERR. */
bool tls_reload(struct tls *tls, const struct config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * A new accepting TLS bufferevent on the current context (fd -1; it owns its
 * SSL and, once set, the fd), or NULL when SSL_new or libevent fail. Never
 * hand that NULL to evhttp: it would serve plaintext (conn_guard.c refuses).
 */
struct bufferevent *tls_bufferevent_new(struct tls *tls, struct event_base *base);

void tls_free(struct tls *tls);

#endif
