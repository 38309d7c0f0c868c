/*
 * job.c - owns the timer and the request ids of certflowd's background jobs
 * (job.h). A tick that finds a step in flight does nothing: steps never
 * overlap, and a slow database simply spaces them out.
 */
#include <stdio.h>

#include <openssl/rand.h>

#include <certflow/token.h>

#include "job.h"

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	if (!j->running)
		j->step(j->arg);
}

bool
job_start(struct job *j, struct event_base *base, int interval_s, const char *name,
    void (*step)(void *arg), void *arg)
{
	struct timeval every = { interval_s, 0 };

	j->name = name;
	j->step = step;
	j->arg = arg;
	j->running = false;
	j->timer = NULL;
	if (interval_s == 0)
		return true;
	j->timer = event_new(base, -1, EV_PERSIST, tick, j);
	if (j->timer == NULL || event_add(j->timer, &every) != 0) {
		job_stop(j);
		return false;
	}
	return true;
}

bool
job_new_request_id(struct job *j)
{
	unsigned char raw[8];
	char hex[2 * sizeof(raw) + 1];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return false;
	hex_encode(raw, sizeof(raw), hex);
	snprintf(j->rid, sizeof(j->rid), "%s-%s", j->name, hex);
	return true;
}

void
job_stop(struct job *j)
{
	if (j->timer != NULL)
		event_free(j->timer);
	j->timer = NULL;
}
