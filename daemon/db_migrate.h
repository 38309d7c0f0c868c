/*
 * db_migrate.h - the schema's migrations (sql/NNNN_name.sql) and the check
 * that the database is recent enough for this certflowd. Blocking libpq:
 * used only before the event loop starts, never on a request path.
 */
#ifndef CERTFLOW_DB_MIGRATE_H
#define CERTFLOW_DB_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

/* Applies every pending migration of SQL_DIR, each in its own transaction. */
bool migrate_apply(const char *conninfo, const char *sql_dir)
	__attribute__((warn_unused_result));

/* True when the schema is at least the version this binary was built for. */
bool migrate_check(const char *conninfo, char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif
