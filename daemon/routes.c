/*
 * routes.c - owns the route table and what is derived from it: the router's
 * patterns, the metric labels ("GET /v1/me") and one prepared statement per
 * SQL route. Every SQL text of the daemon is a literal in this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <certflow/schemas.h>

#include "routes.h"

#define SQL_CALL(fn, args) "SELECT status, body::text FROM api." fn "(" args ")"
#define GET(path, f, a, ...) { .method = METHOD_GET, .pattern = path, \
	.handle = route_sql_handle, .sql = SQL_CALL(f, a), .fn = f, .args = a, __VA_ARGS__ }
#define POST(path, f, a, ...) { .method = METHOD_POST, .pattern = path, \
	.handle = route_sql_handle, .sql = SQL_CALL(f, a), .fn = f, .args = a, __VA_ARGS__ }
#define DELETE(path, f, a) { .method = METHOD_DELETE, .pattern = path, \
	.handle = route_sql_handle, .sql = SQL_CALL(f, a), .fn = f, .args = a }

/* The report texts sealed before they reach SQL (route_report.c). */
static const char *const report_sealed[] = { "body", "evidence", "subject.description", NULL };
static const char *const message_sealed[] = { "body", NULL };
static const char *const close_sealed[] = { "feedback", NULL };

const struct route routes[] = {
	{ .method = METHOD_GET, .pattern = "/healthz", .handle = route_healthz,
	  .flags = ROUTE_PUBLIC },
	{ .method = METHOD_GET, .pattern = "/metrics", .handle = route_metrics,
	  .flags = ROUTE_PUBLIC },

	/* identity */
	GET("/v1/me", "me", "$1, $2"),
	POST("/v1/users", "user_create", "$1, $2, $3::jsonb, $4",
	    .schema = &schema_user_create, .extras = { EXTRA_NEW_TOKEN }),
	GET("/v1/users/{id}", "user_get", "$1, $2, $3::bigint"),
	POST("/v1/users/{id}/tokens", "token_create", "$1, $2, $3::bigint, $4::jsonb, $5",
	    .schema = &schema_empty, .extras = { EXTRA_NEW_TOKEN }),
	DELETE("/v1/tokens/{id}", "token_revoke", "$1, $2, $3::bigint"),

	/* paths, qualifications, conflicts */
	POST("/v1/paths", "path_create", "$1, $2, $3::jsonb", .schema = &schema_path_create),
	GET("/v1/paths", "path_list", "$1, $2"),
	GET("/v1/paths/{id}", "path_get", "$1, $2, $3::bigint"),
	POST("/v1/users/{id}/qualifications", "qualification_create",
	    "$1, $2, $3::bigint, $4::jsonb", .schema = &schema_qualification_create),
	POST("/v1/conflicts", "conflict_create", "$1, $2, $3::jsonb",
	    .schema = &schema_conflict_create),

	/* enrollments and the mentor's weekly notes */
	POST("/v1/enrollments", "enrollment_create", "$1, $2, $3::jsonb",
	    .schema = &schema_enrollment_create),
	GET("/v1/enrollments/{id}", "enrollment_get", "$1, $2, $3::bigint", .flags = ROUTE_ETAG),
	POST("/v1/enrollments/{id}/notes", "note_create", "$1, $2, $3::bigint, $4::jsonb",
	    .schema = &schema_note_create,
	    .versioned = "enrollments"),
	GET("/v1/enrollments/{id}/notes", "note_list", "$1, $2, $3::bigint"),
	GET("/v1/alerts", "alert_list", "$1, $2, $3::jsonb", .extras = { EXTRA_SETTINGS }),

	/* handover, defenses, verdicts */
	POST("/v1/attempts/{id}/handover", "attempt_handover",
	    "$1, $2, $3::bigint, $4::jsonb, $5, $6::jsonb", .schema = &schema_handover,
	    .extras = { EXTRA_SEED, EXTRA_SETTINGS },
	    .versioned = "attempts"),
	GET("/v1/defenses", "defense_list", "$1, $2, $3::jsonb", .query = &query_mine),
	POST("/v1/defenses/{id}/verdict", "defense_verdict",
	    "$1, $2, $3::bigint, $4::jsonb, $5, $6, $7::jsonb", .schema = &schema_verdict,
	    .extras = { EXTRA_SEED, EXTRA_SEED2, EXTRA_SETTINGS },
	    .versioned = "defenses"),
	POST("/v1/defenses/{id}/reassign", "defense_reassign",
	    "$1, $2, $3::bigint, $4::jsonb, $5, $6::jsonb", .schema = &schema_empty,
	    .extras = { EXTRA_SEED, EXTRA_SETTINGS },
	    .versioned = "defenses"),

	/* double-blind review and calibration */
	POST("/v1/defenses/{id}/reviews", "review_request",
	    "$1, $2, $3::bigint, $4::jsonb, $5, $6::jsonb", .schema = &schema_empty,
	    .extras = { EXTRA_SEED, EXTRA_SETTINGS },
	    .versioned = "defenses"),
	GET("/v1/reviews", "review_list", "$1, $2, $3::jsonb", .query = &query_mine),
	POST("/v1/reviews/{id}/verdict", "review_verdict", "$1, $2, $3::bigint, $4::jsonb",
	    .schema = &schema_review_verdict),
	GET("/v1/disagreements", "disagreement_list", "$1, $2, $3::jsonb",
	    .query = &query_disagreements),
	POST("/v1/disagreements/{id}/resolve", "disagreement_resolve",
	    "$1, $2, $3::bigint, $4::jsonb", .schema = &schema_disagreement_resolve,
	    .versioned = "disagreements"),
	GET("/v1/evaluators/{id}/calibration", "calibration_get",
	    "$1, $2, $3::bigint, $4::jsonb, $5::jsonb", .query = &query_calibration,
	    .extras = { EXTRA_SETTINGS }, .finish = route_calibration_one),
	GET("/v1/calibration", "calibration_list", "$1, $2, $3::jsonb",
	    .extras = { EXTRA_SETTINGS }, .finish = route_calibration_all),

	/* whistleblowing: reporters (anonymous or with a token) */
	POST("/v1/reports", "report_submit", "$1, $2, $3::jsonb, $4, $5, $6::jsonb, $7::jsonb",
	    .schema = &schema_report_submit, .sealed = report_sealed,
	    .extras = { EXTRA_RECEIPT_HASH, EXTRA_SOURCE, EXTRA_REPORTER_KEY, EXTRA_SETTINGS },
	    .flags = ROUTE_OPTIONAL_AUTH | ROUTE_RECEIPT_NEW),
	POST("/v1/reports/follow-up", "report_follow_up", "$1, $2, $3::jsonb, $4, $5, $6::jsonb",
	    .schema = &schema_report_follow_up,
	    .extras = { EXTRA_RECEIPT_HASH, EXTRA_SOURCE, EXTRA_SETTINGS },
	    .flags = ROUTE_PUBLIC | ROUTE_RECEIPT_GIVEN, .finish = route_report_unseal),
	POST("/v1/reports/follow-up/messages", "report_follow_up_message",
	    "$1, $2, $3::jsonb, $4, $5, $6::jsonb", .schema = &schema_report_follow_up_message,
	    .sealed = message_sealed, .extras = { EXTRA_RECEIPT_HASH, EXTRA_SOURCE, EXTRA_SETTINGS },
	    .flags = ROUTE_PUBLIC | ROUTE_RECEIPT_GIVEN),
	/* whistleblowing: investigators */
	GET("/v1/reports", "report_list", "$1, $2, $3::jsonb, $4::jsonb", .query = &query_reports,
	    .extras = { EXTRA_SETTINGS }),
	GET("/v1/reports/{id}", "report_get", "$1, $2, $3::bigint, $4::jsonb",
	    .extras = { EXTRA_SETTINGS }, .finish = route_report_unseal, .flags = ROUTE_ETAG),
	POST("/v1/reports/{id}/acknowledge", "report_acknowledge",
	    "$1, $2, $3::bigint, $4::jsonb, $5::jsonb", .schema = &schema_empty,
	    .extras = { EXTRA_SETTINGS },
	    .versioned = "reports"),
	POST("/v1/reports/{id}/messages", "report_message",
	    "$1, $2, $3::bigint, $4::jsonb, $5::jsonb", .schema = &schema_report_message,
	    .sealed = message_sealed, .extras = { EXTRA_SETTINGS },
	    .versioned = "reports"),
	POST("/v1/reports/{id}/link", "report_link", "$1, $2, $3::bigint, $4::jsonb, $5::jsonb",
	    .schema = &schema_report_link, .extras = { EXTRA_SETTINGS },
	    .versioned = "reports"),
	POST("/v1/reports/{id}/notify-subject", "report_notify_subject",
	    "$1, $2, $3::bigint, $4::jsonb, $5::jsonb", .schema = &schema_empty,
	    .extras = { EXTRA_SETTINGS },
	    .versioned = "reports"),
	POST("/v1/reports/{id}/close", "report_close", "$1, $2, $3::bigint, $4::jsonb, $5::jsonb",
	    .schema = &schema_report_close, .sealed = close_sealed, .extras = { EXTRA_SETTINGS },
	    .versioned = "reports"),

	/* the diploma jury */
	POST("/v1/jury-sessions", "jury_session_create", "$1, $2, $3::jsonb",
	    .schema = &schema_jury_session_create),
	GET("/v1/jury-sessions/{id}", "jury_session_get", "$1, $2, $3::bigint"),
	POST("/v1/jury-sessions/{id}/cases", "jury_case_create", "$1, $2, $3::bigint, $4::jsonb",
	    .schema = &schema_jury_case_create),
	GET("/v1/jury-cases/{id}", "jury_case_get", "$1, $2, $3::bigint", .flags = ROUTE_ETAG),
	GET("/v1/jury-cases/{id}/dossier", "jury_dossier", "$1, $2, $3::bigint"),
	POST("/v1/jury-cases/{id}/votes", "jury_vote", "$1, $2, $3::bigint, $4::jsonb",
	    .schema = &schema_jury_vote,
	    .versioned = "jury_cases"),
	POST("/v1/jury-cases/{id}/close", "jury_close", "$1, $2, $3::bigint, $4::jsonb, $5::jsonb",
	    .schema = &schema_empty, .extras = { EXTRA_SETTINGS },
	    .versioned = "jury_cases"),
	POST("/v1/jury-cases/{id}/extra-project", "jury_extra_project",
	    "$1, $2, $3::bigint, $4::jsonb", .schema = &schema_jury_extra_project,
	    .versioned = "jury_cases"),

	/* credentials: public documents, status lists and keys; revocation */
	GET("/v1/credentials/{uuid}", "credential_get", "$1, $2, $3::uuid",
	    .flags = ROUTE_PUBLIC, .finish = route_credential_finish),
	GET("/v1/credentials/{uuid}/status", "credential_status", "$1, $2, $3::uuid",
	    .flags = ROUTE_PUBLIC),
	POST("/v1/credentials/{uuid}/revoke", "credential_revoke", "$1, $2, $3::uuid, $4::jsonb",
	    .schema = &schema_credential_revoke),
	GET("/v1/status-lists/{id}", "status_list_get", "$1, $2, $3::bigint",
	    .flags = ROUTE_PUBLIC, .finish = route_status_list_finish),
	{ .method = METHOD_GET, .pattern = "/.well-known/certflow/keys", .handle = route_keys,
	  .flags = ROUTE_PUBLIC },
	POST("/v1/enrollments/{id}/credential", "enrollment_credential_issue",
	    "$1, $2, $3::bigint, $4::jsonb", .schema = &schema_empty,
	    .versioned = "enrollments"),
};
const size_t nroutes = sizeof(routes) / sizeof(routes[0]);

static const struct db_statement internal[STMT_INTERNAL_COUNT] = {
	[STMT_PING] = { "ping", "SELECT 1", 0, false },
	/* the background jobs' batches: no request waits behind one */
	[STMT_REASSIGN_OVERDUE] = { "reassign_overdue",
	    SQL_CALL("reassign_overdue", "$1, $2, $3::jsonb"), 3, .alone = true },
	[STMT_CREDENTIALS_UNSIGNED] = { "credentials_unsigned",
	    SQL_CALL("credentials_unsigned", "$1, $2::int"), 2, .alone = true },
	[STMT_CREDENTIALS_STORE] = { "credentials_store",
	    SQL_CALL("credentials_store", "$1, $2::jsonb"), 2, .alone = true },
	[STMT_AUDIT_SEAL] = { "audit_seal_batch",
	    SQL_CALL("audit_seal_batch", "$1, $2::int"), 2, .alone = true },
	[STMT_AUDIT_HEAD_STORE] = { "audit_head_store",
	    SQL_CALL("audit_head_store", "$1, $2::bigint, $3, $4, $5"), 5, .alone = true },
	[STMT_DISPATCH] = { "dispatch", "SELECT status, body, replayed FROM api.dispatch("
	    "$1, $2, $3::jsonb, $4, $5, $6, $7::int, $8, $9::bigint, $10::bigint)", 10, false },
};

static struct route_pattern *patterns;
static char **labels;
/* One per SQL route, named after its SQL function, then the internal ones. */
static struct db_statement *statements;
static int *statement_of;		/* route index -> statement index or -1 */
static int nstatements;
static char *settings;

static int
count_params(const struct route *rt)
{
	int n = 2;	/* token digest, request id */

	for (const char *p = rt->pattern; (p = strchr(p, '{')) != NULL; p++)
		n++;
	if (rt->schema != NULL)
		n++;
	if (rt->query != NULL)
		n++;
	for (int i = 0; i < ROUTE_MAX_EXTRAS && rt->extras[i] != EXTRA_END; i++)
		n++;
	return n;
}

/* NAME and SQL are literals of this file (scripts/check-sql-literals). */
static void
add_statement(const char *name, const char *sql, int nparams, bool alone)
{
	statements[nstatements].name = name;
	statements[nstatements].sql = sql;
	statements[nstatements].nparams = nparams;
	statements[nstatements].alone = alone;
	nstatements++;
}

static bool
add_label(size_t i)
{
	const char *method = router_method_name(routes[i].method);
	size_t len = strlen(method) + 1 + strlen(routes[i].pattern) + 1;

	if ((labels[i] = malloc(len)) == NULL)
		return false;
	snprintf(labels[i], len, "%s %s", method, routes[i].pattern);
	return true;
}

/* The settings the SQL functions read, from the configuration. */
static bool
build_settings(const struct config *cfg)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
	    "{\"defense_due_days\": %d, \"note_gap_days\": %d, \"review_rate\": %.6f, "
	    "\"review_due_days\": %d, \"agreement_floor\": %.6f, "
	    "\"calibration_min_reviews\": %d, \"report_rate_limit\": %d, "
	    "\"report_followup_rate_limit\": %d, \"report_ack_days\": %d, "
	    "\"report_feedback_months\": %d, \"report_reminder_days\": %d, "
	    "\"clock_offset_s\": %d, \"jury_quorum\": %d}",
	    cfg->defense_due_days, cfg->note_gap_days, cfg->review_rate,
	    cfg->review_due_days, cfg->agreement_floor, cfg->calibration_min_reviews,
	    cfg->report_rate_limit, cfg->report_followup_rate_limit, cfg->report_ack_days,
	    cfg->report_feedback_months, cfg->report_reminder_days,
	    cfg->test_clock_enabled ? cfg->test_clock_offset_s : 0, cfg->jury_quorum);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return false;
	return (settings = strdup(buf)) != NULL;
}

const char *
routes_settings(void)
{
	return settings;
}

bool
routes_init(const struct config *cfg)
{
	patterns = calloc(nroutes, sizeof(*patterns));
	labels = calloc(nroutes + 1, sizeof(*labels));
	statements = calloc(nroutes + STMT_INTERNAL_COUNT, sizeof(*statements));
	statement_of = calloc(nroutes, sizeof(*statement_of));
	if (patterns == NULL || labels == NULL || statements == NULL ||
	    statement_of == NULL || !build_settings(cfg))
		goto fail;
	for (size_t i = 0; i < nroutes; i++) {
		patterns[i].method = routes[i].method;
		patterns[i].pattern = routes[i].pattern;
		if (!add_label(i))
			goto fail;
		statement_of[i] = -1;
		if (routes[i].sql != NULL) {
			statement_of[i] = nstatements;
			if (count_params(&routes[i]) > DB_MAX_PARAMS)
				goto fail;
			add_statement(routes[i].fn, routes[i].sql, count_params(&routes[i]),
			    false);
		}
	}
	for (int i = 0; i < STMT_INTERNAL_COUNT; i++)
		add_statement(internal[i].name, internal[i].sql, internal[i].nparams,
		    internal[i].alone);
	return true;
fail:
	routes_free();
	return false;
}

const struct route_pattern *
routes_patterns(void)
{
	return patterns;
}

const char *const *
routes_labels(void)
{
	return (const char *const *)labels;
}

const struct db_statement *
routes_statements(int *n)
{
	*n = nstatements;
	return statements;
}

int
routes_statement_of(const struct route *route)
{
	return statement_of[route - routes];
}

int
routes_internal_statement(enum internal_statement which)
{
	return nstatements - STMT_INTERNAL_COUNT + (int)which;
}

void
routes_free(void)
{
	for (size_t i = 0; labels != NULL && i < nroutes; i++)
		free(labels[i]);
	free(patterns);
	free(labels);
	free(statements);
	free(statement_of);
	free(settings);
	settings = NULL;
	patterns = NULL;
	labels = NULL;
	statements = NULL;
	statement_of = NULL;
	nstatements = 0;
}
