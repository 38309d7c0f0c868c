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
extern const struct jf_schema schema_path_create;	/* POST /v1/paths */
extern const struct jf_schema schema_qualification_create; /* POST /v1/users/{id}/qualifications */
extern const struct jf_schema schema_conflict_create;	/* POST /v1/conflicts */
extern const struct jf_schema schema_enrollment_create;	/* POST /v1/enrollments */
extern const struct jf_schema schema_note_create;	/* POST /v1/enrollments/{id}/notes */
extern const struct jf_schema schema_handover;		/* POST /v1/attempts/{id}/handover */
extern const struct jf_schema schema_verdict;		/* POST /v1/defenses/{id}/verdict */
extern const struct jf_schema schema_review_verdict;	/* POST /v1/reviews/{id}/verdict */
extern const struct jf_schema schema_disagreement_resolve; /* POST /v1/disagreements/{id}/resolve */
extern const struct jf_schema schema_report_submit;	/* POST /v1/reports */
extern const struct jf_schema schema_report_follow_up;	/* POST /v1/reports/follow-up */
extern const struct jf_schema schema_report_follow_up_message; /* .../follow-up/messages */
extern const struct jf_schema schema_report_message;	/* POST /v1/reports/{id}/messages */
extern const struct jf_schema schema_report_link;	/* POST /v1/reports/{id}/link */
extern const struct jf_schema schema_report_close;	/* POST /v1/reports/{id}/close */
extern const struct jf_schema schema_jury_session_create; /* POST /v1/jury-sessions */
extern const struct jf_schema schema_jury_case_create;	/* POST /v1/jury-sessions/{id}/cases */
extern const struct jf_schema schema_credential_revoke;	/* POST /v1/credentials/{uuid}/revoke */
extern const struct jf_schema schema_jury_vote;		/* POST /v1/jury-cases/{id}/votes */
extern const struct jf_schema schema_jury_extra_project; /* POST /v1/jury-cases/{id}/extra-project */

/* Query strings, as objects of string values. */
extern const struct jf_schema query_mine;		/* GET /v1/defenses, GET /v1/reviews */
extern const struct jf_schema query_disagreements;	/* GET /v1/disagreements */
extern const struct jf_schema query_calibration;	/* GET /v1/evaluators/{id}/calibration */
extern const struct jf_schema query_reports;		/* GET /v1/reports */

#endif
