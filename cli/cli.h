/*
 * cli.h - the certflow operator tool: shared plumbing of its commands.
 * Commands talk to PostgreSQL directly (blocking libpq is fine here) and
 * call the same SQL functions as certflowd, so their effects are audited.
 */
#ifndef CERTFLOW_CLI_H
#define CERTFLOW_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* Connects with the config's db_conninfo, or libpq's PG* variables when CONFIG is NULL. */
PGconn *cli_connect(const char *config_path);

/* Runs SQL with text PARAMS expecting one (status, body) row; returns the status, -1 on error. */
int cli_call(PGconn *pg, const char *sql, int n, const char *const *params, char **body);

/* Decodes PostgreSQL's "\\x..." text form of a bytea of exactly N bytes. */
bool cli_bytea_decode(const char *text, unsigned char *out, size_t n);

/* A fresh "cli-XXXXXXXX" request id for the audit rows of this run. */
void cli_request_id(char out[24]);

/*
 * "COMMAND replay ID" (ARGV after the command): an ID not all digits prints
 * "usage: USAGE_LINE" and returns 2. Runs SQL with $1 = ID and returns what
 * REPLAY says of its single row; 1, with a message, when the connection or
 * the query fails or there is no row ("certflow: no WHAT ID").
 */
int cli_replay(int argc, char **argv, const char *config_path,
    const char *usage_line, const char *sql, const char *what,
    int (*replay)(const char *id, PGresult *res));

int cmd_user(int argc, char **argv, const char *config_path);
int cmd_token(int argc, char **argv, const char *config_path);
int cmd_draw(int argc, char **argv, const char *config_path);
int cmd_sample(int argc, char **argv, const char *config_path);
int cmd_keys(int argc, char **argv, const char *config_path);

#endif
