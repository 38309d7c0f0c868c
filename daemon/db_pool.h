/*
 * db_pool.h - a fixed set of PostgreSQL connections driven by libpq's
 * asynchronous API inside the libevent loop, each in pipeline mode carrying
 * up to db_pipeline_depth statements at once, and the bounded queue of
 * requests waiting for room. Nothing here blocks the loop.
 */
#ifndef CERTFLOW_DB_POOL_H
#define CERTFLOW_DB_POOL_H

#include <stdbool.h>
#include <libpq-fe.h>
#include <event2/event.h>

#include <certflow/config.h>

#define DB_MAX_PARAMS 10

/*
 * A statement prepared on every pooled connection as soon as it connects.
 * ALONE: background work that may run for a while (a batch); nothing is
 * pipelined behind it, so no request waits for it to finish.
 */
struct db_statement {
	const char *name;
	const char *sql;
	int nparams;
	bool alone;
};

enum db_outcome {
	DB_OK,		/* RES holds the statement's result (status TUPLES_OK or COMMAND_OK) */
	DB_UNAVAILABLE,	/* no connection, queue full or timed out, or the connection was lost */
	DB_FAILED,	/* the statement failed in PostgreSQL: RES holds the error */
};

/* RES is valid only during the call (may be NULL unless DB_OK/DB_FAILED). */
typedef void (*db_done_fn)(void *arg, enum db_outcome outcome, const PGresult *res);

struct db_pool;

struct db_pool_stats {
	int size;	/* configured connections */
	int depth;	/* configured statements in flight per connection */
	int connected;	/* ready or busy */
	int busy;	/* with at least one statement in flight */
	int inflight;	/* statements sent and not yet answered, all connections */
	int inflight_max;	/* the most ever in flight on one connection at once */
	int waiting;	/* requests queued for a connection */
	unsigned long long errors;	/* connection losses and statement failures */
};

/* Starts connecting every connection; never fails after allocation. */
struct db_pool *db_pool_new(struct event_base *base, const struct config *cfg,
    const struct db_statement *stmts, int nstmts);

/*
 * Runs statement STMT with PARAMS (text values, NULL for SQL NULL; copied).
 * Returns false, without calling DONE, when it cannot even be queued
 * (the database is unreachable or the queue is full): answer 503.
 * Otherwise DONE is called exactly once, never from inside this call.
 */
bool db_pool_submit(struct db_pool *pool, int stmt, int nparams,
    const char *const *params, db_done_fn done, void *arg)
	__attribute__((warn_unused_result));

void db_pool_stats(const struct db_pool *pool, struct db_pool_stats *out);

/* Fails what waits with DB_UNAVAILABLE, closes every connection, frees POOL. */
void db_pool_free(struct db_pool *pool);

#endif
