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

/* Appends the whole exposition, with the pool's gauges, to OUT. */
void metrics_render(struct evbuffer *out, const struct db_pool_stats *pool);

void metrics_free(void);

#endif
