/*
 * deadline.c - owns the deadline scanner: a timer that, every
 * deadline_scan_interval_s, runs api.reassign_overdue until it reports
 * nothing left (or a bounded number of steps), each step one transaction
 * with a fresh seed for the draw. Never runs two steps at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <certflow/draw.h>
#include <certflow/log.h>
#include <certflow/token.h>

#include "deadline.h"
#include "routes.h"

#define STEPS_PER_SCAN 100

struct deadline_scanner {
	struct db_pool *pool;
	struct event *timer;
	int steps;		/* steps left in this scan */
	bool running;		/* a step is in flight */
};

static void scan_step(struct deadline_scanner *s);

static void
step_done(void *arg, enum db_outcome outcome, const PGresult *res)
{
	struct deadline_scanner *s = arg;
	int status;

	s->running = false;
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
	unsigned char seed[DRAW_SEED_LEN], raw[8];
	char seed_hex[2 * DRAW_SEED_LEN + 1], rid[32], raw_hex[17];
	const char *params[3];

	if (!draw_seed(seed) || RAND_bytes(raw, sizeof(raw)) != 1) {
		log_error("deadline scan: no random bytes");
		return;
	}
	hex_encode(seed, sizeof(seed), seed_hex);
	hex_encode(raw, sizeof(raw), raw_hex);
	snprintf(rid, sizeof(rid), "deadline-%s", raw_hex);
	params[0] = rid;
	params[1] = seed_hex;
	params[2] = routes_settings();
	if (db_pool_submit(s->pool, routes_internal_statement(STMT_REASSIGN_OVERDUE), 3,
	    params, step_done, s))
		s->running = true;
}

static void
scan_cb(evutil_socket_t fd, short what, void *arg)
{
	struct deadline_scanner *s = arg;

	if (s->running)
		return;
	s->steps = STEPS_PER_SCAN;
	scan_step(s);
}

struct deadline_scanner *
deadline_new(struct event_base *base, struct db_pool *pool, const struct config *cfg)
{
	struct deadline_scanner *s = calloc(1, sizeof(*s));
	struct timeval every = { cfg->deadline_scan_interval_s, 0 };

	if (s == NULL)
		return NULL;
	s->pool = pool;
	s->timer = event_new(base, -1, EV_PERSIST, scan_cb, s);
	if (s->timer == NULL || event_add(s->timer, &every) != 0) {
		deadline_free(s);
		return NULL;
	}
	return s;
}

void
deadline_free(struct deadline_scanner *s)
{
	if (s == NULL)
		return;
	if (s->timer != NULL)
		event_free(s->timer);
	free(s);
}
