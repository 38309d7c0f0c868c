/*
 * signer.h - the periodic job that signs newly issued credentials and
 * stores their documents, so that each is served as the same bytes for
 * ever, even once its key has been retired. Every certflowd runs it; two
 * instances signing one credential produce the same bytes, and the first
 * store wins.
 */
#ifndef CERTFLOW_SIGNER_H
#define CERTFLOW_SIGNER_H

#include <event2/event.h>

#include <certflow/config.h>

#include "db_pool.h"

struct signer;

/* NULL when out of memory; a signer that does nothing when signing is off. */
struct signer *signer_new(struct event_base *base, struct db_pool *pool,
    const struct config *cfg);

/* Free after the pool: the pool answers a step in flight first. */
void signer_free(struct signer *s);

#endif
