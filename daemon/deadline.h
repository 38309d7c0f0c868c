/*
 * deadline.h - the periodic scanner that reassigns overdue defenses.
 * Every certflowd runs it; the database's advisory lock lets one instance at
 * a time do the work, so it fails over by itself when that instance dies.
 */
#ifndef CERTFLOW_DEADLINE_H
#define CERTFLOW_DEADLINE_H

#include <event2/event.h>

#include <certflow/config.h>

#include "db_pool.h"

struct deadline_scanner;

struct deadline_scanner *deadline_new(struct event_base *base, struct db_pool *pool,
    const struct config *cfg);

/* Free after the pool: the pool answers a step in flight first. */
void deadline_free(struct deadline_scanner *s);

#endif
