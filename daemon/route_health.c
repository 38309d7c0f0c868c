/*
 * route_health.c - GET /healthz (a round trip through the pool proves a
 * live connection) and GET /metrics (local counters, no database).
 */
#include <event2/buffer.h>

#include "metrics.h"
#include "routes.h"

static void
healthz_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct request *r = arg;

	if (outcome == DB_OK)
		request_reply_json(r, 200, "{\"status\":\"ok\"}");
	else
		request_fail(r, 503, "the database is unavailable", NULL);
}

void
route_healthz(struct request *r)
{
	if (!db_pool_submit(r->pool, routes_internal_statement(STMT_PING), 0, NULL, healthz_done, r))
		request_fail(r, 503, "the database is unavailable", NULL);
}

void
route_metrics(struct request *r)
{
	struct evbuffer *out = evbuffer_new();
	struct db_pool_stats stats;

	if (out == NULL) {
		request_fail(r, 500, "out of memory", NULL);
		return;
	}
	db_pool_stats(r->pool, &stats);
	metrics_render(out, &stats);
	request_reply_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8", out);
	evbuffer_free(out);
}
