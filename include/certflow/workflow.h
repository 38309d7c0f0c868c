/*
 * workflow.h - the state machine of certflow, in one place.
 * Every legal transition is one row: (entity, from, event, role) -> to.
 * certflowd --migrate copies this table into PostgreSQL (workflow_transitions)
 * and the SQL route functions consult it there, so the rows below are the
 * only definition; docs/WORKFLOW.md shows them as a table.
 */
#ifndef CERTFLOW_WORKFLOW_H
#define CERTFLOW_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>

struct wf_transition {
	const char *entity;	/* "attempt", "enrollment", "review", "disagreement" */
	const char *from;
	const char *event;
	const char *role;	/* who may cause it: a user role, or "system" */
	const char *to;
};

extern const struct wf_transition workflow_table[];
extern const size_t workflow_table_len;

/* NULL-terminated state lists, per entity. */
extern const char *const workflow_attempt_states[];
extern const char *const workflow_enrollment_states[];
extern const char *const workflow_review_states[];
extern const char *const workflow_disagreement_states[];
extern const char *const workflow_report_states[];
extern const char *const workflow_jury_case_states[];
extern const char *const workflow_credential_states[];
/* NULL-terminated list of the entities. */
extern const char *const workflow_entities[];
/* NULL-terminated lists of every event and every role appearing in the table. */
extern const char *const workflow_events[];
extern const char *const workflow_roles[];

/* The next state, or NULL when (entity, from, event, role) is not a legal transition. */
const char *workflow_next(const char *entity, const char *from, const char *event,
    const char *role);

/* The NULL-terminated states of ENTITY, or NULL when unknown. */
const char *const *workflow_states(const char *entity);

/* True when STATE is a state of ENTITY. */
bool workflow_state_valid(const char *entity, const char *state);

#endif
