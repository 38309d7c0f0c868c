/*
 * worker.c - owns the worker threads, their job queue and the pipe that
 * wakes the loop when jobs are done. Only the two queues are shared between
 * threads, each under the one mutex; callbacks into the rest of certflowd
 * (DONE) run on the loop thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <unistd.h>

#include <certflow/log.h>

#include "worker.h"

struct job {
	STAILQ_ENTRY(job) link;
	worker_fn work, done;
	void *arg;
};
STAILQ_HEAD(job_list, job);

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job_list todo, finished;	/* under lock */
	int queued;			/* under lock */
	bool stopping;			/* under lock */
	int queue_max;
	pthread_t *threads;
	int nthreads;
	int pipe_rd, pipe_wr;		/* a byte per finished batch */
	struct event *ev;
};

static void *
worker_main(void *arg)
{
	struct worker_pool *p = arg;
	struct job *j;
	char byte = 1;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (STAILQ_EMPTY(&p->todo) && !p->stopping)
			pthread_cond_wait(&p->wake, &p->lock);
		if ((j = STAILQ_FIRST(&p->todo)) == NULL)
			break;	/* stopping and nothing left */
		STAILQ_REMOVE_HEAD(&p->todo, link);
		pthread_mutex_unlock(&p->lock);
		j->work(j->arg);
		pthread_mutex_lock(&p->lock);
		STAILQ_INSERT_TAIL(&p->finished, j, link);
		/* A full pipe already holds a wake-up: EAGAIN is fine. */
		if (write(p->pipe_wr, &byte, 1) < 0 && errno != EAGAIN)
			log_error("worker: cannot wake the loop: %m");
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Runs the DONE callbacks of finished jobs, on the loop thread. */
static void
worker_drain(struct worker_pool *p)
{
	struct job_list ready = STAILQ_HEAD_INITIALIZER(ready);
	struct job *j;
	char buf[64];

	while (read(p->pipe_rd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->lock);
	STAILQ_CONCAT(&ready, &p->finished);
	pthread_mutex_unlock(&p->lock);
	while ((j = STAILQ_FIRST(&ready)) != NULL) {
		STAILQ_REMOVE_HEAD(&ready, link);
		pthread_mutex_lock(&p->lock);
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		j->done(j->arg);
		free(j);
	}
}

static void
worker_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_drain(arg);
}

struct worker_pool *
worker_pool_new(struct event_base *base, int nthreads, int queue_max)
{
	struct worker_pool *p = calloc(1, sizeof(*p));
	int fds[2] = { -1, -1 };

	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	STAILQ_INIT(&p->todo);
	STAILQ_INIT(&p->finished);
	p->queue_max = queue_max;
	p->pipe_rd = p->pipe_wr = -1;
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
		goto fail;
	p->pipe_rd = fds[0];
	p->pipe_wr = fds[1];
	p->ev = event_new(base, p->pipe_rd, EV_READ | EV_PERSIST, worker_pipe_cb, p);
	p->threads = calloc((size_t)nthreads, sizeof(*p->threads));
	if (p->ev == NULL || p->threads == NULL || event_add(p->ev, NULL) != 0)
		goto fail;
	for (; p->nthreads < nthreads; p->nthreads++)
		if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0)
			goto fail;
	return p;
fail:
	log_error("cannot start the worker threads");
	worker_pool_free(p);
	return NULL;
}

bool
worker_submit(struct worker_pool *p, worker_fn work, worker_fn done, void *arg)
{
	struct job *j;

	pthread_mutex_lock(&p->lock);
	if (p->stopping || p->queued >= p->queue_max) {
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	p->queued++;
	pthread_mutex_unlock(&p->lock);
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		pthread_mutex_lock(&p->lock);
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		return false;
	}
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&p->lock);
	STAILQ_INSERT_TAIL(&p->todo, j, link);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return true;
}

void
worker_pool_free(struct worker_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	if (p->pipe_rd >= 0)
		worker_drain(p);
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->pipe_rd >= 0)
		close(p->pipe_rd);
	if (p->pipe_wr >= 0)
		close(p->pipe_wr);
	free(p->threads);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
