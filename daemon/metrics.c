/*
 * metrics.c - owns the request counters and latency histograms.
 * Recording is a few integer increments on the request path; all formatting
 * happens when /metrics is scraped.
 */
#include <stdbool.h>
#include <stdlib.h>

#include "metrics.h"

#define MAX_STATUSES 16		/* distinct statuses remembered per route */

static const double bucket_bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

struct status_count {
	int status;
	unsigned long long count;
};

struct route_metrics {
	const char *label;
	struct status_count statuses[MAX_STATUSES];
	unsigned long long buckets[NBUCKETS];	/* non-cumulative */
	unsigned long long count;
	double sum_seconds;
};

static struct route_metrics *table;	/* nlabels + 1 ("unmatched" last) */
static size_t ntable;

static struct {
	long long open;
	unsigned long long refused, deadline;
} conns;

bool
metrics_init(const char *const *labels, size_t nlabels)
{
	table = calloc(nlabels + 1, sizeof(*table));
	if (table == NULL)
		return false;
	ntable = nlabels + 1;
	for (size_t i = 0; i < nlabels; i++)
		table[i].label = labels[i];
	table[nlabels].label = "unmatched";
	return true;
}

static void
count_status(struct route_metrics *m, int status)
{
	for (int i = 0; i < MAX_STATUSES; i++) {
		if (m->statuses[i].status == status || m->statuses[i].status == 0) {
			m->statuses[i].status = status;
			m->statuses[i].count++;
			return;
		}
	}
	/* More distinct statuses than slots: fold into the last one's class. */
	m->statuses[MAX_STATUSES - 1].count++;
}

void
metrics_record(int route, int status, long long usec)
{
	struct route_metrics *m;
	double seconds = (double)usec / 1e6;
	size_t b;

	if (table == NULL)
		return;
	m = &table[route >= 0 && (size_t)route < ntable - 1 ? (size_t)route : ntable - 1];
	count_status(m, status);
	for (b = 0; b < NBUCKETS && seconds > bucket_bounds[b]; b++)
		;
	if (b < NBUCKETS)
		m->buckets[b]++;
	m->count++;
	m->sum_seconds += seconds;
}

static void
render_requests(struct evbuffer *out)
{
	evbuffer_add_printf(out,
	    "# HELP certflow_http_requests_total HTTP requests answered, by route and status.\n"
	    "# TYPE certflow_http_requests_total counter\n");
	for (size_t i = 0; i < ntable; i++)
		for (int s = 0; s < MAX_STATUSES && table[i].statuses[s].status != 0; s++)
			evbuffer_add_printf(out,
			    "certflow_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
			    table[i].label, table[i].statuses[s].status,
			    table[i].statuses[s].count);
}

static void
render_histograms(struct evbuffer *out)
{
	evbuffer_add_printf(out,
	    "# HELP certflow_http_request_duration_seconds Time from request to answer.\n"
	    "# TYPE certflow_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < ntable; i++) {
		const struct route_metrics *m = &table[i];
		unsigned long long cumulative = 0;

		if (m->count == 0)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cumulative += m->buckets[b];
			evbuffer_add_printf(out,
			    "certflow_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
			    m->label, bucket_bounds[b], cumulative);
		}
		evbuffer_add_printf(out,
		    "certflow_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
		    "certflow_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
		    "certflow_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    m->label, m->count, m->label, m->sum_seconds, m->label, m->count);
	}
}

static void
render_pool(struct evbuffer *out, const struct db_pool_stats *p)
{
	evbuffer_add_printf(out,
	    "# HELP certflow_db_pool_size Configured PostgreSQL connections.\n"
	    "# TYPE certflow_db_pool_size gauge\n"
	    "certflow_db_pool_size %d\n"
	    "# HELP certflow_db_pool_connected Connections ready or busy.\n"
	    "# TYPE certflow_db_pool_connected gauge\n"
	    "certflow_db_pool_connected %d\n"
	    "# HELP certflow_db_pool_busy Connections with statements in flight.\n"
	    "# TYPE certflow_db_pool_busy gauge\n"
	    "certflow_db_pool_busy %d\n"
	    "# HELP certflow_db_pool_waiting Requests waiting for a connection.\n"
	    "# TYPE certflow_db_pool_waiting gauge\n"
	    "certflow_db_pool_waiting %d\n"
	    "# HELP certflow_db_errors_total Lost connections and failed statements.\n"
	    "# TYPE certflow_db_errors_total counter\n"
	    "certflow_db_errors_total %llu\n",
	    p->size, p->connected, p->busy, p->waiting, p->errors);
	evbuffer_add_printf(out,
	    "# HELP certflow_db_pipeline_depth Configured statements in flight per connection.\n"
	    "# TYPE certflow_db_pipeline_depth gauge\n"
	    "certflow_db_pipeline_depth %d\n"
	    "# HELP certflow_db_inflight Statements sent and not yet answered.\n"
	    "# TYPE certflow_db_inflight gauge\n"
	    "certflow_db_inflight %d\n"
	    "# HELP certflow_db_inflight_max Most statements ever in flight on one "
	    "connection at once.\n"
	    "# TYPE certflow_db_inflight_max gauge\n"
	    "certflow_db_inflight_max %d\n",
	    p->depth, p->inflight, p->inflight_max);
}

void
metrics_connection(enum metrics_conn_event what)
{
	switch (what) {
	case METRICS_CONN_OPENED: conns.open++; break;
	case METRICS_CONN_CLOSED: conns.open--; break;
	case METRICS_CONN_REFUSED: conns.refused++; break;
	case METRICS_CONN_DEADLINE: conns.deadline++; break;
	}
}

static void
render_connections(struct evbuffer *out)
{
	evbuffer_add_printf(out,
	    "# HELP certflow_http_connections_open Client connections open.\n"
	    "# TYPE certflow_http_connections_open gauge\n"
	    "certflow_http_connections_open %lld\n"
	    "# HELP certflow_http_connections_refused_total Connections closed at once "
	    "(max_connections reached, out of file descriptors, or no TLS state could be made).\n"
	    "# TYPE certflow_http_connections_refused_total counter\n"
	    "certflow_http_connections_refused_total %llu\n"
	    "# HELP certflow_http_request_deadline_total Connections closed because a "
	    "request did not arrive within request_deadline_s.\n"
	    "# TYPE certflow_http_request_deadline_total counter\n"
	    "certflow_http_request_deadline_total %llu\n",
	    conns.open, conns.refused, conns.deadline);
}

void
metrics_render(struct evbuffer *out, const struct db_pool_stats *pool)
{
	if (table == NULL)
		return;
	render_requests(out);
	render_histograms(out);
	render_pool(out, pool);
	render_connections(out);
}

void
metrics_free(void)
{
	free(table);
	table = NULL;
	ntable = 0;
}
