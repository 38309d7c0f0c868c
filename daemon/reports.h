/*
 * reports.h - what the whistleblowing routes need besides their SQL: the
 * keys that seal report texts (AES-256-GCM), the installation secret that
 * keys receipts' slow hash and sources' HMAC, and the worker threads that
 * compute the slow hash off the event loop.
 */
#ifndef CERTFLOW_REPORTS_H
#define CERTFLOW_REPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <event2/http.h>

#include <certflow/config.h>
#include <certflow/seal.h>

#include "worker.h"

/* Loads report_key_file and report_secret_file when set; starts the workers. */
bool reports_init(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen) __attribute__((warn_unused_result));

/* SIGHUP: re-reads report_key_file (a key was added for rotation); keeps the old ring on error. */
bool reports_reload(const struct config *cfg, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* False when the configuration names no report keys: the routes answer 503. */
bool reports_enabled(void);

const struct seal_keyring *reports_keyring(void);
struct worker_pool *reports_workers(void);

/* HMAC-SHA256 of the client's address under the secret, in hex: a rate-limit key that is no address. */
bool reports_source_key(struct evhttp_request *req, char out[65]);

/* The receipt's slow hash in hex. Slow on purpose: call it on a worker thread. */
bool reports_receipt_hash(const char *digits, char out[65]);

void reports_free(void);

#endif
