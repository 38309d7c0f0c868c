-- 0015_verdict_conflict_state.sql - a second verdict's 409 names the states.
--
-- POST /v1/defenses/{id}/verdict on a decided defense answered "this defense
-- already has a verdict", where every other refused transition names the
-- current state. It now names the defense's state and the state its verdict
-- moved the attempt to. Only the defense's own evaluator gets this far (any
-- other caller gets 403 first), and they gave that verdict; the attempt's
-- state of now is not named, since after a blind review's overturn or a later
-- round it would tell them what they may not see (docs/SECURITY.md). The
-- body is 0002's, but for that detail.

-- POST /v1/defenses/{id}/verdict (the assigned evaluator)
CREATE OR REPLACE FUNCTION api.defense_verdict(p_token text, p_request_id text, p_defense bigint,
	p_body jsonb, p_sample_seed text, p_draw_seed text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	d defenses;
	t attempts;
	e enrollments;
	v_verdict text := p_body ->> 'verdict';
	v_event text := 'verdict_' || v_verdict;
	v_next text;
	v_problem json;
	v_open attempts;
	v_enrollment_next text;
BEGIN
	a := api.authorize(p_token, '{evaluator}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO d FROM defenses WHERE id = p_defense;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such defense'); RETURN;
	END IF;
	-- lock the attempt first, as every transition of it does
	SELECT * INTO t FROM attempts WHERE id = d.attempt_id FOR UPDATE;
	SELECT * INTO d FROM defenses WHERE id = p_defense FOR UPDATE;
	-- lock order everywhere: attempt, defense, enrollment
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id FOR UPDATE;
	IF d.evaluator_id <> a.user_id THEN
		status := 403; body := api.err('only the evaluator drawn for this defense records its verdict'); RETURN;
	ELSIF d.state <> 'pending' THEN
		status := 409;
		body := api.err(format('the defense is %s and its verdict moved the attempt to %s; '
		    'only a pending defense takes a verdict', d.state,
		    api.transition('attempt', 'awaiting_defense', 'verdict_' || d.verdict, 'evaluator')));
		RETURN;
	ELSIF e.state <> 'in_progress' THEN
		status := 409; body := api.err(format('the enrollment is %s', e.state)); RETURN;
	END IF;
	v_next := api.transition('attempt', t.state, v_event, 'evaluator');
	IF v_next IS NULL THEN
		status := 409; body := api.err(format('the attempt is %s', t.state)); RETURN;
	END IF;
	v_problem := api.skills_problem(t.project_id, p_body -> 'skills', v_verdict);
	IF v_problem IS NOT NULL THEN
		status := 422; body := v_problem; RETURN;
	END IF;

	UPDATE defenses SET state = 'decided', verdict = v_verdict,
	    comment = p_body ->> 'comment', recording_uri = p_body #>> '{recording,uri}',
	    recording_sha256 = lower(p_body #>> '{recording,sha256}'), decided_at = now()
	WHERE id = p_defense RETURNING * INTO d;
	INSERT INTO defense_skills (defense_id, skill_id, acquired)
	SELECT p_defense, k.id, (x ->> 'acquired')::boolean
	FROM jsonb_array_elements(p_body -> 'skills') x
	JOIN skills k ON k.project_id = t.project_id AND k.code = x ->> 'code';
	UPDATE attempts SET state = v_next, updated_at = now() WHERE id = t.id RETURNING * INTO t;
	PERFORM api.audit(a.user_id, p_request_id, 'defense.verdict', 'defense', p_defense,
	    jsonb_build_object('verdict', v_verdict, 'attempt_id', t.id, 'attempt_state', t.state));
	PERFORM api.after_verdict(d, p_request_id, decode(p_sample_seed, 'hex'),
	    decode(p_draw_seed, 'hex'), p_settings);

	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id FOR UPDATE;
	IF v_verdict = 'validated' THEN
		-- the next project opens with the mentor, or the enrollment is complete
		SELECT * INTO v_open FROM attempts
		WHERE enrollment_id = e.id AND state = 'pending'
		ORDER BY position LIMIT 1 FOR UPDATE;
		IF FOUND THEN
			UPDATE attempts SET state = api.transition('attempt', 'pending', 'open', 'system'),
			    updated_at = now()
			WHERE id = v_open.id;
			PERFORM api.audit(NULL, p_request_id, 'attempt.open', 'attempt', v_open.id,
			    jsonb_build_object('enrollment_id', e.id));
		ELSIF NOT EXISTS (SELECT 1 FROM attempts WHERE enrollment_id = e.id
				  AND state <> 'validated') THEN
			v_enrollment_next := api.transition('enrollment', e.state,
			    'complete_' || e.kind, 'system');
			IF v_enrollment_next IS NOT NULL THEN
				UPDATE enrollments SET state = v_enrollment_next, updated_at = now()
				WHERE id = e.id RETURNING * INTO e;
				PERFORM api.audit(NULL, p_request_id, 'enrollment.' || e.state,
				    'enrollment', e.id, jsonb_build_object('kind', e.kind));
			END IF;
		END IF;
	END IF;
	status := 200;
	body := json_build_object('defense', api.defense_json(d),
	    'attempt', json_build_object('id', t.id, 'state', t.state, 'round', t.round),
	    'enrollment', json_build_object('id', e.id, 'state', e.state));
END
$$;
