-- 0016_draw_blindness.sql - who the evaluator draw and the reviewer draw
-- leave out so that nobody drawn learns what the blind review hides
-- (docs/REVIEW.md, "Who reviews"). Both draws read one helper,
-- api.blind_exclusions; the reviewer draw adds the evaluators of this and
-- later defenses and the jury members who read the student's dossier.
--
-- Restates, from 0002 and 0003, api.attempt_handover,
-- api.defense_reassign_as, api.review_open and api.review_reassign_as with
-- only their exclusion list changed: a later change to them starts here.

-- Who may be drawn neither to evaluate nor to review a defense of attempt
-- P_ATTEMPT:
-- - everyone ever drawn to review a defense of the same enrollment (a
--   reviewer, or one reassigned away from a review): a later defense, a new
--   round or the next project, tells the verdict they review; an earlier
--   one's review tells them of this one;
-- - the evaluator of a validated defense of this attempt: when the attempt
--   is handed over again that verdict was withdrawn (a review overturned
--   it, or a fraud report invalidated the project), and a new round would
--   tell them so. Evaluators whose verdict needed improvement stay
--   eligible: they sent the project back themselves and learn nothing.
CREATE FUNCTION api.blind_exclusions(p_attempt bigint) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN api.attempt_reviewers(p_attempt) || (
		SELECT coalesce(array_agg(DISTINCT d.evaluator_id), '{}')
		FROM defenses d
		WHERE d.attempt_id = p_attempt AND d.verdict = 'validated');
END
$$;

-- The members of every jury session with a case on enrollment P_ENROLLMENT,
-- open or decided: the dossier showed them its verdicts and reviews.
CREATE FUNCTION api.enrollment_jurors(p_enrollment bigint) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT coalesce(array_agg(DISTINCT m.user_id), '{}')
		FROM jury_cases c JOIN jury_members m ON m.session_id = c.session_id
		WHERE c.enrollment_id = p_enrollment);
END
$$;

-- Who the reviewer draw of defense D leaves out: api.blind_exclusions, the
-- evaluators of D and of every later defense of the enrollment, and the
-- enrollment's jurors.
CREATE FUNCTION api.review_exclusions(d defenses) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN api.blind_exclusions(d.attempt_id) || api.later_evaluators(d)
	    || api.enrollment_jurors((SELECT t.enrollment_id FROM attempts t
				      WHERE t.id = d.attempt_id));
END
$$;

-- POST /v1/attempts/{id}/handover (this enrollment's mentor)
CREATE OR REPLACE FUNCTION api.attempt_handover(p_token text, p_request_id text, p_attempt bigint,
	p_body jsonb, p_seed text, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	p_due_days int := (p_settings ->> 'defense_due_days')::int;
	a record;
	t attempts;
	e enrollments;
	v_next text;
	dr record;
	d defenses;
BEGIN
	a := api.authorize(p_token, '{mentor}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO t FROM attempts WHERE id = p_attempt FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such attempt'); RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id;
	IF e.mentor_id <> a.user_id THEN
		status := 403; body := api.err('only this enrollment''s mentor hands its projects over'); RETURN;
	END IF;
	IF e.state <> 'in_progress' THEN
		status := 409; body := api.err(format('the enrollment is %s', e.state)); RETURN;
	END IF;
	v_next := api.transition('attempt', t.state, 'handover', 'mentor');
	IF v_next IS NULL THEN
		status := 409;
		body := api.err(format('the attempt is %s; a handover is possible only from mentoring', t.state));
		RETURN;
	END IF;
	dr := api.draw_evaluator('defense', e.path_id, e.student_id, e.mentor_id,
	    api.blind_exclusions(t.id), decode(p_seed, 'hex'));
	IF dr.pick IS NULL THEN
		status := 409;
		body := api.err('no eligible evaluator: none is qualified for this path '
		    'without being the student, their mentor, in declared conflict or kept '
		    'out to keep a blind review blind');
		RETURN;
	END IF;
	UPDATE attempts SET state = v_next, round = round + 1, updated_at = now()
	WHERE id = p_attempt RETURNING * INTO t;
	INSERT INTO deliverables (attempt_id, round, title, uri, sha256)
	SELECT p_attempt, t.round, x ->> 'title', x ->> 'uri', lower(x ->> 'sha256')
	FROM jsonb_array_elements(p_body -> 'deliverables') x;
	INSERT INTO defenses (attempt_id, round, evaluator_id, draw_id, due_at)
	VALUES (p_attempt, t.round, dr.pick, dr.draw_id,
		now() + make_interval(days => p_due_days))
	RETURNING * INTO d;
	PERFORM api.audit(a.user_id, p_request_id, 'attempt.handover', 'attempt', p_attempt,
	    jsonb_build_object('round', t.round, 'defense_id', d.id,
		'evaluator_id', d.evaluator_id, 'draw_id', dr.draw_id));
	status := 200;
	body := json_build_object('attempt_id', t.id, 'state', t.state, 'round', t.round,
	    'defense', json_build_object('id', d.id, 'evaluator_id', d.evaluator_id,
		'due_at', d.due_at));
END
$$;

-- Gives defense D a new evaluator (not the current one) and records the
-- miss. Shared by the reassign route and the deadline scanner (actor NULL).
CREATE OR REPLACE FUNCTION api.defense_reassign_as(p_actor bigint, p_role text, p_request_id text,
	p_defense bigint, p_seed text, p_due_days int, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	d defenses;
	t attempts;
	e enrollments;
	dr record;
	v_old bigint;
BEGIN
	SELECT * INTO d FROM defenses WHERE id = p_defense;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such defense'); RETURN;
	END IF;
	SELECT * INTO t FROM attempts WHERE id = d.attempt_id FOR UPDATE;
	SELECT * INTO d FROM defenses WHERE id = p_defense FOR UPDATE;
	IF d.state <> 'pending' THEN
		status := 409; body := api.err('the defense is decided; only a pending defense is reassigned');
		RETURN;
	ELSIF api.transition('attempt', t.state, 'reassign', p_role) IS NULL THEN
		status := 409; body := api.err(format('the attempt is %s', t.state));
		RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id;
	dr := api.draw_evaluator('defense', e.path_id, e.student_id, e.mentor_id,
	    d.evaluator_id || api.blind_exclusions(t.id), decode(p_seed, 'hex'));
	IF dr.pick IS NULL THEN
		status := 409;
		body := api.err('no other eligible evaluator for this defense');
		RETURN;
	END IF;
	v_old := d.evaluator_id;
	INSERT INTO evaluator_misses (evaluator_id, defense_id, kind)
	VALUES (v_old, d.id, CASE WHEN d.due_at <= now() THEN 'deadline' ELSE 'reassigned' END);
	UPDATE defenses SET evaluator_id = dr.pick, draw_id = dr.draw_id,
	    due_at = now() + make_interval(days => p_due_days)
	WHERE id = p_defense RETURNING * INTO d;
	PERFORM api.audit(p_actor, p_request_id, 'defense.reassign', 'defense', d.id,
	    jsonb_build_object('from_evaluator_id', v_old, 'evaluator_id', d.evaluator_id,
		'draw_id', dr.draw_id, 'by', p_role));
	status := 200;
	body := json_build_object('id', d.id, 'attempt_id', d.attempt_id, 'round', d.round,
	    'evaluator_id', d.evaluator_id, 'previous_evaluator_id', v_old,
	    'due_at', d.due_at, 'draw_id', dr.draw_id);
END
$$;

-- Opens a review of defense D: draws a reviewer outside
-- api.review_exclusions(D). Returns the review, or NULL when nobody is
-- eligible.
CREATE OR REPLACE FUNCTION api.review_open(d defenses, p_requested_by text, p_requester bigint,
	p_request_id text, p_seed bytea, p_settings jsonb)
RETURNS reviews LANGUAGE plpgsql AS $$
DECLARE
	t attempts;
	e enrollments;
	dr record;
	r reviews;
BEGIN
	SELECT * INTO t FROM attempts WHERE id = d.attempt_id;
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id;
	dr := api.draw_evaluator('review', e.path_id, e.student_id, e.mentor_id,
	    api.review_exclusions(d), p_seed);
	IF dr.pick IS NULL THEN
		RETURN NULL;
	END IF;
	INSERT INTO reviews (defense_id, reviewer_id, draw_id, original_evaluator_id,
	    requested_by, requester_id, due_at)
	VALUES (d.id, dr.pick, dr.draw_id, d.evaluator_id, p_requested_by, p_requester,
	    now() + make_interval(days => (p_settings ->> 'review_due_days')::int))
	RETURNING * INTO r;
	PERFORM api.audit(p_requester, p_request_id, 'review.open', 'review', r.id,
	    jsonb_build_object('defense_id', d.id, 'reviewer_id', r.reviewer_id,
		'draw_id', dr.draw_id, 'requested_by', p_requested_by));
	RETURN r;
END
$$;

-- Gives review R another reviewer and records the miss against the late one.
CREATE OR REPLACE FUNCTION api.review_reassign_as(p_review bigint, p_request_id text, p_seed text,
	p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	r reviews;
	d defenses;
	t attempts;
	e enrollments;
	dr record;
	v_old bigint;
BEGIN
	SELECT * INTO r FROM reviews WHERE id = p_review FOR UPDATE;
	IF api.transition('review', r.state, 'reassign', 'system') IS NULL THEN
		status := 409; body := api.err(format('the review is %s', r.state)); RETURN;
	END IF;
	SELECT * INTO d FROM defenses WHERE id = r.defense_id;
	SELECT * INTO t FROM attempts WHERE id = d.attempt_id;
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id;
	dr := api.draw_evaluator('review', e.path_id, e.student_id, e.mentor_id,
	    api.review_exclusions(d), decode(p_seed, 'hex'));
	IF dr.pick IS NULL THEN
		status := 409; body := api.err('no other eligible reviewer'); RETURN;
	END IF;
	v_old := r.reviewer_id;
	INSERT INTO evaluator_misses (evaluator_id, review_id, kind)
	VALUES (v_old, r.id, 'review_deadline');
	UPDATE reviews SET reviewer_id = dr.pick, draw_id = dr.draw_id,
	    due_at = now() + make_interval(days => (p_settings ->> 'review_due_days')::int)
	WHERE id = p_review RETURNING * INTO r;
	PERFORM api.audit(NULL, p_request_id, 'review.reassign', 'review', r.id,
	    jsonb_build_object('from_reviewer_id', v_old, 'reviewer_id', r.reviewer_id,
		'draw_id', dr.draw_id));
	status := 200;
	body := json_build_object('review_id', r.id, 'reviewer_id', r.reviewer_id,
	    'previous_reviewer_id', v_old, 'due_at', r.due_at);
END
$$;
