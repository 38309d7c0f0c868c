/*
 * config.h - certflowd's configuration: "key = value" lines, one table of keys.
 * The table (config.c) is the only place a key is declared: its type, bounds,
 * default and whether SIGHUP may change it. Loading never half-applies: on any
 * error the caller's struct is left untouched.
 */
#ifndef CERTFLOW_CONFIG_H
#define CERTFLOW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum tls_verify {
	TLS_VERIFY_NONE = 0,	/* no client certificate asked */
	TLS_VERIFY_OPTIONAL,	/* asked; verified when sent */
	TLS_VERIFY_REQUIRE,	/* a verified client certificate is mandatory */
};

struct config {
	/* listener */
	char *listen_addr;
	int listen_port;
	char *user;			/* switch to it after start-up when root; "": no switch */
	/* TLS */
	char *tls_cert;
	char *tls_key;
	char *tls_client_ca;
	int tls_verify_client;		/* enum tls_verify */
	/* PostgreSQL */
	char *db_conninfo;
	int db_pool_size;
	int db_pipeline_depth;		/* statements in flight per connection; 1: no pipelining */
	int db_queue_max;
	int db_queue_timeout_ms;
	int db_statement_timeout_ms;
	int db_connect_timeout_s;
	int db_reconnect_min_ms;
	int db_reconnect_max_ms;
	int db_keepalives_idle_s;		/* TCP keepalives on idle connections */
	int db_keepalives_interval_s;
	int db_keepalives_count;
	int db_tcp_user_timeout_ms;	/* unacknowledged data this long drops the connection; 0: kernel's */
	/* HTTP */
	long long max_body_size;
	int max_header_size;
	int http_idle_timeout_s;
	int max_connections;		/* beyond, new connections are closed at once */
	int max_requests_per_connection;	/* the last answer says Connection: close */
	int request_deadline_s;		/* a request's first byte to its last; accept to the first */
	int shutdown_timeout_s;
	/* misc */
	int log_level;			/* enum log_level */
	char *sql_dir;
	/* the validation loop */
	int defense_due_days;		/* days an evaluator has for a defense */
	int note_gap_days;		/* days without a weekly note before an alert */
	int deadline_scan_interval_s;	/* how often overdue defenses are reassigned */
	/* double-blind review */
	double review_rate;		/* base probability that a verdict is reviewed */
	int review_due_days;		/* days a reviewer has */
	double agreement_floor;		/* calibration flags evaluators below it */
	int calibration_min_reviews;	/* fewer reviewed defenses: sampled more */
	/* whistleblowing */
	char *report_key_file;		/* AES-256-GCM keys ("ID HEX" lines; last = current) */
	char *report_secret_file;	/* installation secret: receipts' hash, sources' HMAC */
	int receipt_kdf_iterations;	/* PBKDF2 rounds of a receipt's hash */
	int report_rate_limit;		/* anonymous reports per source and hour */
	int report_followup_rate_limit;	/* follow-ups per source and hour */
	int report_ack_days;		/* acknowledgement due after receipt */
	int report_feedback_months;	/* feedback due after acknowledgement */
	int report_reminder_days;	/* alert this long before a report deadline */
	int worker_threads;		/* threads for slow hashes, off the event loop */
	int jury_quorum;		/* votes before pedagogy may close a case; 0: all */
	/* credentials */
	char *signing_key_file;		/* Ed25519 keys ("ID HEX" / "ID public HEX"; last signs) */
	char *credential_issuer;	/* https URL: the issuer id and the base of credential URLs */
	int credential_sign_interval_s;	/* how often unsigned credentials are signed and stored */
	int audit_seal_interval_s;	/* how often audit rows are chained and the head signed; 0: never here */
	int idempotency_ttl_s;		/* how long an Idempotency-Key's answer is kept */
	int test_clock_enabled;		/* 0 no, 1 yes */
	int test_clock_offset_s;	/* seconds added to "now" for report clocks */
};

/* Fills every key with its default (strings strdup'ed; config_free releases). */
void config_defaults(struct config *cfg);

/*
 * Parses TEXT (the whole file; NAME is used in messages) over a copy of the
 * defaults; on success replaces *cfg (after config_free of the old one).
 * On failure writes "NAME:LINE: reason" into err and leaves *cfg unchanged.
 * Checks required keys (tls_cert, tls_key, db_conninfo) and cross-key rules.
 */
bool config_parse(const char *text, const char *name, struct config *cfg,
    char *err, size_t errlen) __attribute__((warn_unused_result));

/* Reads PATH and calls config_parse. */
bool config_load(const char *path, struct config *cfg, char *err,
    size_t errlen) __attribute__((warn_unused_result));

void config_free(struct config *cfg);

#endif
