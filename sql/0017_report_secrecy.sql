-- 0017_report_secrecy.sql - what the subject of a fraud report, their
-- mentor and the jury can learn of it, and the test clock in the alerts.
--
-- Until an investigator notifies the subject (POST /v1/reports/{id}/
-- notify-subject), nothing the student or the mentor reads may tell that a
-- report exists. The reopened reason of an attempt is read by both in
-- GET /v1/enrollments/{id}; a substantiated report that invalidated the
-- project wrote "a fraud report was substantiated...", and a blind review
-- that overturned the verdict wrote its own words, so telling the two apart
-- told of the report. Both now write the same neutral sentence, old rows
-- included. Notifying the subject does not change it: the enrollment view
-- then lists the report's category and outcome, and tying the report to the
-- attempt would also tell which project it named - more than the two.
--
-- The jury dossier shows each linked report's category and outcome only:
-- its state goes.
--
-- The enrollment half of GET /v1/alerts compared the last note with now()
-- and so ignored the test clock (api.now) that its report half followed.
-- Stamps of what happened (updated_at, decided_at, audit rows, a
-- credential's issuance date, token revocation, idempotency expiry) stay
-- real time: the test clock moves "now" to reach deadlines, it does not
-- rewrite history. Defense and review deadlines (the handover's due_at,
-- reassignment, api.reassign_overdue) and a disagreement's age_seconds are
-- set and compared on real time alike, so they stay consistent; they do not
-- follow the test clock yet (their functions get no settings or are run by
-- a timer).

-- The reopened reason of a validation withdrawn by pedagogy, whatever the cause.
CREATE FUNCTION api.validation_withdrawn_reason() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT 'validation withdrawn by the pedagogical team; a new round is needed'::text
$$;

UPDATE attempts SET reopened_reason = api.validation_withdrawn_reason()
WHERE reopened_reason IS NOT NULL;

-- Back to in_progress, as the system, an enrollment whose validated attempt
-- P_ATTEMPT went back to the mentor; returns the enrollment as it now is.
CREATE FUNCTION api.reopen_enrollment(e enrollments, p_attempt bigint, p_request_id text)
RETURNS enrollments LANGUAGE plpgsql AS $$
BEGIN
	IF e.state <> 'in_progress' THEN
		UPDATE enrollments SET state = api.transition('enrollment', e.state, 'reopen', 'system'),
		    updated_at = now()
		WHERE id = e.id RETURNING * INTO e;
		PERFORM api.audit(NULL, p_request_id, 'enrollment.reopen', 'enrollment', e.id,
		    jsonb_build_object('attempt_id', p_attempt));
	END IF;
	RETURN e;
END
$$;

-- As in 0003, with the neutral reason and api.reopen_enrollment.
CREATE OR REPLACE FUNCTION api.overturn_validated(d defenses, p_actor bigint, p_request_id text,
	p_disagreement bigint)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	t attempts;
	e enrollments;
	v_next text;
BEGIN
	SELECT * INTO t FROM attempts WHERE id = d.attempt_id FOR UPDATE;
	SELECT * INTO e FROM enrollments WHERE id = t.enrollment_id FOR UPDATE;
	v_next := api.transition('attempt', t.state, 'overturn', 'pedagogy');
	IF v_next IS NULL OR d.round <> t.round
	    OR e.state NOT IN ('in_progress', 'awaiting_jury', 'completed') THEN
		RETURN json_build_object('sent_back', false, 'detail',
		    format('recorded only: the attempt is %s and the enrollment %s', t.state, e.state));
	END IF;
	UPDATE attempts SET state = v_next, updated_at = now(),
	    reopened_reason = api.validation_withdrawn_reason()
	WHERE id = t.id RETURNING * INTO t;
	PERFORM api.audit(p_actor, p_request_id, 'attempt.overturn', 'attempt', t.id,
	    jsonb_build_object('disagreement_id', p_disagreement, 'defense_id', d.id));
	e := api.reopen_enrollment(e, t.id, p_request_id);
	RETURN json_build_object('sent_back', true,
	    'attempt', json_build_object('id', t.id, 'state', t.state),
	    'enrollment', json_build_object('id', e.id, 'state', e.state));
END
$$;

-- As in 0004, with the neutral reason and api.reopen_enrollment.
CREATE OR REPLACE FUNCTION api.report_consequence(r reports, p_actor bigint, p_request_id text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	e enrollments;
	t attempts;
	v_next text;
BEGIN
	IF r.consequence = 'none' OR r.outcome <> 'substantiated' THEN
		RETURN json_build_object('applied', false);
	END IF;
	IF r.enrollment_id IS NULL THEN
		RETURN json_build_object('applied', false, 'detail', 'no enrollment is linked');
	END IF;
	-- lock order everywhere: attempt, then enrollment
	IF r.consequence = 'invalidate_project' THEN
		SELECT t2.* INTO t FROM attempts t2 JOIN projects j ON j.id = t2.project_id
		WHERE t2.enrollment_id = r.enrollment_id AND j.code = r.project_code
		FOR UPDATE OF t2;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = r.enrollment_id FOR UPDATE;
	IF r.consequence = 'exclude_student' THEN
		v_next := api.transition('enrollment', e.state, 'exclude', 'pedagogy');
		IF v_next IS NULL THEN
			RETURN json_build_object('applied', false,
			    'detail', format('the enrollment is %s', e.state));
		END IF;
		UPDATE enrollments SET state = v_next, updated_at = now() WHERE id = e.id;
		PERFORM api.audit(p_actor, p_request_id, 'enrollment.exclude', 'enrollment', e.id,
		    jsonb_build_object('report_id', r.id));
		RETURN json_build_object('applied', true, 'enrollment',
		    json_build_object('id', e.id, 'state', v_next));
	ELSIF r.consequence = 'invalidate_project' THEN
		v_next := api.transition('attempt', t.state, 'invalidate', 'pedagogy');
		IF t.id IS NULL OR v_next IS NULL
		    OR e.state NOT IN ('in_progress', 'awaiting_jury', 'completed') THEN
			RETURN json_build_object('applied', false, 'detail',
			    'the project named by the report is not validated in a running enrollment');
		END IF;
		UPDATE attempts SET state = v_next, updated_at = now(),
		    reopened_reason = api.validation_withdrawn_reason()
		WHERE id = t.id;
		PERFORM api.audit(p_actor, p_request_id, 'attempt.invalidate', 'attempt', t.id,
		    jsonb_build_object('report_id', r.id));
		e := api.reopen_enrollment(e, t.id, p_request_id);
		RETURN json_build_object('applied', true,
		    'attempt', json_build_object('id', t.id, 'state', v_next),
		    'enrollment', json_build_object('id', e.id, 'state', e.state));
	END IF;
	-- revoke_credential: credentials are revoked by api.credential_revoke_for_report
	RETURN api.report_revoke_credential(r, p_actor, p_request_id);
END
$$;

-- As in 0009, without the reports' state.
CREATE OR REPLACE FUNCTION api.dossier_json(p_case bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (
		SELECT json_build_object(
		    'case', api.jury_case_json(c.id, false),
		    'student', json_build_object('id', u.id, 'name', u.name),
		    'enrollment', json_build_object('id', e.id, 'kind', e.kind, 'state', e.state,
			'path_id', e.path_id, 'mentor_id', e.mentor_id, 'created_at', e.created_at),
		    'notes', (SELECT coalesce(json_agg(json_build_object('week', n.week,
			    'progress', n.progress, 'body', n.body, 'at_risk', n.at_risk,
			    'author_id', n.author_id) ORDER BY n.week), '[]')
			FROM notes n WHERE n.enrollment_id = e.id),
		    'projects', (SELECT coalesce(json_agg(json_build_object('code', j.code,
			    'title', j.title, 'position', t.position, 'extra', j.enrollment_id IS NOT NULL,
			    'state', t.state, 'reopened_reason', t.reopened_reason,
			    'rounds', (SELECT coalesce(json_agg(json_build_object('round', d.round,
				    'deliverables', (SELECT coalesce(jsonb_agg(jsonb_build_object(
					'title', v.title, 'uri', v.uri, 'sha256', v.sha256) ORDER BY v.id), '[]')
					FROM deliverables v WHERE v.attempt_id = t.id AND v.round = d.round),
				    'defense', json_build_object('id', d.id, 'state', d.state,
					'verdict', d.verdict, 'comment', d.comment,
					'evaluator', json_build_object('id', ev.id, 'name', ev.name),
					'recording', CASE WHEN d.recording_uri IS NOT NULL THEN
					    json_build_object('uri', d.recording_uri, 'sha256', d.recording_sha256) END,
					'skills', (SELECT coalesce(json_agg(json_build_object('code', k.code,
						'acquired', ds.acquired) ORDER BY k.id), '[]')
					    FROM defense_skills ds JOIN skills k ON k.id = ds.skill_id
					    WHERE ds.defense_id = d.id),
					'decided_at', d.decided_at),
				    'reviews', (SELECT coalesce(json_agg(json_build_object('id', r.id,
					    'reviewer_id', r.reviewer_id, 'state', r.state,
					    'verdict', r.verdict, 'comment', r.comment,
					    'submitted_at', r.submitted_at,
					    'skills', (SELECT coalesce(json_agg(json_build_object('code', k.code,
						    'acquired', rs.acquired) ORDER BY k.id), '[]')
						FROM review_skills rs JOIN skills k ON k.id = rs.skill_id
						WHERE rs.review_id = r.id)) ORDER BY r.id), '[]')
					FROM reviews r WHERE r.defense_id = d.id),
				    'disagreements', (SELECT coalesce(json_agg(json_build_object('id', g.id,
					    'state', g.state, 'skill_differences', g.skill_differences,
					    'outcome', g.outcome, 'comment', g.comment,
					    'resolved_at', g.resolved_at) ORDER BY g.id), '[]')
					FROM disagreements g WHERE g.defense_id = d.id))
				    ORDER BY d.round), '[]')
				FROM defenses d JOIN users ev ON ev.id = d.evaluator_id
				WHERE d.attempt_id = t.id)) ORDER BY t.position), '[]')
			FROM attempts t JOIN projects j ON j.id = t.project_id
			WHERE t.enrollment_id = e.id),
		    'reports', (SELECT coalesce(json_agg(json_build_object('category', r.category,
			    'outcome', r.outcome) ORDER BY r.id), '[]')
			FROM reports r WHERE r.enrollment_id = e.id),
		    'skills_map', (SELECT coalesce(json_agg(json_build_object('project_code', j.code,
			    'skill_code', k.code, 'skill_title', k.title,
			    'acquired', coalesce(ds.acquired, false), 'defense_id', d.id)
			    ORDER BY t.position, k.id), '[]')
			FROM attempts t JOIN projects j ON j.id = t.project_id
			JOIN skills k ON k.project_id = j.id
			LEFT JOIN defenses d ON d.attempt_id = t.id AND d.round = t.round
			    AND d.state = 'decided'
			LEFT JOIN defense_skills ds ON ds.defense_id = d.id AND ds.skill_id = k.id
			WHERE t.enrollment_id = e.id))
		FROM jury_cases c JOIN enrollments e ON e.id = c.enrollment_id
		JOIN users u ON u.id = e.student_id
		WHERE c.id = p_case
	);
END
$$;

-- As in 0004, the note gap measured from api.now.
CREATE OR REPLACE FUNCTION api.alert_list(p_token text, p_request_id text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	p_gap_days int := (p_settings ->> 'note_gap_days')::int;
	v_now timestamptz := api.now(p_settings);
	v_soon interval := make_interval(days => (p_settings ->> 'report_reminder_days')::int);
	v_enrollments json;
	v_reports json;
BEGIN
	a := api.authorize(p_token, '{pedagogy,admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT coalesce(json_agg(json_build_object('kind', 'enrollment',
	    'enrollment_id', e.id,
	    'student_id', e.student_id, 'mentor_id', e.mentor_id, 'path_id', e.path_id,
	    'reason', CASE WHEN e.last_note_at_risk THEN 'at_risk' ELSE 'no_recent_note' END,
	    'last_note_week', e.last_note_week, 'last_note_at', e.last_note_at,
	    'detail', CASE WHEN e.last_note_at_risk
			   THEN 'the latest weekly note says the student is at risk'
			   ELSE format('no weekly note for more than %s days', p_gap_days) END)
	    ORDER BY e.id), '[]')
	INTO v_enrollments
	FROM enrollments e
	WHERE e.state = 'in_progress'
	  AND (e.last_note_at_risk
	       OR coalesce(e.last_note_at, e.created_at) < v_now - make_interval(days => p_gap_days));
	SELECT coalesce(json_agg(json_build_object('kind', 'report', 'report_id', x.id,
	    'reason', x.reason, 'due_at', x.due_at,
	    'detail', CASE x.reason
		WHEN 'acknowledgement_overdue' THEN 'the report was not acknowledged in time'
		WHEN 'acknowledgement_due_soon' THEN 'the report must be acknowledged soon'
		WHEN 'feedback_overdue' THEN 'the reporter did not get feedback in time'
		ELSE 'the reporter must get feedback soon' END)
	    ORDER BY x.due_at, x.id), '[]')
	INTO v_reports
	FROM (SELECT r.id,
		     CASE WHEN r.state = 'received' THEN r.ack_due_at ELSE r.feedback_due_at END AS due_at,
		     CASE WHEN r.state = 'received' AND v_now > r.ack_due_at THEN 'acknowledgement_overdue'
			  WHEN r.state = 'received' THEN 'acknowledgement_due_soon'
			  WHEN v_now > r.feedback_due_at THEN 'feedback_overdue'
			  ELSE 'feedback_due_soon' END AS reason
	      FROM reports r
	      WHERE (r.state = 'received' AND r.ack_due_at - v_soon <= v_now)
		 OR (r.state = 'acknowledged' AND r.feedback_due_at - v_soon <= v_now)) x;
	status := 200;
	SELECT json_agg(j) INTO body
	FROM (SELECT json_array_elements(v_enrollments) j
	      UNION ALL SELECT json_array_elements(v_reports)) u;
	body := coalesce(body, '[]');
END
$$;
