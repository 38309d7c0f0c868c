/*
 * db_pool.c - owns certflowd's PostgreSQL connections and the wait queue.
 * Each connection is a small state machine (down -> [resolving ->]
 * connecting -> preparing -> idle <-> busy) advanced only by its socket
 * event, its one timer and, when db_conninfo names its host, the evdns
 * lookup of that name (libpq would resolve it on the loop: db_host.c). A
 * ready connection is in libpq pipeline mode: it carries up to
 * db_pipeline_depth statements at once, each followed by its own sync (its
 * own implicit transaction), answered in order from a FIFO. A lost
 * connection fails every statement in flight on it with DB_UNAVAILABLE and
 * reconnects with doubling backoff. Every wait is bounded: the connect
 * timer, the statement watchdog, TCP keepalives and tcp_user_timeout. No
 * blocking libpq call is ever made here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/dns.h>
#include <event2/util.h>

#include <certflow/log.h>

#include "db_host.h"
#include "db_pool.h"

/*
 * A statement in flight this long looks stuck (a lock wait, a long scan):
 * nothing more is pipelined behind it; new work goes to another connection
 * or waits in the queue, whence the first connection to free up takes it.
 */
#define PIPELINE_BEHIND_MAX_MS 50

/* Addresses of the database's host name handed to libpq, tried in order. */
#define LOOKUP_ADDRS_MAX 4

/* Compared by address: the one reason a connection drains before it goes. */
static const char read_only_retire[] =
    "the database refuses writes (read-only); reconnecting";

enum conn_state {
	CONN_DOWN,		/* waiting for the reconnect timer */
	CONN_RESOLVING,		/* evdns looking up the host's name */
	CONN_CONNECTING,	/* PQconnectPoll in progress */
	CONN_PREPARING,		/* every statement's Parse sent in one pipeline */
	CONN_IDLE,		/* ready, nothing in flight */
	CONN_BUSY,		/* ready, 1..depth statements in flight */
};

/*
 * Where the head of the pipeline is in libpq's sequence of results. For
 * each statement: its result, more results, NULL; then, for each sync,
 * errors raised at commit (deferred triggers), each followed by NULL, then
 * PGRES_PIPELINE_SYNC. Anything else means the two are out of step.
 */
enum conn_phase {
	PHASE_RESULT,		/* waiting for the head statement's first result */
	PHASE_MORE,		/* got one: more results, or the NULL that ends them */
	PHASE_SYNC,		/* its results ended: a commit error, or the sync */
	PHASE_SYNC_MORE,	/* got a commit error: the NULL that ends it */
};

struct db_job {
	TAILQ_ENTRY(db_job) link;
	int stmt;
	int nparams;
	char *params[DB_MAX_PARAMS];
	db_done_fn done;
	void *arg;
	struct timespec deadline;	/* while queued */
};
TAILQ_HEAD(job_queue, db_job);

struct db_conn {
	struct db_pool *pool;
	int index;
	enum conn_state state;
	PGconn *pg;
	struct event *io;	/* watches PQsocket(pg) for io_what */
	int io_fd;
	short io_what;
	struct event *timer;	/* reconnect, connect timeout or statement watchdog */
	struct evdns_getaddrinfo_request *lookup;	/* while resolving */
	int backoff_ms;
	int prepared;		/* statements whose preparation answered */
	struct job_queue inflight;	/* sent, in pipeline order */
	int ninflight;
	enum conn_phase phase;
	PGresult *result;	/* the head's result, kept until its sync */
	struct timespec head_since;	/* when the head's statement began to run */
	bool retiring;		/* take no more work; replace once drained */
	bool down_logged;	/* one warning per outage, not one per retry */
	struct timespec ready_at;	/* when it last became ready */
};

struct db_pool {
	struct event_base *base;
	const struct db_statement *stmts;
	int nstmts;
	struct db_conn *conns;
	int nconns;
	struct job_queue queue;
	int nqueued;
	struct event *sweep;	/* fails queued jobs whose wait expired */
	struct event *kick;	/* dispatches what db_pool_submit queued */
	unsigned long long errors;
	int inflight_max;
	/* copied from the configuration at creation */
	char *conninfo;
	char *host_name;	/* looked up before each connection; NULL: none */
	struct evdns_base *dns;	/* only with host_name */
	char options[160];
	char keepalives_idle[16];
	char keepalives_interval[16];
	char keepalives_count[16];
	char tcp_user_timeout[16];
	int depth;
	int queue_max;
	int queue_timeout_ms;
	int connect_timeout_ms;
	int watchdog_ms;	/* 0: none */
	int backoff_min_ms;
	int backoff_max_ms;
	bool closing;		/* db_pool_free has begun: no new work */
};

static void conn_connect(struct db_conn *c);
static void conn_lost(struct db_conn *c, const char *why);
static void pool_dispatch(struct db_pool *p);

static void
timespec_after_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds from now until TS (<= 0 when past). */
static long
ms_until(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (ts->tv_sec - now.tv_sec) * 1000L + (ts->tv_nsec - now.tv_nsec) / 1000000L;
}

static void
timer_in_ms(struct event *ev, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static void
job_free(struct db_job *job)
{
	for (int i = 0; i < job->nparams; i++)
		free(job->params[i]);
	free(job);
}

/* Calls the job's callback once and frees it. */
static void
job_finish(struct db_job *job, enum db_outcome outcome, const PGresult *res)
{
	job->done(job->arg, outcome, res);
	job_free(job);
}

/* Fails every job of LIST (already detached from any connection or queue). */
static void
jobs_fail(struct job_queue *list)
{
	struct db_job *job;

	while ((job = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, job, link);
		job_finish(job, DB_UNAVAILABLE, NULL);
	}
}

/* libpq messages end with a newline; logs want one line. */
static const char *
one_line(const char *msg, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", msg != NULL ? msg : "");
	n = strcspn(buf, "\n");
	buf[n] = '\0';
	return buf;
}

static int
pool_count(const struct db_pool *p, enum conn_state lo, enum conn_state hi)
{
	int n = 0;

	for (int i = 0; i < p->nconns; i++)
		if (p->conns[i].state >= lo && p->conns[i].state <= hi)
			n++;
	return n;
}

/* Fails every queued job: nothing can run them soon. */
static void
pool_fail_queue(struct db_pool *p)
{
	struct job_queue failed = TAILQ_HEAD_INITIALIZER(failed);

	TAILQ_CONCAT(&failed, &p->queue, link);
	p->nqueued = 0;
	evtimer_del(p->sweep);
	jobs_fail(&failed);
}

/* (Re)registers the socket event only when the socket or the interest changed. */
static void
conn_watch(struct db_conn *c, short what);

/* Closes the socket and libpq's connection; the jobs in flight stay for the caller. */
static void
conn_close(struct db_conn *c)
{
	if (c->lookup != NULL) {
		evdns_getaddrinfo_cancel(c->lookup);	/* its callback runs now */
		c->lookup = NULL;
	}
	if (c->io != NULL) {
		event_free(c->io);
		c->io = NULL;
	}
	if (c->timer != NULL)
		evtimer_del(c->timer);
	if (c->result != NULL) {
		PQclear(c->result);
		c->result = NULL;
	}
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
}

static bool
conn_ready_state(const struct db_conn *c)
{
	return c->state == CONN_IDLE || c->state == CONN_BUSY;
}

/* Sends what libpq buffered; watches for write too while some remains. */
static bool
conn_flush(struct db_conn *c)
{
	int r = PQflush(c->pg);

	if (r < 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return false;
	}
	conn_watch(c, r == 1 ? EV_READ | EV_WRITE : EV_READ);
	return c->state != CONN_DOWN;	/* conn_watch may have lost it */
}

/* The head of the pipeline changed: its statement starts now, under the watchdog. */
static void
conn_head_started(struct db_conn *c)
{
	clock_gettime(CLOCK_MONOTONIC, &c->head_since);
	if (c->pool->watchdog_ms > 0)
		timer_in_ms(c->timer, c->pool->watchdog_ms);
}

static void
conn_ready(struct db_conn *c)
{
	struct db_pool *p = c->pool;

	evtimer_del(c->timer);
	c->state = CONN_IDLE;
	c->phase = PHASE_RESULT;
	c->backoff_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &c->ready_at);
	if (c->down_logged || log_threshold >= LOG_LVL_DEBUG)
		log_info("database connection %d ready", c->index);
	c->down_logged = false;
	pool_dispatch(p);
}

static void
notice_receiver(void *arg, const PGresult *res)
{
	struct db_conn *c = arg;
	char buf[512];

	log_debug("database connection %d: %s", c->index,
	    one_line(PQresultErrorMessage(res), buf, sizeof(buf)));
}

/*
 * Connected: enters pipeline mode and sends the preparation of every
 * statement, then one sync, in one write; their answers arrive in order.
 */
static void
conn_connected(struct db_conn *c)
{
	const struct db_pool *p = c->pool;

	PQsetNoticeReceiver(c->pg, notice_receiver, c);
	if (!PQenterPipelineMode(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	c->phase = PHASE_RESULT;
	c->prepared = 0;
	if (p->nstmts == 0) {
		conn_ready(c);
		return;
	}
	c->state = CONN_PREPARING;
	for (int i = 0; i < p->nstmts; i++) {
		const struct db_statement *s = &p->stmts[i];

		if (!PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL)) {
			conn_lost(c, PQerrorMessage(c->pg));
			return;
		}
	}
	if (!PQpipelineSync(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
}

static void
conn_poll_connect(struct db_conn *c)
{
	switch (PQconnectPoll(c->pg)) {
	case PGRES_POLLING_READING:
		conn_watch(c, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		conn_watch(c, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		conn_connected(c);
		break;
	case PGRES_POLLING_FAILED:
	default:
		conn_lost(c, PQerrorMessage(c->pg));
		break;
	}
}

/*
 * Why a failed statement means its connection must go, or NULL to keep it.
 * Sets *OUTCOME to DB_UNAVAILABLE when the session itself is gone: the
 * socket broke, or the server is shutting it down (admin_shutdown from
 * pg_terminate_backend or a stop, crash_shutdown, cannot_connect_now, any
 * connection exception). A read-only refusal keeps DB_FAILED (the route says
 * 503) but recycles a connection older than db_reconnect_max_ms, so that a
 * database made writable again, or a conninfo with target_session_attrs
 * that now leads to a new primary, is found without a restart, and a
 * database that stays read-only costs at most one reconnect per connection
 * per db_reconnect_max_ms.
 */
static const char *
conn_failure_drop(struct db_conn *c, const PGresult *res, enum db_outcome *outcome)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	struct timespec now;
	long age_ms;

	if (PQstatus(c->pg) == CONNECTION_BAD) {
		*outcome = DB_UNAVAILABLE;
		return PQerrorMessage(c->pg);
	}
	if (state == NULL)
		return NULL;
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	    strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0) {
		*outcome = DB_UNAVAILABLE;
		return PQresultErrorMessage(res);
	}
	if (strcmp(state, "25006") == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		age_ms = (now.tv_sec - c->ready_at.tv_sec) * 1000L +
		    (now.tv_nsec - c->ready_at.tv_nsec) / 1000000L;
		if (age_ms >= c->pool->backoff_max_ms)
			return read_only_retire;
	}
	return NULL;
}

/*
 * The head statement's sync arrived: its transaction is over. The job leaves
 * the pipeline, and the connection is in its next state (or, when it must
 * go, already down) before the callback runs, so that the callback may
 * submit more work. When the session itself is gone, the statements behind
 * this one fail with it; after a read-only refusal they finish first, and
 * the connection, taking no more work meanwhile, is replaced once drained.
 */
static void
conn_statement_done(struct db_conn *c)
{
	struct db_pool *p = c->pool;
	struct db_job *job = TAILQ_FIRST(&c->inflight);
	PGresult *res = c->result;
	ExecStatusType st = PQresultStatus(res);
	enum db_outcome outcome = DB_OK;
	const char *drop = NULL;
	char buf[512];

	TAILQ_REMOVE(&c->inflight, job, link);
	c->ninflight--;
	c->result = NULL;
	c->phase = PHASE_RESULT;
	if (c->ninflight > 0) {
		conn_head_started(c);
	} else {
		evtimer_del(c->timer);
		c->state = CONN_IDLE;
	}
	if (st == PGRES_PIPELINE_ABORTED) {
		/* never with one statement per sync: it did not run, so it may be retried */
		p->errors++;
		outcome = DB_UNAVAILABLE;
		log_warn("statement %s: pipeline aborted", p->stmts[job->stmt].name);
	} else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		p->errors++;
		outcome = DB_FAILED;
		drop = conn_failure_drop(c, res, &outcome);
		log_debug("statement %s failed: %s", p->stmts[job->stmt].name,
		    one_line(PQresultErrorMessage(res), buf, sizeof(buf)));
	} else if (PQstatus(c->pg) == CONNECTION_BAD) {
		drop = PQerrorMessage(c->pg);
	}
	if (drop == read_only_retire && c->ninflight > 0)
		c->retiring = true;
	else if (drop != NULL)
		conn_lost(c, drop);	/* copies DROP before closing */
	job_finish(job, outcome, outcome == DB_UNAVAILABLE ? NULL : res);
	PQclear(res);
	if (c->retiring && c->state == CONN_IDLE)
		conn_lost(c, read_only_retire);
	else if (drop == NULL || c->retiring)
		pool_dispatch(p);
}

/* The statements are prepared; false when one was refused (the connection is lost). */
static bool
conn_prepared_one(struct db_conn *c)
{
	const struct db_statement *s = &c->pool->stmts[c->prepared];
	PGresult *res = c->result;
	char buf[512];

	c->result = NULL;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("cannot prepare statement %s: %s (is the schema migrated?)",
		    s->name, one_line(PQresultErrorMessage(res), buf, sizeof(buf)));
		PQclear(res);
		conn_lost(c, "statement preparation failed");
		return false;
	}
	PQclear(res);
	c->prepared++;
	return true;
}

/* Keeps the first result, unless a later one is an error: that one decides. */
static void
conn_keep_result(struct db_conn *c, PGresult *r)
{
	ExecStatusType st = PQresultStatus(r);

	if (c->result == NULL) {
		c->result = r;
	} else if ((st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR ||
	    st == PGRES_BAD_RESPONSE) && PQresultStatus(c->result) != PGRES_FATAL_ERROR) {
		PQclear(c->result);
		c->result = r;
	} else {
		PQclear(r);
	}
}

/*
 * Takes one result (or NULL) from libpq and advances the head of the
 * pipeline. Returns false when the caller must stop reading: the connection
 * was lost, or became idle.
 */
static bool
conn_take_result(struct db_conn *c)
{
	PGresult *r = PQgetResult(c->pg);
	ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_EMPTY_QUERY;

	if (r != NULL && st == PGRES_PIPELINE_SYNC) {
		PQclear(r);
		if (c->phase != PHASE_SYNC && c->phase != PHASE_SYNC_MORE)
			goto out_of_step;
		if (c->state == CONN_PREPARING) {
			conn_ready(c);
			return false;
		}
		conn_statement_done(c);
		return c->state == CONN_BUSY;
	}
	switch (c->phase) {
	case PHASE_RESULT:
		if (r == NULL)
			goto out_of_step;
		c->result = r;
		c->phase = PHASE_MORE;
		return true;
	case PHASE_MORE:
		if (r != NULL) {
			conn_keep_result(c, r);
			return true;
		}
		if (c->state == CONN_PREPARING) {
			if (!conn_prepared_one(c))
				return false;
			c->phase = c->prepared < c->pool->nstmts ? PHASE_RESULT : PHASE_SYNC;
		} else {
			c->phase = PHASE_SYNC;
		}
		return true;
	case PHASE_SYNC:
	case PHASE_SYNC_MORE:
		if (r == NULL) {
			if (c->phase != PHASE_SYNC_MORE)
				goto out_of_step;
			c->phase = PHASE_SYNC;
			return true;
		}
		/* the commit failed (a deferred trigger): the statement's outcome is that error */
		conn_keep_result(c, r);
		c->phase = PHASE_SYNC_MORE;
		return true;
	}
out_of_step:
	if (r != NULL)
		PQclear(r);
	/* a connection that broke while reading ends its results early */
	conn_lost(c, PQstatus(c->pg) == CONNECTION_BAD ? PQerrorMessage(c->pg) :
	    "libpq's results are out of step with the pipeline");
	return false;
}

/*
 * The socket is readable or writable: sends what waits, reads what arrived
 * and completes every statement whose sync is in. An idle connection reads
 * only notices, or the server going away.
 */
static void
conn_io_ready(struct db_conn *c, short what)
{
	PGnotify *n;

	if ((what & EV_WRITE) && !conn_flush(c))
		return;
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	while ((n = PQnotifies(c->pg)) != NULL)
		PQfreemem(n);
	while ((c->state == CONN_PREPARING || c->state == CONN_BUSY) && !PQisBusy(c->pg))
		if (!conn_take_result(c))
			break;
	if (c->state == CONN_IDLE && PQstatus(c->pg) == CONNECTION_BAD)
		conn_lost(c, PQerrorMessage(c->pg));
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;

	switch (c->state) {
	case CONN_CONNECTING:
		conn_poll_connect(c);
		break;
	case CONN_PREPARING:
	case CONN_IDLE:
	case CONN_BUSY:
		conn_io_ready(c, what);
		break;
	case CONN_DOWN:
	case CONN_RESOLVING:
		break;
	}
}

static void
conn_watch(struct db_conn *c, short what)
{
	int fd = PQsocket(c->pg);

	if (c->io != NULL && c->io_fd == fd && c->io_what == what)
		return;
	if (c->io != NULL)
		event_free(c->io);
	c->io = NULL;
	if (fd < 0) {
		conn_lost(c, "no socket");
		return;
	}
	c->io = event_new(c->pool->base, fd, what | EV_PERSIST, conn_io_cb, c);
	if (c->io == NULL || event_add(c->io, NULL) != 0) {
		conn_lost(c, "cannot watch the socket");
		return;
	}
	c->io_fd = fd;
	c->io_what = what;
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_conn *c = arg;

	switch (c->state) {
	case CONN_DOWN:
		conn_connect(c);
		break;
	case CONN_RESOLVING:
	case CONN_CONNECTING:
	case CONN_PREPARING:
		conn_lost(c, "connection attempt timed out");
		break;
	case CONN_BUSY:
		/*
		 * The head statement got no answer: the server ignored
		 * statement_timeout, or the path to it is gone. Idle connections
		 * share that path: they go too, rather than each making one more
		 * request wait for its own watchdog. Busy ones have their own.
		 */
		for (int i = 0; i < c->pool->nconns; i++)
			if (c->pool->conns[i].state == CONN_IDLE)
				conn_lost(&c->pool->conns[i],
				    "dropped: another connection's statement got no answer");
		conn_lost(c, "statement got no answer in time");
		break;
	case CONN_IDLE:
		break;
	}
}

static void
conn_schedule_reconnect(struct db_conn *c)
{
	struct db_pool *p = c->pool;

	if (c->backoff_ms == 0)
		c->backoff_ms = p->backoff_min_ms;
	else if (c->backoff_ms < p->backoff_max_ms / 2)
		c->backoff_ms *= 2;
	else
		c->backoff_ms = p->backoff_max_ms;
	timer_in_ms(c->timer, c->backoff_ms);
}

/*
 * Closes the connection, fails every statement in flight on it (a write
 * among them may have committed: the caller cannot know, so 503), schedules
 * a reconnect, and fails the queue when no connection is left to serve it.
 * The connection is down before any callback runs.
 */
static void
conn_lost(struct db_conn *c, const char *why)
{
	struct db_pool *p = c->pool;
	struct job_queue failed = TAILQ_HEAD_INITIALIZER(failed);
	char buf[512];

	p->errors++;
	one_line(why, buf, sizeof(buf));
	if (!c->down_logged)
		log_warn("database connection %d lost: %s", c->index, buf);
	else
		log_debug("database connection %d: %s", c->index, buf);
	c->down_logged = true;
	TAILQ_CONCAT(&failed, &c->inflight, link);
	c->ninflight = 0;
	c->retiring = false;
	conn_close(c);
	c->state = CONN_DOWN;
	conn_schedule_reconnect(c);
	jobs_fail(&failed);
	if (pool_count(p, CONN_RESOLVING, CONN_BUSY) == 0)
		pool_fail_queue(p);
}

/*
 * Starts libpq's connection; HOSTS and HOSTADDRS, when not NULL, are the
 * host name repeated and the addresses just looked up, which libpq tries in
 * order.
 */
static void
conn_start(struct db_conn *c, const char *hosts, const char *hostaddrs)
{
	struct db_pool *p = c->pool;
	const char *keys[] = { "application_name", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "tcp_user_timeout",
	    "client_encoding", "dbname", "options", "host", "hostaddr", NULL };
	const char *vals[] = { "certflowd", "1", p->keepalives_idle,
	    p->keepalives_interval, p->keepalives_count, p->tcp_user_timeout,
	    "UTF8", p->conninfo, p->options, hosts, hostaddrs, NULL };

	/*
	 * Keys before dbname are defaults the connection string may override;
	 * those after it always apply (statement_timeout is certflowd's). libpq
	 * ignores a NULL value.
	 */
	c->pg = PQconnectStartParams(keys, vals, 1);
	if (c->pg == NULL) {
		conn_lost(c, "out of memory");
		return;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	if (PQsetnonblocking(c->pg, 1) != 0) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	c->state = CONN_CONNECTING;
	conn_watch(c, EV_WRITE);
}

/* Appends ITEM to the comma-separated list in BUF; false when it would not fit. */
static bool
list_append(char *buf, size_t size, const char *item)
{
	size_t len = strlen(buf);
	int n = snprintf(buf + len, size - len, "%s%s", len > 0 ? "," : "", item);

	return n >= 0 && (size_t)n < size - len;
}

static void
conn_resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct db_conn *c = arg;
	/* room for LOOKUP_ADDRS_MAX names of up to 255 bytes, and their addresses */
	char hosts[LOOKUP_ADDRS_MAX * 256] = "", addrs[LOOKUP_ADDRS_MAX * INET6_ADDRSTRLEN] = "";
	char addr[INET6_ADDRSTRLEN];
	const struct evutil_addrinfo *ai;
	const void *raw;
	int n = 0;

	if (result == EVUTIL_EAI_CANCEL)	/* conn_close: the connection went */
		return;
	c->lookup = NULL;
	if (result != 0 || res == NULL) {
		snprintf(hosts, sizeof(hosts), "cannot look up %s: %s",
		    c->pool->host_name, evutil_gai_strerror(result));
		conn_lost(c, hosts);
		return;
	}
	for (ai = res; ai != NULL && n++ < LOOKUP_ADDRS_MAX; ai = ai->ai_next) {
		raw = ai->ai_family == AF_INET6 ?
		    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr :
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		if (evutil_inet_ntop(ai->ai_family, raw, addr, sizeof(addr)) == NULL ||
		    !list_append(addrs, sizeof(addrs), addr) ||
		    !list_append(hosts, sizeof(hosts), c->pool->host_name))
			break;
	}
	evutil_freeaddrinfo(res);
	if (addrs[0] == '\0') {
		conn_lost(c, "the host's addresses cannot be used");
		return;
	}
	conn_start(c, hosts, addrs);
}

/*
 * Begins a connection: the lookup of the host's name first when there is
 * one (its answer may come at once, from /etc/hosts), then libpq. The
 * connect timer bounds both.
 */
static void
conn_connect(struct db_conn *c)
{
	struct db_pool *p = c->pool;
	struct evutil_addrinfo hints;

	/* libpq ignores connect_timeout in the asynchronous API: bound it here. */
	timer_in_ms(c->timer, p->connect_timeout_ms);
	if (p->host_name == NULL) {
		conn_start(c, NULL, NULL);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	c->state = CONN_RESOLVING;
	c->lookup = evdns_getaddrinfo(p->dns, p->host_name, NULL, &hints,
	    conn_resolved_cb, c);
}

/*
 * Appends JOB to ready connection C's pipeline: the statement, then its
 * sync. On failure puts it back at the queue head (nothing of it can have
 * committed without its sync) and loses the connection.
 */
static void
conn_send_job(struct db_conn *c, struct db_job *job)
{
	struct db_pool *p = c->pool;
	const struct db_statement *s = &p->stmts[job->stmt];

	if (!PQsendQueryPrepared(c->pg, s->name, job->nparams,
	    (const char *const *)job->params, NULL, NULL, 0) ||
	    !PQpipelineSync(c->pg)) {
		TAILQ_INSERT_HEAD(&p->queue, job, link);
		p->nqueued++;
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	TAILQ_INSERT_TAIL(&c->inflight, job, link);
	if (c->ninflight++ == 0) {
		c->state = CONN_BUSY;
		conn_head_started(c);
	}
	if (c->ninflight > p->inflight_max)
		p->inflight_max = c->ninflight;
	conn_flush(c);
}

/*
 * Statements ready connection C can take now: none when it is not ready, is
 * retiring, ends with a statement that runs alone (nothing is sent after
 * one, so it is always the last), or is behind a statement that looks stuck;
 * NOW is the time.
 */
static int
conn_room(const struct db_conn *c, const struct timespec *now)
{
	const struct db_job *last = TAILQ_LAST(&c->inflight, job_queue);

	if (!conn_ready_state(c) || c->retiring ||
	    (last != NULL && c->pool->stmts[last->stmt].alone))
		return 0;
	if (c->ninflight > 0 && (now->tv_sec - c->head_since.tv_sec) * 1000L +
	    (now->tv_nsec - c->head_since.tv_nsec) / 1000000L >= PIPELINE_BEHIND_MAX_MS)
		return 0;
	return c->pool->depth - c->ninflight;
}

/* The connection with the most room (the fewest in flight), or NULL. */
static struct db_conn *
pool_pick_conn(struct db_pool *p)
{
	struct db_conn *best = NULL;
	struct timespec now;
	int room, best_room = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (int i = 0; i < p->nconns && best_room < p->depth; i++) {
		if ((room = conn_room(&p->conns[i], &now)) > best_room) {
			best = &p->conns[i];
			best_room = room;
		}
	}
	return best;
}

/* Statements all connections could take now. */
static int
pool_room(struct db_pool *p)
{
	struct timespec now;
	int room = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (int i = 0; i < p->nconns; i++)
		room += conn_room(&p->conns[i], &now);
	return room;
}

static void
pool_dispatch(struct db_pool *p)
{
	struct db_conn *c;
	struct db_job *job;

	while ((job = TAILQ_FIRST(&p->queue)) != NULL &&
	    (c = pool_pick_conn(p)) != NULL) {
		TAILQ_REMOVE(&p->queue, job, link);
		p->nqueued--;
		conn_send_job(c, job);
	}
	if (TAILQ_EMPTY(&p->queue))
		evtimer_del(p->sweep);
}

/*
 * Runs as soon as the callback that submitted returns: a job's callback is
 * never called from inside db_pool_submit, even when sending it fails.
 */
static void
pool_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_dispatch(arg);
}

static void
pool_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct db_pool *p = arg;
	struct db_job *job;

	while ((job = TAILQ_FIRST(&p->queue)) != NULL && ms_until(&job->deadline) <= 0) {
		TAILQ_REMOVE(&p->queue, job, link);
		p->nqueued--;
		log_debug("request waited too long for a database connection");
		job_finish(job, DB_UNAVAILABLE, NULL);
	}
	if (job != NULL)
		timer_in_ms(p->sweep, ms_until(&job->deadline) + 1);
}

/* Decides whether db_conninfo's host must be looked up, and prepares evdns if so. */
static bool
pool_find_host(struct db_pool *p)
{
	char err[256];

	switch (db_host_classify(p->conninfo, &p->host_name, err, sizeof(err))) {
	case DB_HOST_REFUSED:
		log_error("%s", err);
		return false;
	case DB_HOST_LOOKUP:
		p->dns = evdns_base_new(p->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
		    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (p->dns == NULL) {
			log_error("cannot start the resolver for %s", p->host_name);
			return false;
		}
		log_info("the database host %s is looked up before each connection",
		    p->host_name);
		return true;
	case DB_HOST_DIRECT:
		break;
	}
	return true;
}

struct db_pool *
db_pool_new(struct event_base *base, const struct config *cfg,
    const struct db_statement *stmts, int nstmts)
{
	struct db_pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->base = base;
	p->stmts = stmts;
	p->nstmts = nstmts;
	p->nconns = cfg->db_pool_size;
	p->depth = cfg->db_pipeline_depth;
	p->queue_max = cfg->db_queue_max;
	p->queue_timeout_ms = cfg->db_queue_timeout_ms;
	p->connect_timeout_ms = cfg->db_connect_timeout_s * 1000;
	p->watchdog_ms = cfg->db_statement_timeout_ms > 0 ?
	    cfg->db_statement_timeout_ms + 2000 : 0;
	p->backoff_min_ms = cfg->db_reconnect_min_ms;
	p->backoff_max_ms = cfg->db_reconnect_max_ms;
	snprintf(p->options, sizeof(p->options),
	    "-c statement_timeout=%d -c TimeZone=UTC -c DateStyle=ISO",
	    cfg->db_statement_timeout_ms);
	snprintf(p->keepalives_idle, sizeof(p->keepalives_idle), "%d",
	    cfg->db_keepalives_idle_s);
	snprintf(p->keepalives_interval, sizeof(p->keepalives_interval), "%d",
	    cfg->db_keepalives_interval_s);
	snprintf(p->keepalives_count, sizeof(p->keepalives_count), "%d",
	    cfg->db_keepalives_count);
	snprintf(p->tcp_user_timeout, sizeof(p->tcp_user_timeout), "%d",
	    cfg->db_tcp_user_timeout_ms);
	TAILQ_INIT(&p->queue);
	p->conninfo = strdup(cfg->db_conninfo);
	p->conns = calloc((size_t)p->nconns, sizeof(*p->conns));
	if (p->conninfo != NULL && !pool_find_host(p))
		goto fail;
	p->sweep = evtimer_new(base, pool_sweep_cb, p);
	p->kick = event_new(base, -1, 0, pool_kick_cb, p);
	if (p->conninfo == NULL || p->conns == NULL || p->sweep == NULL || p->kick == NULL)
		goto fail;
	for (int i = 0; i < p->nconns; i++) {
		struct db_conn *c = &p->conns[i];

		c->pool = p;
		c->index = i;
		c->state = CONN_DOWN;
		TAILQ_INIT(&c->inflight);
		if ((c->timer = evtimer_new(base, conn_timer_cb, c)) == NULL)
			goto fail;
	}
	for (int i = 0; i < p->nconns; i++)
		conn_connect(&p->conns[i]);
	return p;
fail:
	db_pool_free(p);
	return NULL;
}

bool
db_pool_submit(struct db_pool *p, int stmt, int nparams,
    const char *const *params, db_done_fn done, void *arg)
{
	struct db_job *job;

	if (p->closing || nparams > DB_MAX_PARAMS || stmt < 0 || stmt >= p->nstmts)
		return false;
	if (pool_count(p, CONN_RESOLVING, CONN_BUSY) == 0)
		return false;
	/* dispatching waits until the caller returns: count what it will take */
	if (p->nqueued >= p->queue_max + pool_room(p))
		return false;
	if ((job = calloc(1, sizeof(*job))) == NULL)
		return false;
	job->stmt = stmt;
	job->done = done;
	job->arg = arg;
	for (int i = 0; i < nparams; i++) {
		if (params[i] != NULL && (job->params[i] = strdup(params[i])) == NULL) {
			job_free(job);
			return false;
		}
		job->nparams = i + 1;
	}
	job->nparams = nparams;
	timespec_after_ms(&job->deadline, p->queue_timeout_ms);
	TAILQ_INSERT_TAIL(&p->queue, job, link);
	if (p->nqueued++ == 0)
		timer_in_ms(p->sweep, p->queue_timeout_ms);
	event_active(p->kick, EV_TIMEOUT, 0);
	return true;
}

void
db_pool_stats(const struct db_pool *p, struct db_pool_stats *out)
{
	out->size = p->nconns;
	out->depth = p->depth;
	out->connected = pool_count(p, CONN_IDLE, CONN_BUSY);
	out->busy = pool_count(p, CONN_BUSY, CONN_BUSY);
	out->inflight = 0;
	for (int i = 0; i < p->nconns; i++)
		out->inflight += p->conns[i].ninflight;
	out->inflight_max = p->inflight_max;
	out->waiting = p->nqueued;
	out->errors = p->errors;
}

void
db_pool_free(struct db_pool *p)
{
	if (p == NULL)
		return;
	p->closing = true;	/* callbacks below cannot queue more */
	if (p->sweep != NULL)
		pool_fail_queue(p);
	for (int i = 0; p->conns != NULL && i < p->nconns; i++) {
		struct db_conn *c = &p->conns[i];
		struct job_queue failed = TAILQ_HEAD_INITIALIZER(failed);

		if (c->pool == NULL)	/* db_pool_new failed before this one */
			continue;
		TAILQ_CONCAT(&failed, &c->inflight, link);
		c->ninflight = 0;
		conn_close(c);
		c->state = CONN_DOWN;
		if (c->timer != NULL)
			event_free(c->timer);
		c->timer = NULL;
		jobs_fail(&failed);
	}
	if (p->sweep != NULL)
		event_free(p->sweep);
	if (p->kick != NULL)
		event_free(p->kick);
	if (p->dns != NULL)
		evdns_base_free(p->dns, 0);
	free(p->host_name);
	free(p->conns);
	free(p->conninfo);
	free(p);
}
