/*
 * deadline.c - owns the deadline scanner: a timer that, every
 * deadline_scan_interval_s, runs api.reassign_overdue until it reports
 * nothing left (or a bounded number of steps), each step one transaction
 * with a fresh seed for the draw. Never runs two steps at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <certflow/draw.h>
#include <certflow/log.h>
#include <certflow/token.h>

#include "deadline.h"
#include "job.h"
#include "routes.h"

#define STEPS_PER_SCAN 100

struct deadline_scanner {
	struct db_pool *pool;
	struct job job;
	int steps;		/* steps left in this scan */
};

static void scan_step(struct deadline_scanner *s);

static void
step_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct deadline_scanner *s = arg;
	int status;

	s->job.running = false;
	if (outcome != DB_OK || PQntuples(res) != 1) {
		log_debug("deadline scan: database unavailable or failed; next scan later");
		return;
	}
	status = atoi(PQgetvalue(res, 0, 0));
	if (status == 204)
		return;
	if (status == 200)
		log_info("deadline scan: reassigned %s", PQgetvalue(res, 0, 1));
	else
		log_warn("deadline scan: %d %s", status, PQgetvalue(res, 0, 1));
	if (--s->steps > 0)
		scan_step(s);
}

static void
scan_step(struct deadline_scanner *s)
{
	unsigned char seed[DRAW_SEED_LEN];
	char seed_hex[2 * DRAW_SEED_LEN + 1];
	const char *params[3];

	if (!draw_seed(seed) || !job_new_request_id(&s->job)) {
		log_error("deadline scan: no random bytes");
		return;
	}
	hex_encode(seed, sizeof(seed), seed_hex);
	params[0] = s->job.rid;
	params[1] = seed_hex;
	params[2] = routes_settings();
	if (db_pool_submit(s->pool, routes_internal_statement(STMT_REASSIGN_OVERDUE), 3,
	    params, step_done, s))
		s->job.running = true;
}

static void
scan(void *arg)
{
	struct deadline_scanner *s = arg;

	s->steps = STEPS_PER_SCAN;
	scan_step(s);
}

struct deadline_scanner *
deadline_new(struct event_base *base, struct db_pool *pool, const struct config *cfg)
{
	struct deadline_scanner *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->pool = pool;
	if (!job_start(&s->job, base, cfg->deadline_scan_interval_s, "deadline", scan, s)) {
		free(s);
		return NULL;
	}
	return s;
}

void
deadline_free(struct deadline_scanner *s)
{
	if (s == NULL)
		return;
	job_stop(&s->job);
	free(s);
}
