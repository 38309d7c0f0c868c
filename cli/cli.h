/*
 * cli.h - the certflow operator tool: shared plumbing of its commands.
 * Commands talk to PostgreSQL directly (blocking libpq is fine here) and
 * call the same SQL functions as certflowd, so their effects are audited;
 * "verify" alone needs no database, only files or HTTPS (https_get.c).
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

/* The largest body https_get accepts (a keys document, a status list). */
#define HTTPS_BODY_MAX	(4 * 1024 * 1024)

/*
 * GETs URL (https only) verifying the server's certificate against CA_FILE
 * (NULL: OpenSSL's default paths) and its host name or address. True with
 * the body of a 200 answer in *BODY (malloc'ed, NUL-terminated, the caller
 * frees) and its length in *LEN; false with the reason in ERR. Blocking,
 * bounded in time; no redirects, no chunked bodies.
 */
bool https_get(const char *url, const char *ca_file, char **body, size_t *len,
    char *err, size_t errlen) __attribute__((warn_unused_result));

int cmd_user(int argc, char **argv, const char *config_path);
int cmd_token(int argc, char **argv, const char *config_path);
int cmd_draw(int argc, char **argv, const char *config_path);
int cmd_sample(int argc, char **argv, const char *config_path);
int cmd_keys(int argc, char **argv, const char *config_path);
int cmd_verify(int argc, char **argv, const char *config_path);
/* audit verify [--keys FILE]: exit 0 intact, 1 tampered, 2 could not check. */
int cmd_audit(int argc, char **argv, const char *config_path);
/* keys new-signing ID | keys public-signing FILE; false when ARGV is neither. */
bool cmd_signing(int argc, char **argv, int *rc);

#endif
