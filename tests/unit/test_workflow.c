/*
 * test_workflow.c - unit tests for lib/workflow.c: an exhaustive walk of
 * (entity, state, event, role) against workflow_table, the validity of every
 * row, refusal of unknown names, and spot checks that name the domain rules
 * (who may hand over, who gives a verdict, who can change nothing at all).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "certflow/workflow.h"

static const char *const *const entities = workflow_entities;

static const char *const *
states_of(const char *entity)
{
	return workflow_states(entity);
}

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static size_t
list_len(const char *const *list)
{
	size_t n = 0;

	while (list[n] != NULL)
		n++;
	return n;
}

/* Rows of workflow_table with this key; *TO is the last one's target. */
static size_t
count_rows(const char *entity, const char *from, const char *event,
    const char *role, const char **to)
{
	size_t n = 0;

	*to = NULL;
	for (size_t i = 0; i < workflow_table_len; i++) {
		const struct wf_transition *t = &workflow_table[i];

		if (strcmp(t->entity, entity) == 0 && strcmp(t->from, from) == 0 &&
		    strcmp(t->event, event) == 0 && strcmp(t->role, role) == 0) {
			n++;
			*to = t->to;
		}
	}
	return n;
}

static void
expect_next(const char *entity, const char *from, const char *event,
    const char *role, const char *want)
{
	const char *got = workflow_next(entity, from, event, role);

	if (want == NULL && got != NULL)
		fail_msg("%s %s --%s/%s--> %s, expected refusal", entity, from,
		    event, role, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("%s %s --%s/%s--> %s, expected %s", entity, from, event,
		    role, got != NULL ? got : "(refused)", want);
}

/* No role causes EVENT from any state of ENTITY other than ALLOWED_FROM. */
static void
expect_only_from(const char *entity, const char *event, const char *allowed_from)
{
	for (const char *const *s = states_of(entity); *s != NULL; s++) {
		if (strcmp(*s, allowed_from) == 0)
			continue;
		for (const char *const *r = workflow_roles; *r != NULL; r++)
			expect_next(entity, *s, event, *r, NULL);
	}
}

/* Only ROLE causes EVENT from FROM, and it leads to TO. */
static void
expect_only_role(const char *entity, const char *from, const char *event,
    const char *role, const char *to)
{
	for (const char *const *r = workflow_roles; *r != NULL; r++)
		expect_next(entity, from, event, *r, strcmp(*r, role) == 0 ? to : NULL);
}

static void
test_exhaustive_against_table(void **state)
{
	size_t legal = 0, tried = 0;

	for (const char *const *e = entities; *e != NULL; e++)
		for (const char *const *s = states_of(*e); *s != NULL; s++)
			for (const char *const *ev = workflow_events; *ev != NULL; ev++)
				for (const char *const *r = workflow_roles; *r != NULL; r++) {
					const char *to;
					size_t rows = count_rows(*e, *s, *ev, *r, &to);

					tried++;
					if (rows > 1)
						fail_msg("%s %s %s %s: %zu rows", *e, *s,
						    *ev, *r, rows);
					/* Non-NULL iff one row, and then that row's to. */
					expect_next(*e, *s, *ev, *r, to);
					if (rows == 1)
						legal++;
				}
	assert_int_equal(tried, (list_len(workflow_attempt_states) +
	    list_len(workflow_enrollment_states) + list_len(workflow_review_states) +
	    list_len(workflow_disagreement_states) + list_len(workflow_report_states) +
	    list_len(workflow_jury_case_states) + list_len(workflow_credential_states)) *
	    list_len(workflow_events) *
	    list_len(workflow_roles));
	/* Every row was reached exactly once: no duplicate and no stray row. */
	assert_int_equal(legal, workflow_table_len);
}

static void
test_every_row_is_well_formed(void **state)
{
	assert_true(workflow_table_len > 0);
	for (size_t i = 0; i < workflow_table_len; i++) {
		const struct wf_transition *t = &workflow_table[i];

		if (!in_list(entities, t->entity))
			fail_msg("row %zu: unknown entity %s", i, t->entity);
		if (!workflow_state_valid(t->entity, t->from))
			fail_msg("row %zu: %s is not a %s state", i, t->from, t->entity);
		if (!workflow_state_valid(t->entity, t->to))
			fail_msg("row %zu: %s is not a %s state", i, t->to, t->entity);
		if (!in_list(workflow_events, t->event))
			fail_msg("row %zu: event %s not in workflow_events", i, t->event);
		if (!in_list(workflow_roles, t->role))
			fail_msg("row %zu: role %s not in workflow_roles", i, t->role);
	}
}

static void
test_lists_have_no_duplicates(void **state)
{
	const char *const *lists[] = { workflow_attempt_states,
	    workflow_enrollment_states, workflow_review_states,
	    workflow_disagreement_states, workflow_report_states, workflow_jury_case_states,
	    workflow_credential_states, workflow_entities,
	    workflow_events,
	    workflow_roles };

	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		assert_true(list_len(lists[l]) > 0);
		for (const char *const *a = lists[l]; *a != NULL; a++)
			for (const char *const *b = a + 1; *b != NULL; b++)
				if (strcmp(*a, *b) == 0)
					fail_msg("%s listed twice", *a);
	}
}

static void
test_state_valid(void **state)
{
	for (const char *const *s = workflow_attempt_states; *s != NULL; s++) {
		assert_true(workflow_state_valid("attempt", *s));
		assert_false(workflow_state_valid("enrollment", *s));
	}
	for (const char *const *s = workflow_enrollment_states; *s != NULL; s++) {
		assert_true(workflow_state_valid("enrollment", *s));
		assert_false(workflow_state_valid("attempt", *s));
	}
	assert_false(workflow_state_valid("attempt", ""));
	assert_false(workflow_state_valid("attempt", "Mentoring"));
	assert_false(workflow_state_valid("attempt", "mentoring "));
	assert_false(workflow_state_valid("enrollment", "graduated"));
	assert_false(workflow_state_valid("attempts", "mentoring"));
	assert_false(workflow_state_valid("", "mentoring"));
	assert_false(workflow_state_valid("project", "pending"));
}

static void
test_unknown_names_are_refused(void **state)
{
	/* A legal transition, then each field replaced by an unknown name. */
	expect_next("attempt", "mentoring", "handover", "mentor", "awaiting_defense");
	expect_next("project", "mentoring", "handover", "mentor", NULL);
	expect_next("", "mentoring", "handover", "mentor", NULL);
	expect_next("attempt", "drafting", "handover", "mentor", NULL);
	expect_next("attempt", "", "handover", "mentor", NULL);
	expect_next("attempt", "mentoring", "hand_over", "mentor", NULL);
	expect_next("attempt", "mentoring", "", "mentor", NULL);
	expect_next("attempt", "mentoring", "handover", "root", NULL);
	expect_next("attempt", "mentoring", "handover", "", NULL);
	expect_next("attempt", "mentoring", "handover", "Mentor", NULL);
	/* A state of the other entity is not a state of this one. */
	expect_next("enrollment", "mentoring", "handover", "mentor", NULL);
	expect_next("attempt", "in_progress", "complete_diploma", "system", NULL);
}

static void
test_mentor_hands_over_only_while_mentoring(void **state)
{
	expect_only_role("attempt", "mentoring", "handover", "mentor",
	    "awaiting_defense");
	expect_only_from("attempt", "handover", "mentoring");
	expect_next("attempt", "pending", "handover", "mentor", NULL);
	expect_next("attempt", "awaiting_defense", "handover", "mentor", NULL);
	expect_next("attempt", "validated", "handover", "mentor", NULL);
}

static void
test_evaluator_verdict_only_awaiting_defense(void **state)
{
	expect_only_role("attempt", "awaiting_defense", "verdict_validated",
	    "evaluator", "validated");
	expect_only_role("attempt", "awaiting_defense", "verdict_needs_improvement",
	    "evaluator", "mentoring");
	expect_only_from("attempt", "verdict_validated", "awaiting_defense");
	expect_only_from("attempt", "verdict_needs_improvement", "awaiting_defense");
	/* Needing improvement sends the student back to the mentor. */
	expect_next("attempt", "awaiting_defense", "verdict_needs_improvement",
	    "evaluator", "mentoring");
}

static void
test_student_and_jury_cannot_move_an_attempt(void **state)
{
	static const char *const powerless[] = { "student", "jury" };

	for (size_t p = 0; p < sizeof(powerless) / sizeof(powerless[0]); p++)
		for (const char *const *s = workflow_attempt_states; *s != NULL; s++)
			for (const char *const *ev = workflow_events; *ev != NULL; ev++)
				expect_next("attempt", *s, *ev, powerless[p], NULL);
}

static void
test_reassign_keeps_awaiting_defense(void **state)
{
	expect_next("attempt", "awaiting_defense", "reassign", "pedagogy",
	    "awaiting_defense");
	expect_next("attempt", "awaiting_defense", "reassign", "system",
	    "awaiting_defense");
	/* Neither side of the defense picks who evaluates it. */
	expect_next("attempt", "awaiting_defense", "reassign", "evaluator", NULL);
	expect_next("attempt", "awaiting_defense", "reassign", "mentor", NULL);
	expect_next("attempt", "awaiting_defense", "reassign", "student", NULL);
	expect_only_from("attempt", "reassign", "awaiting_defense");
}

static void
test_open_and_terminal_attempt_states(void **state)
{
	expect_only_role("attempt", "pending", "open", "system", "mentoring");
	expect_only_from("attempt", "open", "pending");
	/* A validated attempt moves again only when pedagogy overturns it after a blind review. */
	for (const char *const *ev = workflow_events; *ev != NULL; ev++)
		for (const char *const *r = workflow_roles; *r != NULL; r++)
			expect_next("attempt", "validated", *ev, *r,
			    (strcmp(*ev, "overturn") == 0 || strcmp(*ev, "invalidate") == 0) &&
			    strcmp(*r, "pedagogy") == 0 ? "mentoring" : NULL);
}

static void
test_enrollment_completes_only_in_progress(void **state)
{
	expect_only_role("enrollment", "in_progress", "complete_diploma", "system",
	    "awaiting_jury");
	expect_only_role("enrollment", "in_progress", "complete_certificate",
	    "system", "completed");
	expect_only_from("enrollment", "complete_diploma", "in_progress");
	expect_only_from("enrollment", "complete_certificate", "in_progress");
	/* Attempt events never move an enrollment. */
	for (const char *const *s = workflow_enrollment_states; *s != NULL; s++)
		for (const char *const *r = workflow_roles; *r != NULL; r++) {
			expect_next("enrollment", *s, "handover", *r, NULL);
			expect_next("enrollment", *s, "verdict_validated", *r, NULL);
			expect_next("enrollment", *s, "reassign", *r, NULL);
		}
}

static void
test_review_and_disagreement(void **state)
{
	expect_only_role("review", "pending", "submit", "evaluator", "submitted");
	expect_only_from("review", "submit", "pending");
	expect_only_role("disagreement", "open", "resolve", "pedagogy", "resolved");
	/* Reopening an enrollment is the system's consequence of an overturn only. */
	expect_only_role("enrollment", "awaiting_jury", "reopen", "system", "in_progress");
	expect_next("enrollment", "awarded", "reopen", "system", NULL);
	assert_null(workflow_states("defense"));
	/* An excluded enrollment accepts no further step. */
	for (const char *const *ev = workflow_events; *ev != NULL; ev++)
		for (const char *const *r = workflow_roles; *r != NULL; r++)
			expect_next("enrollment", "excluded", *ev, *r, NULL);
	expect_only_from("report", "acknowledge", "received");
	expect_next("report", "closed", "close", "pedagogy", NULL);
	/* Only the jury awards or refuses, only from awaiting_jury. */
	expect_only_role("enrollment", "awaiting_jury", "award", "jury", "awarded");
	expect_only_from("enrollment", "award", "awaiting_jury");
	expect_only_from("enrollment", "refuse", "awaiting_jury");
	expect_next("jury_case", "decided", "decide", "jury", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exhaustive_against_table),
		cmocka_unit_test(test_review_and_disagreement),
		cmocka_unit_test(test_every_row_is_well_formed),
		cmocka_unit_test(test_lists_have_no_duplicates),
		cmocka_unit_test(test_state_valid),
		cmocka_unit_test(test_unknown_names_are_refused),
		cmocka_unit_test(test_mentor_hands_over_only_while_mentoring),
		cmocka_unit_test(test_evaluator_verdict_only_awaiting_defense),
		cmocka_unit_test(test_student_and_jury_cannot_move_an_attempt),
		cmocka_unit_test(test_reassign_keeps_awaiting_defense),
		cmocka_unit_test(test_open_and_terminal_attempt_states),
		cmocka_unit_test(test_enrollment_completes_only_in_progress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
