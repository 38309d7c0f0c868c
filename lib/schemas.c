/*
 * schemas.c - request body schemas, one per route that takes a body.
 * Pure data: limits here are the API's contract (docs/openapi.yaml says
 * the same), and the SQL functions rely on shapes checked here.
 */
#include <certflow/roles.h>
#include <certflow/schemas.h>

const struct jf_schema schema_empty = { NULL, 0 };

static const struct jf_field user_create_fields[] = {
	{ .name = "name", .type = JF_STRING, .required = true, .min = 1, .max = 200 },
	{ .name = "email", .type = JF_STRING, .required = true, .min = 3, .max = 254,
	  .format = JF_FMT_EMAIL },
	{ .name = "roles", .type = JF_ARRAY, .required = true, .min = 1, .max = ROLE_COUNT,
	  .item = JF_STRING, .choices = role_names },
	{ .name = "jury_category", .type = JF_STRING, .choices = jury_category_names,
	  .nullable = true },
};
const struct jf_schema schema_user_create = JF_SCHEMA(user_create_fields);

static const char *const verdict_choices[] = { "validated", "needs_improvement", NULL };
static const char *const flag_choices[] = { "1", "0", "true", "false", NULL };

#define CODE_FIELD { .name = "code", .type = JF_STRING, .required = true, .min = 1, \
	.max = 64, .format = JF_FMT_CODE }
#define TITLE_FIELD { .name = "title", .type = JF_STRING, .required = true, .min = 1, \
	.max = 200 }
#define ID_FIELD(n) { .name = n, .type = JF_ID, .required = true }
#define SHA256_FIELD { .name = "sha256", .type = JF_STRING, .required = true, \
	.format = JF_FMT_SHA256 }
#define URI_FIELD { .name = "uri", .type = JF_STRING, .required = true, .min = 1, \
	.max = 2048, .format = JF_FMT_URI }

static const struct jf_field skill_fields[] = { CODE_FIELD, TITLE_FIELD };
static const struct jf_schema skill_schema = JF_SCHEMA(skill_fields);

static const struct jf_field project_fields[] = {
	CODE_FIELD, TITLE_FIELD,
	{ .name = "skills", .type = JF_ARRAY, .required = true, .min = 1, .max = 5,
	  .item = JF_OBJECT, .sub = &skill_schema },
};
static const struct jf_schema project_schema = JF_SCHEMA(project_fields);

static const struct jf_field path_create_fields[] = {
	CODE_FIELD, TITLE_FIELD,
	{ .name = "projects", .type = JF_ARRAY, .required = true, .min = 1, .max = 50,
	  .item = JF_OBJECT, .sub = &project_schema },
};
const struct jf_schema schema_path_create = JF_SCHEMA(path_create_fields);

static const struct jf_field qualification_fields[] = { ID_FIELD("path_id") };
const struct jf_schema schema_qualification_create = JF_SCHEMA(qualification_fields);

static const struct jf_field conflict_fields[] = {
	ID_FIELD("evaluator_id"), ID_FIELD("student_id"),
	{ .name = "reason", .type = JF_STRING, .required = true, .min = 1, .max = 2000 },
};
const struct jf_schema schema_conflict_create = JF_SCHEMA(conflict_fields);

static const struct jf_field enrollment_fields[] = {
	ID_FIELD("student_id"), ID_FIELD("path_id"), ID_FIELD("mentor_id"),
	/* one or two projects: a certificate; absent: the whole diploma path */
	{ .name = "projects", .type = JF_ARRAY, .min = 1, .max = 2, .item = JF_STRING,
	  .format = JF_FMT_CODE },
};
const struct jf_schema schema_enrollment_create = JF_SCHEMA(enrollment_fields);

static const struct jf_field note_fields[] = {
	{ .name = "week", .type = JF_STRING, .required = true, .format = JF_FMT_ISO_WEEK },
	{ .name = "progress", .type = JF_INT, .required = true, .min = 0, .max = 100 },
	{ .name = "body", .type = JF_STRING, .required = true, .min = 1, .max = 20000 },
	{ .name = "at_risk", .type = JF_BOOL, .required = true },
};
const struct jf_schema schema_note_create = JF_SCHEMA(note_fields);

static const struct jf_field deliverable_fields[] = { TITLE_FIELD, URI_FIELD, SHA256_FIELD };
static const struct jf_schema deliverable_schema = JF_SCHEMA(deliverable_fields);

static const struct jf_field handover_fields[] = {
	{ .name = "deliverables", .type = JF_ARRAY, .required = true, .min = 1, .max = 20,
	  .item = JF_OBJECT, .sub = &deliverable_schema },
};
const struct jf_schema schema_handover = JF_SCHEMA(handover_fields);

static const struct jf_field skill_result_fields[] = {
	CODE_FIELD,
	{ .name = "acquired", .type = JF_BOOL, .required = true },
};
static const struct jf_schema skill_result_schema = JF_SCHEMA(skill_result_fields);

static const struct jf_field recording_fields[] = { URI_FIELD, SHA256_FIELD };
static const struct jf_schema recording_schema = JF_SCHEMA(recording_fields);

static const struct jf_field verdict_fields[] = {
	{ .name = "verdict", .type = JF_STRING, .required = true, .choices = verdict_choices },
	{ .name = "skills", .type = JF_ARRAY, .required = true, .min = 1, .max = 5,
	  .item = JF_OBJECT, .sub = &skill_result_schema },
	{ .name = "recording", .type = JF_OBJECT, .required = true, .sub = &recording_schema },
	{ .name = "comment", .type = JF_STRING, .max = 20000, .nullable = true },
};
const struct jf_schema schema_verdict = JF_SCHEMA(verdict_fields);

static const struct jf_field review_verdict_fields[] = {
	{ .name = "verdict", .type = JF_STRING, .required = true, .choices = verdict_choices },
	{ .name = "skills", .type = JF_ARRAY, .required = true, .min = 1, .max = 5,
	  .item = JF_OBJECT, .sub = &skill_result_schema },
	{ .name = "comment", .type = JF_STRING, .max = 20000, .nullable = true },
};
const struct jf_schema schema_review_verdict = JF_SCHEMA(review_verdict_fields);

static const char *const outcome_choices[] = {
	"original_upheld", "original_overturned", NULL,
};
static const struct jf_field resolve_fields[] = {
	{ .name = "outcome", .type = JF_STRING, .required = true, .choices = outcome_choices },
	{ .name = "comment", .type = JF_STRING, .required = true, .min = 1, .max = 20000 },
};
const struct jf_schema schema_disagreement_resolve = JF_SCHEMA(resolve_fields);

static const struct jf_field mine_query_fields[] = {
	{ .name = "mine", .type = JF_STRING, .choices = flag_choices },
};
const struct jf_schema query_mine = JF_SCHEMA(mine_query_fields);

static const char *const disagreement_state_choices[] = { "open", "resolved", NULL };
static const struct jf_field disagreement_query_fields[] = {
	{ .name = "state", .type = JF_STRING, .choices = disagreement_state_choices },
};
const struct jf_schema query_disagreements = JF_SCHEMA(disagreement_query_fields);

static const struct jf_field calibration_query_fields[] = {
	{ .name = "since", .type = JF_STRING, .format = JF_FMT_TIMESTAMP },
};
const struct jf_schema query_calibration = JF_SCHEMA(calibration_query_fields);

static const char *const category_choices[] = {
	"plagiarism", "impersonation", "cheating", "other", NULL,
};
static const char *const report_outcome_choices[] = { "substantiated", "unfounded", NULL };
static const char *const consequence_choices[] = {
	"none", "invalidate_project", "revoke_credential", "exclude_student", NULL,
};
static const char *const report_state_choices[] = { "received", "acknowledged", "closed", NULL };

#define TEXT_FIELD(n) { .name = n, .type = JF_STRING, .required = true, .min = 1, .max = 20000 }
#define RECEIPT_FIELD { .name = "receipt", .type = JF_STRING, .required = true, .min = 1, .max = 64 }

static const struct jf_field subject_fields[] = {
	{ .name = "enrollment_id", .type = JF_ID },
	{ .name = "credential_id", .type = JF_STRING, .format = JF_FMT_UUID },
	{ .name = "description", .type = JF_STRING, .min = 1, .max = 5000 },
};
static const struct jf_schema subject_schema = JF_SCHEMA(subject_fields);

static const struct jf_field evidence_fields[] = { URI_FIELD, SHA256_FIELD };
static const struct jf_schema evidence_schema = JF_SCHEMA(evidence_fields);

static const struct jf_field report_fields[] = {
	{ .name = "subject", .type = JF_OBJECT, .required = true, .sub = &subject_schema },
	{ .name = "project_code", .type = JF_STRING, .min = 1, .max = 64, .format = JF_FMT_CODE,
	  .nullable = true },
	{ .name = "category", .type = JF_STRING, .required = true, .choices = category_choices },
	TEXT_FIELD("body"),
	{ .name = "evidence", .type = JF_ARRAY, .required = true, .max = 20,
	  .item = JF_OBJECT, .sub = &evidence_schema },
};
const struct jf_schema schema_report_submit = JF_SCHEMA(report_fields);

static const struct jf_field follow_up_fields[] = { RECEIPT_FIELD };
const struct jf_schema schema_report_follow_up = JF_SCHEMA(follow_up_fields);

static const struct jf_field follow_up_message_fields[] = { RECEIPT_FIELD, TEXT_FIELD("body") };
const struct jf_schema schema_report_follow_up_message = JF_SCHEMA(follow_up_message_fields);

static const struct jf_field report_message_fields[] = { TEXT_FIELD("body") };
const struct jf_schema schema_report_message = JF_SCHEMA(report_message_fields);

static const struct jf_field report_link_fields[] = { ID_FIELD("enrollment_id") };
const struct jf_schema schema_report_link = JF_SCHEMA(report_link_fields);

static const struct jf_field report_close_fields[] = {
	{ .name = "outcome", .type = JF_STRING, .required = true, .choices = report_outcome_choices },
	{ .name = "consequence", .type = JF_STRING, .required = true, .choices = consequence_choices },
	TEXT_FIELD("feedback"),
};
const struct jf_schema schema_report_close = JF_SCHEMA(report_close_fields);

static const struct jf_field report_query_fields[] = {
	{ .name = "state", .type = JF_STRING, .choices = report_state_choices },
};
const struct jf_schema query_reports = JF_SCHEMA(report_query_fields);

static const char *const jury_decision_choices[] = { "award", "extra_project", "refuse", NULL };

static const struct jf_field jury_session_fields[] = {
	ID_FIELD("path_id"),
	{ .name = "scheduled_at", .type = JF_STRING, .required = true, .format = JF_FMT_TIMESTAMP },
	{ .name = "members", .type = JF_ARRAY, .required = true, .min = 1, .max = 50, .item = JF_ID },
};
const struct jf_schema schema_jury_session_create = JF_SCHEMA(jury_session_fields);

static const struct jf_field jury_case_fields[] = { ID_FIELD("enrollment_id") };
const struct jf_schema schema_jury_case_create = JF_SCHEMA(jury_case_fields);

static const struct jf_field jury_vote_fields[] = {
	{ .name = "decision", .type = JF_STRING, .required = true, .choices = jury_decision_choices },
	TEXT_FIELD("comment"),
};
const struct jf_schema schema_jury_vote = JF_SCHEMA(jury_vote_fields);

static const struct jf_field jury_extra_fields[] = {
	TITLE_FIELD,
	{ .name = "skills", .type = JF_ARRAY, .required = true, .min = 1, .max = 5,
	  .item = JF_OBJECT, .sub = &skill_schema },
	{ .name = "interview", .type = JF_BOOL, .required = true },
};
const struct jf_schema schema_jury_extra_project = JF_SCHEMA(jury_extra_fields);

static const struct jf_field credential_revoke_fields[] = {
	{ .name = "reason", .type = JF_STRING, .required = true, .min = 1, .max = 2000 },
};
const struct jf_schema schema_credential_revoke = JF_SCHEMA(credential_revoke_fields);
