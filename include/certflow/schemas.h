/*
 * schemas.h - the request body schema of every route, as data.
 * certflowd validates bodies against these before any database work; the
 * certflow CLI validates what it builds against the same ones.
 */
#ifndef CERTFLOW_SCHEMAS_H
#define CERTFLOW_SCHEMAS_H

#include <certflow/jsonin.h>

extern const struct jf_schema schema_empty;		/* {} only */
extern const struct jf_schema schema_user_create;	/* POST /v1/users */

#endif
