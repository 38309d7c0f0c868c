/*
 * job.h - what certflowd's background jobs share (deadline scanner,
 * credential signer, audit sealer): a periodic timer that calls the job's
 * step unless one is in flight, and a fresh request id per step for the
 * audit rows it writes. Each job owns its statements and callbacks.
 */
#ifndef CERTFLOW_JOB_H
#define CERTFLOW_JOB_H

#include <stdbool.h>

#include <event2/event.h>

struct job {
	struct event *timer;
	bool running;		/* a statement of the job is in flight */
	const char *name;	/* the request ids' prefix: "deadline", "signer", ... */
	char rid[48];		/* the current step's request id */
	void (*step)(void *arg);
	void *arg;
};

/*
 * Calls STEP(ARG) every INTERVAL_S seconds while no step runs (the job sets
 * and clears RUNNING). INTERVAL_S 0: the job never runs here. False when
 * out of memory.
 */
bool job_start(struct job *j, struct event_base *base, int interval_s, const char *name,
    void (*step)(void *arg), void *arg) __attribute__((warn_unused_result));

/* A fresh request id "NAME-<16 hex>" in J->RID; false without random bytes. */
bool job_new_request_id(struct job *j) __attribute__((warn_unused_result));

void job_stop(struct job *j);

#endif
