/*
 * db_host.h - which database host name certflowd must look up itself, so
 * that libpq never resolves a name on the event loop (db_host.c).
 */
#ifndef CERTFLOWD_DB_HOST_H
#define CERTFLOWD_DB_HOST_H

#include <stddef.h>

enum db_host_kind {
	DB_HOST_DIRECT,		/* an address, a socket directory, or libpq's default */
	DB_HOST_LOOKUP,		/* one host name: certflowd resolves it */
	DB_HOST_REFUSED,	/* a list of hosts with a name in it, or a malformed conninfo */
};

/*
 * Reads CONNINFO (key = value pairs or a URI) with PGHOST and PGHOSTADDR as
 * libpq would. On DB_HOST_LOOKUP *NAME is the host name (the caller frees
 * it); on DB_HOST_REFUSED ERR says why.
 */
enum db_host_kind db_host_classify(const char *conninfo, char **name,
    char *err, size_t errlen);

#endif
