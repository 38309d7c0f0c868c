/*
 * db_pool.c - owns certflowd's PostgreSQL connections and the wait queue.
 * Each connection is a small state machine (down -> connecting -> preparing
 * -> idle <-> busy) advanced only by its socket event and its one timer; a
 * lost connection fails its statement with DB_UNAVAILABLE and reconnects with
 * doubling backoff. No blocking libpq call is ever made here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <certflow/log.h>

#include "db_pool.h"

enum conn_state {
	CONN_DOWN,		/* waiting for the reconnect timer */
	CONN_CONNECTING,	/* PQconnectPoll in progress */
	CONN_PREPARING,		/* preparing statements one by one */
	CONN_IDLE,
	CONN_BUSY,		/* one statement in flight */
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
	int backoff_ms;
	int prepared;		/* statements prepared so far */
	struct db_job *job;	/* CONN_BUSY: the statement in flight */
	PGresult *result;	/* its first result, until PQgetResult gives NULL */
	bool down_logged;	/* one warning per outage, not one per retry */
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
	unsigned long long errors;
	/* copied from the configuration at creation */
	char *conninfo;
	char options[160];
	char connect_timeout[16];
	int queue_max;
	int queue_timeout_ms;
	int connect_timeout_ms;
	int watchdog_ms;	/* 0: none */
	int backoff_min_ms;
	int backoff_max_ms;
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
	struct db_job *job;

	while ((job = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, job, link);
		p->nqueued--;
		job_finish(job, DB_UNAVAILABLE, NULL);
	}
	evtimer_del(p->sweep);
}

/* (Re)registers the socket event only when the socket or the interest changed. */
static void
conn_watch(struct db_conn *c, short what);

static void
conn_close(struct db_conn *c)
{
	if (c->io != NULL) {
		event_free(c->io);
		c->io = NULL;
	}
	if (c->timer != NULL)
		evtimer_del(c->timer);
	if (c->pg != NULL) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
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
	return true;
}

static void
conn_ready(struct db_conn *c)
{
	struct db_pool *p = c->pool;

	evtimer_del(c->timer);
	c->state = CONN_IDLE;
	c->backoff_ms = 0;
	if (c->down_logged || log_threshold >= LOG_LVL_DEBUG)
		log_info("database connection %d ready", c->index);
	c->down_logged = false;
	pool_dispatch(p);
}

static void
conn_prepare_next(struct db_conn *c)
{
	const struct db_statement *s = &c->pool->stmts[c->prepared];

	if (!PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	conn_flush(c);
}

static void
notice_receiver(void *arg, const PGresult *res)
{
	struct db_conn *c = arg;
	char buf[512];

	log_debug("database connection %d: %s", c->index,
	    one_line(PQresultErrorMessage(res), buf, sizeof(buf)));
}

static void
conn_connected(struct db_conn *c)
{
	PQsetNoticeReceiver(c->pg, notice_receiver, c);
	if (c->pool->nstmts == 0) {
		conn_ready(c);
		return;
	}
	c->state = CONN_PREPARING;
	c->prepared = 0;
	conn_prepare_next(c);
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

/* A prepared statement answered; prepares the next or becomes idle. */
static void
conn_prepared_one(struct db_conn *c, PGresult *res)
{
	const struct db_statement *s = &c->pool->stmts[c->prepared];
	char buf[512];

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("cannot prepare statement %s: %s (is the schema migrated?)",
		    s->name, one_line(PQresultErrorMessage(res), buf, sizeof(buf)));
		PQclear(res);
		conn_lost(c, "statement preparation failed");
		return;
	}
	PQclear(res);
	if (++c->prepared < c->pool->nstmts)
		conn_prepare_next(c);
	else
		conn_ready(c);
}

/* The statement in flight finished: the connection is idle again before the callback runs. */
static void
conn_statement_done(struct db_conn *c, PGresult *res)
{
	struct db_job *job = c->job;
	ExecStatusType st = PQresultStatus(res);
	enum db_outcome outcome = DB_OK;
	char buf[512];

	c->job = NULL;
	evtimer_del(c->timer);
	c->state = CONN_IDLE;
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		c->pool->errors++;
		outcome = PQstatus(c->pg) == CONNECTION_BAD ? DB_UNAVAILABLE : DB_FAILED;
		log_debug("statement %s failed: %s", c->pool->stmts[job->stmt].name,
		    one_line(PQresultErrorMessage(res), buf, sizeof(buf)));
	}
	job_finish(job, outcome, res);
	PQclear(res);
	if (PQstatus(c->pg) == CONNECTION_BAD && c->state == CONN_IDLE)
		conn_lost(c, PQerrorMessage(c->pg));
	else
		pool_dispatch(c->pool);
}

/* Reads whatever arrived and completes the step in flight once libpq has it all. */
static void
conn_read_results(struct db_conn *c, short what)
{
	PGresult *r, *res;

	if ((what & EV_WRITE) && !conn_flush(c))
		return;
	if ((what & EV_READ) && !PQconsumeInput(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	while (!PQisBusy(c->pg)) {
		r = PQgetResult(c->pg);
		if (r == NULL) {
			res = c->result;
			c->result = NULL;
			if (res == NULL) {
				conn_lost(c, "no result from the server");
				return;
			}
			if (c->state == CONN_PREPARING)
				conn_prepared_one(c, res);
			else
				conn_statement_done(c, res);
			return;
		}
		if (c->result == NULL)
			c->result = r;
		else
			PQclear(r);
	}
}

/* An idle connection is readable: a notice, or the server going away. */
static void
conn_check_idle(struct db_conn *c)
{
	PGnotify *n;

	if (!PQconsumeInput(c->pg)) {
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	while ((n = PQnotifies(c->pg)) != NULL)
		PQfreemem(n);
	if (PQstatus(c->pg) == CONNECTION_BAD)
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
	case CONN_BUSY:
		conn_read_results(c, what);
		break;
	case CONN_IDLE:
		conn_check_idle(c);
		break;
	case CONN_DOWN:
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
	case CONN_CONNECTING:
	case CONN_PREPARING:
		conn_lost(c, "connection attempt timed out");
		break;
	case CONN_BUSY:
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
 * Closes the connection, fails its statement, schedules a reconnect, and
 * fails the queue when no connection is left to serve it.
 */
static void
conn_lost(struct db_conn *c, const char *why)
{
	struct db_pool *p = c->pool;
	struct db_job *job = c->job;
	char buf[512];

	p->errors++;
	one_line(why, buf, sizeof(buf));
	if (!c->down_logged)
		log_warn("database connection %d lost: %s", c->index, buf);
	else
		log_debug("database connection %d: %s", c->index, buf);
	c->down_logged = true;
	c->job = NULL;
	if (c->result != NULL) {
		PQclear(c->result);
		c->result = NULL;
	}
	conn_close(c);
	c->state = CONN_DOWN;
	conn_schedule_reconnect(c);
	if (job != NULL)
		job_finish(job, DB_UNAVAILABLE, NULL);
	if (pool_count(p, CONN_CONNECTING, CONN_BUSY) == 0)
		pool_fail_queue(p);
}

static void
conn_connect(struct db_conn *c)
{
	struct db_pool *p = c->pool;
	const char *keys[] = { "application_name", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "client_encoding",
	    "dbname", "options", NULL };
	const char *vals[] = { "certflowd", "1", "10", "5", "3", "UTF8",
	    p->conninfo, p->options, NULL };

	/* Keys before dbname are defaults the connection string may override. */
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
	/* libpq ignores connect_timeout in the asynchronous API: bound it here. */
	timer_in_ms(c->timer, p->connect_timeout_ms);
	conn_watch(c, EV_WRITE);
}

/* Starts JOB on idle connection C; on failure puts it back at the queue head. */
static void
conn_send_job(struct db_conn *c, struct db_job *job)
{
	const struct db_statement *s = &c->pool->stmts[job->stmt];

	if (!PQsendQueryPrepared(c->pg, s->name, job->nparams,
	    (const char *const *)job->params, NULL, NULL, 0)) {
		TAILQ_INSERT_HEAD(&c->pool->queue, job, link);
		c->pool->nqueued++;
		conn_lost(c, PQerrorMessage(c->pg));
		return;
	}
	c->job = job;
	c->state = CONN_BUSY;
	if (c->pool->watchdog_ms > 0)
		timer_in_ms(c->timer, c->pool->watchdog_ms);
	conn_flush(c);
}

static struct db_conn *
pool_idle_conn(struct db_pool *p)
{
	for (int i = 0; i < p->nconns; i++)
		if (p->conns[i].state == CONN_IDLE)
			return &p->conns[i];
	return NULL;
}

static void
pool_dispatch(struct db_pool *p)
{
	struct db_conn *c;
	struct db_job *job;

	while ((job = TAILQ_FIRST(&p->queue)) != NULL &&
	    (c = pool_idle_conn(p)) != NULL) {
		TAILQ_REMOVE(&p->queue, job, link);
		p->nqueued--;
		conn_send_job(c, job);
	}
	if (TAILQ_EMPTY(&p->queue))
		evtimer_del(p->sweep);
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
	TAILQ_INIT(&p->queue);
	p->conninfo = strdup(cfg->db_conninfo);
	p->conns = calloc((size_t)p->nconns, sizeof(*p->conns));
	p->sweep = evtimer_new(base, pool_sweep_cb, p);
	if (p->conninfo == NULL || p->conns == NULL || p->sweep == NULL)
		goto fail;
	for (int i = 0; i < p->nconns; i++) {
		struct db_conn *c = &p->conns[i];

		c->pool = p;
		c->index = i;
		c->state = CONN_DOWN;
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

	if (nparams > DB_MAX_PARAMS || stmt < 0 || stmt >= p->nstmts)
		return false;
	if (pool_count(p, CONN_CONNECTING, CONN_BUSY) == 0)
		return false;
	if (p->nqueued >= p->queue_max && pool_idle_conn(p) == NULL)
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
	pool_dispatch(p);
	return true;
}

void
db_pool_stats(const struct db_pool *p, struct db_pool_stats *out)
{
	out->size = p->nconns;
	out->connected = pool_count(p, CONN_IDLE, CONN_BUSY);
	out->busy = pool_count(p, CONN_BUSY, CONN_BUSY);
	out->waiting = p->nqueued;
	out->errors = p->errors;
}

void
db_pool_free(struct db_pool *p)
{
	if (p == NULL)
		return;
	if (p->sweep != NULL)
		pool_fail_queue(p);
	for (int i = 0; p->conns != NULL && i < p->nconns; i++) {
		struct db_conn *c = &p->conns[i];
		struct db_job *job = c->job;

		c->job = NULL;
		if (c->result != NULL)
			PQclear(c->result);
		conn_close(c);
		c->state = CONN_DOWN;
		if (c->timer != NULL)
			event_free(c->timer);
		if (job != NULL)
			job_finish(job, DB_UNAVAILABLE, NULL);
	}
	if (p->sweep != NULL)
		event_free(p->sweep);
	free(p->conns);
	free(p->conninfo);
	free(p);
}
