/*
 * workflow.c - owns the transition table of attempts and enrollments.
 * Pure data and lookups. Adding a state or an event means adding rows here;
 * the database receives them at the next certflowd --migrate.
 */
#include <string.h>

#include <certflow/workflow.h>

const char *const workflow_attempt_states[] = {
	"pending",		/* a later project of the path, not open yet */
	"mentoring",		/* weekly notes with the mentor */
	"awaiting_defense",	/* handed over; an evaluator was drawn */
	"validated",
	NULL,
};

const char *const workflow_enrollment_states[] = {
	"in_progress", "awaiting_jury", "completed", "awarded", "refused", "excluded",
	NULL,
};

const char *const workflow_review_states[] = {
	"pending",		/* a reviewer was drawn; due at due_at */
	"submitted",		/* the reviewer said whether they would have validated */
	NULL,
};

const char *const workflow_disagreement_states[] = { "open", "resolved", NULL };

const char *const workflow_jury_case_states[] = { "open", "decided", NULL };

const char *const workflow_credential_states[] = {
	"issued",		/* signed and served; its status bit is 0 */
	"revoked",		/* still verifies as signed; its status bit says revoked */
	NULL,
};

const char *const workflow_report_states[] = {
	"received",		/* the acknowledgement clock runs */
	"acknowledged",		/* the feedback clock runs */
	"closed",		/* substantiated or unfounded, with its consequence */
	NULL,
};

const struct wf_transition workflow_table[] = {
	/* the project loop */
	{ "attempt", "pending", "open", "system", "mentoring" },
	{ "attempt", "mentoring", "handover", "mentor", "awaiting_defense" },
	{ "attempt", "awaiting_defense", "verdict_validated", "evaluator", "validated" },
	{ "attempt", "awaiting_defense", "verdict_needs_improvement", "evaluator", "mentoring" },
	{ "attempt", "awaiting_defense", "reassign", "pedagogy", "awaiting_defense" },
	{ "attempt", "awaiting_defense", "reassign", "system", "awaiting_defense" },
	/* a blind review overturned the validated verdict: back to the mentor */
	{ "attempt", "validated", "overturn", "pedagogy", "mentoring" },
	/* a substantiated fraud report withdrew the validation */
	{ "attempt", "validated", "invalidate", "pedagogy", "mentoring" },
	/* the enrollment, once its last project is validated */
	{ "enrollment", "in_progress", "complete_diploma", "system", "awaiting_jury" },
	{ "enrollment", "in_progress", "complete_certificate", "system", "completed" },
	/* ...and when one of its projects goes back to the mentor */
	{ "enrollment", "awaiting_jury", "reopen", "system", "in_progress" },
	{ "enrollment", "completed", "reopen", "system", "in_progress" },
	/* a substantiated fraud report excluded the student: no further step */
	{ "enrollment", "in_progress", "exclude", "pedagogy", "excluded" },
	{ "enrollment", "awaiting_jury", "exclude", "pedagogy", "excluded" },
	{ "enrollment", "completed", "exclude", "pedagogy", "excluded" },
	{ "enrollment", "awarded", "exclude", "pedagogy", "excluded" },
	/* double-blind review */
	{ "review", "pending", "submit", "evaluator", "submitted" },
	{ "review", "pending", "reassign", "system", "pending" },
	{ "disagreement", "open", "resolve", "pedagogy", "resolved" },
	/* the diploma jury */
	{ "jury_case", "open", "decide", "jury", "decided" },		/* every member voted */
	{ "jury_case", "open", "decide", "pedagogy", "decided" },	/* closed at quorum */
	{ "enrollment", "awaiting_jury", "award", "jury", "awarded" },
	{ "enrollment", "awaiting_jury", "refuse", "jury", "refused" },
	{ "enrollment", "awaiting_jury", "extra_project", "pedagogy", "in_progress" },
	/* whistleblowing */
	{ "report", "received", "acknowledge", "pedagogy", "acknowledged" },
	{ "report", "received", "close", "pedagogy", "closed" },
	{ "report", "acknowledged", "close", "pedagogy", "closed" },
	/* credentials: issued when an enrollment is awarded or completed with no open report */
	{ "credential", "issued", "revoke", "admin", "revoked" },
	{ "credential", "issued", "revoke", "pedagogy", "revoked" },	/* a substantiated report */
	{ "credential", "issued", "revoke", "system", "revoked" },	/* its enrollment reopened or excluded */
};
const size_t workflow_table_len = sizeof(workflow_table) / sizeof(workflow_table[0]);

const char *const workflow_events[] = {
	"open", "handover", "verdict_validated", "verdict_needs_improvement", "reassign",
	"overturn", "invalidate", "complete_diploma", "complete_certificate", "reopen",
	"exclude", "submit", "resolve", "acknowledge", "close", "decide", "award", "refuse",
	"extra_project", "revoke",
	NULL,
};

const char *const workflow_entities[] = {
	"attempt", "enrollment", "review", "disagreement", "report", "jury_case", "credential",
	NULL,
};

const char *const workflow_roles[] = {
	"system", "admin", "pedagogy", "mentor", "evaluator", "jury", "student",
	NULL,
};

const char *
workflow_next(const char *entity, const char *from, const char *event, const char *role)
{
	for (size_t i = 0; i < workflow_table_len; i++) {
		const struct wf_transition *t = &workflow_table[i];

		if (strcmp(t->entity, entity) == 0 && strcmp(t->from, from) == 0 &&
		    strcmp(t->event, event) == 0 && strcmp(t->role, role) == 0)
			return t->to;
	}
	return NULL;
}

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

const char *const *
workflow_states(const char *entity)
{
	if (strcmp(entity, "attempt") == 0)
		return workflow_attempt_states;
	if (strcmp(entity, "enrollment") == 0)
		return workflow_enrollment_states;
	if (strcmp(entity, "review") == 0)
		return workflow_review_states;
	if (strcmp(entity, "disagreement") == 0)
		return workflow_disagreement_states;
	if (strcmp(entity, "report") == 0)
		return workflow_report_states;
	if (strcmp(entity, "jury_case") == 0)
		return workflow_jury_case_states;
	if (strcmp(entity, "credential") == 0)
		return workflow_credential_states;
	return NULL;
}

bool
workflow_state_valid(const char *entity, const char *state)
{
	const char *const *states = workflow_states(entity);

	return states != NULL && in_list(states, state);
}
