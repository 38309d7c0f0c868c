/*
 * worker.h - a few threads for CPU-heavy work that must not run on the event
 * loop (the receipts' slow hash). WORK runs on a worker thread and touches
 * nothing of the loop; DONE then runs on the loop thread.
 */
#ifndef CERTFLOW_WORKER_H
#define CERTFLOW_WORKER_H

#include <stdbool.h>
#include <event2/event.h>

typedef void (*worker_fn)(void *arg);

struct worker_pool;

/* NTHREADS threads and at most QUEUE_MAX jobs waiting; NULL on failure. */
struct worker_pool *worker_pool_new(struct event_base *base, int nthreads, int queue_max);

/* False when the queue is full or the pool is stopping: answer 503. */
bool worker_submit(struct worker_pool *pool, worker_fn work, worker_fn done, void *arg)
	__attribute__((warn_unused_result));

/* Finishes every queued job, runs their DONE callbacks, joins the threads. */
void worker_pool_free(struct worker_pool *pool);

#endif
