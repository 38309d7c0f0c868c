/*
 * audit_sealer.h - the periodic job that links new audit_log rows into the
 * tamper-evident hash chain and signs each new chain head with the
 * credentials' Ed25519 key (docs/SECURITY.md, "Tamper-evident audit").
 * Every certflowd runs it; an advisory lock in PostgreSQL lets one instance
 * seal at a time. Never on the request path.
 */
#ifndef CERTFLOW_AUDIT_SEALER_H
#define CERTFLOW_AUDIT_SEALER_H

#include <event2/event.h>

#include <certflow/config.h>

#include "db_pool.h"

struct audit_sealer;

/*
 * NULL when out of memory. Heads are stored unsigned when signing is off;
 * with audit_seal_interval_s 0 the sealer never runs (another instance seals).
 */
struct audit_sealer *audit_sealer_new(struct event_base *base, struct db_pool *pool,
    const struct config *cfg);

/* Free after the pool: the pool answers a step in flight first. */
void audit_sealer_free(struct audit_sealer *s);

#endif
