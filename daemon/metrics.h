/*
 * metrics.h - request counters and latency histograms per route, rendered
 * in the Prometheus text format. Process-local: each certflowd instance is
 * scraped on its own.
 */
#ifndef CERTFLOW_METRICS_H
#define CERTFLOW_METRICS_H

#include <stddef.h>
#include <event2/buffer.h>

#include "db_pool.h"

/* NLABELS route labels ("GET /v1/me"...); requests matching none use "unmatched". */
bool metrics_init(const char *const *labels, size_t nlabels)
	__attribute__((warn_unused_result));

/* ROUTE is an index into the labels, or -1 for unmatched requests. */
void metrics_record(int route, int status, long long usec);

/* Connection events that no request carries (conn_guard.c). */
enum metrics_conn_event {
	METRICS_CONN_OPENED,	/* a TLS connection accepted */
	METRICS_CONN_CLOSED,	/* ... and gone */
	METRICS_CONN_REFUSED,	/* closed at once: max_connections, EMFILE, or no TLS state */
	METRICS_CONN_DEADLINE,	/* closed: its request did not arrive within request_deadline_s */
};

void metrics_connection(enum metrics_conn_event what);

/* Appends the whole exposition, with the pool's gauges, to OUT. */
void metrics_render(struct evbuffer *out, const struct db_pool_stats *pool);

void metrics_free(void);

#endif
