-- 0005_jury: diploma jury sessions and their members, cases, the dossier a
-- jury reads, votes and decisions, and the extra project a jury may ask for.
-- Signed credentials are issued from awarded enrollments by a later
-- migration; until then an award moves the enrollment to `awarded`.

CREATE TABLE jury_sessions (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	path_id		bigint NOT NULL REFERENCES paths (id),
	scheduled_at	timestamptz NOT NULL,
	created_by	bigint NOT NULL REFERENCES users (id),
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jury_members (
	session_id	bigint NOT NULL REFERENCES jury_sessions (id),
	user_id		bigint NOT NULL REFERENCES users (id),
	category	text NOT NULL CHECK (category IN ('expert', 'recruiter', 'pedagogy', 'mentor')),
	PRIMARY KEY (session_id, user_id)
);
CREATE INDEX jury_members_user ON jury_members (user_id);

CREATE TABLE jury_cases (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	session_id	bigint NOT NULL REFERENCES jury_sessions (id),
	enrollment_id	bigint NOT NULL REFERENCES enrollments (id),
	state		text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'decided')),
	decision	text CHECK (decision IN ('award', 'extra_project', 'refuse')),
	decided_by	text CHECK (decided_by IN ('votes', 'pedagogy')),
	decided_at	timestamptz,
	extra_project_id bigint REFERENCES projects (id),
	interview	boolean,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((state = 'decided') = (decision IS NOT NULL))
);
CREATE UNIQUE INDEX jury_cases_one_open ON jury_cases (enrollment_id) WHERE state = 'open';
CREATE INDEX jury_cases_session ON jury_cases (session_id);

CREATE TABLE jury_votes (
	case_id		bigint NOT NULL REFERENCES jury_cases (id),
	member_id	bigint NOT NULL REFERENCES users (id),
	decision	text NOT NULL CHECK (decision IN ('award', 'extra_project', 'refuse')),
	comment		text NOT NULL,
	voted_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (case_id, member_id)
);

CREATE INDEX notes_enrollment ON notes (enrollment_id, week);

------------------------------------------------------------------------
-- Sessions and cases (pedagogy)
------------------------------------------------------------------------

CREATE FUNCTION api.jury_session_json(p_id bigint) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', s.id, 'path_id', s.path_id,
	    'scheduled_at', s.scheduled_at, 'created_at', s.created_at,
	    'members', (SELECT coalesce(json_agg(json_build_object('id', u.id, 'name', u.name,
			    'category', m.category) ORDER BY u.id), '[]')
			FROM jury_members m JOIN users u ON u.id = m.user_id
			WHERE m.session_id = s.id),
	    'cases', (SELECT coalesce(json_agg(json_build_object('id', c.id,
			    'enrollment_id', c.enrollment_id, 'state', c.state,
			    'decision', c.decision, 'decided_at', c.decided_at,
			    'votes', (SELECT count(*) FROM jury_votes v WHERE v.case_id = c.id))
			    ORDER BY c.id), '[]')
		      FROM jury_cases c WHERE c.session_id = s.id))
	FROM jury_sessions s WHERE s.id = p_id
$$;

-- POST /v1/jury-sessions (pedagogy) {path_id, scheduled_at, members}
CREATE FUNCTION api.jury_session_create(p_token text, p_request_id text, p_body jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	v_path bigint := (p_body ->> 'path_id')::bigint;
	v_members bigint[] := ARRAY(SELECT jsonb_array_elements_text(p_body -> 'members')::bigint);
	v_bad int;
	v_missing text;
	v_id bigint;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM paths WHERE id = v_path) THEN
		status := 422; body := api.err('no such path', 'path_id'); RETURN;
	END IF;
	SELECT min(o - 1) INTO v_bad
	FROM unnest(v_members) WITH ORDINALITY AS m (id, o)
	WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.id AND 'jury' = ANY (u.roles))
	   OR o > (SELECT min(o2) FROM unnest(v_members) WITH ORDINALITY AS m2 (id2, o2)
		   WHERE m2.id2 = m.id);
	IF v_bad IS NOT NULL THEN
		status := 422;
		body := api.err('names no user with the jury role, or one already named',
		    format('members[%s]', v_bad));
		RETURN;
	END IF;
	SELECT string_agg(c, ', ' ORDER BY c) INTO v_missing
	FROM unnest(ARRAY['expert', 'recruiter', 'pedagogy', 'mentor']) c
	WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = ANY (v_members)
			  AND u.jury_category = c);
	IF v_missing IS NOT NULL THEN
		status := 422;
		body := api.err('a jury needs at least one expert, one recruiter, one pedagogy '
		    'member and one mentor; missing: ' || v_missing, 'members');
		RETURN;
	END IF;
	INSERT INTO jury_sessions (path_id, scheduled_at, created_by)
	VALUES (v_path, (p_body ->> 'scheduled_at')::timestamptz, a.user_id)
	RETURNING id INTO v_id;
	INSERT INTO jury_members (session_id, user_id, category)
	SELECT v_id, u.id, u.jury_category FROM users u WHERE u.id = ANY (v_members);
	PERFORM api.audit(a.user_id, p_request_id, 'jury_session.create', 'jury_session', v_id,
	    jsonb_build_object('path_id', v_path, 'members', v_members));
	status := 201;
	body := api.jury_session_json(v_id);
END
$$;

-- May the caller read session S's cases? Its members and pedagogy.
CREATE FUNCTION api.jury_reader(p_user bigint, p_roles text[], p_session bigint)
RETURNS boolean LANGUAGE sql STABLE AS $$
	SELECT 'pedagogy' = ANY (p_roles)
	    OR EXISTS (SELECT 1 FROM jury_members m WHERE m.session_id = p_session
		       AND m.user_id = p_user)
$$;

-- GET /v1/jury-sessions/{id} (its members, pedagogy; 404 to others)
CREATE FUNCTION api.jury_session_get(p_token text, p_request_id text, p_id bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, NULL);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM jury_sessions WHERE id = p_id)
	    OR NOT api.jury_reader(a.user_id, a.roles, p_id) THEN
		status := 404; body := api.err('no such jury session'); RETURN;
	END IF;
	status := 200;
	body := api.jury_session_json(p_id);
END
$$;

-- POST /v1/jury-sessions/{id}/cases {enrollment_id} (pedagogy)
CREATE FUNCTION api.jury_case_create(p_token text, p_request_id text, p_session bigint,
	p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	s jury_sessions;
	e enrollments;
	v_conflict text;
	v_id bigint;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO s FROM jury_sessions WHERE id = p_session;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such jury session'); RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = (p_body ->> 'enrollment_id')::bigint FOR UPDATE;
	IF NOT FOUND THEN
		status := 422; body := api.err('no such enrollment', 'enrollment_id'); RETURN;
	ELSIF e.path_id <> s.path_id THEN
		status := 422; body := api.err('the enrollment is on another path than the session', 'enrollment_id'); RETURN;
	ELSIF e.kind <> 'diploma' OR e.state <> 'awaiting_jury' THEN
		status := 409; body := api.err(format('the enrollment is %s, not a diploma awaiting the jury', e.state)); RETURN;
	ELSIF api.enrollment_has_open_report(e.id) THEN
		status := 409; body := api.err('a fraud report about this enrollment is still open'); RETURN;
	END IF;
	-- nobody judges a student they mentored, evaluated or reviewed
	SELECT format('%s (user %s) %s', u.name, u.id, x.why) INTO v_conflict
	FROM jury_members m JOIN users u ON u.id = m.user_id
	CROSS JOIN LATERAL (
		SELECT 'is the student''s mentor' AS why
		WHERE EXISTS (SELECT 1 FROM enrollments e2 WHERE e2.student_id = e.student_id
			      AND e2.mentor_id = m.user_id)
		UNION ALL
		SELECT 'evaluated one of the student''s defenses'
		WHERE EXISTS (SELECT 1 FROM defenses d JOIN attempts t ON t.id = d.attempt_id
			      JOIN enrollments e2 ON e2.id = t.enrollment_id
			      WHERE e2.student_id = e.student_id AND d.evaluator_id = m.user_id)
		UNION ALL
		SELECT 'reviewed one of the student''s defenses'
		WHERE EXISTS (SELECT 1 FROM reviews r JOIN defenses d ON d.id = r.defense_id
			      JOIN attempts t ON t.id = d.attempt_id
			      JOIN enrollments e2 ON e2.id = t.enrollment_id
			      WHERE e2.student_id = e.student_id AND r.reviewer_id = m.user_id)) x
	WHERE m.session_id = s.id
	ORDER BY u.id LIMIT 1;
	IF v_conflict IS NOT NULL THEN
		status := 409; body := api.err('a member of this session may not judge this student: ' || v_conflict);
		RETURN;
	END IF;
	INSERT INTO jury_cases (session_id, enrollment_id) VALUES (s.id, e.id)
	ON CONFLICT DO NOTHING RETURNING id INTO v_id;
	IF v_id IS NULL THEN
		status := 409; body := api.err('this enrollment already has an open jury case'); RETURN;
	END IF;
	PERFORM api.audit(a.user_id, p_request_id, 'jury_case.create', 'jury_case', v_id,
	    jsonb_build_object('session_id', s.id, 'enrollment_id', e.id));
	status := 201;
	body := api.jury_case_json(v_id, true);
END
$$;

------------------------------------------------------------------------
-- Cases: what the jury reads, votes, decisions
------------------------------------------------------------------------

CREATE FUNCTION api.jury_case_json(p_id bigint, p_with_votes boolean) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', c.id, 'session_id', c.session_id,
	    'enrollment_id', c.enrollment_id, 'state', c.state, 'decision', c.decision,
	    'decided_by', c.decided_by, 'decided_at', c.decided_at,
	    'extra_project_id', c.extra_project_id, 'interview', c.interview,
	    'members', (SELECT count(*) FROM jury_members m WHERE m.session_id = c.session_id),
	    'votes', CASE WHEN p_with_votes THEN
		(SELECT coalesce(json_agg(json_build_object('member_id', v.member_id,
		    'decision', v.decision, 'comment', v.comment, 'voted_at', v.voted_at)
		    ORDER BY v.member_id), '[]') FROM jury_votes v WHERE v.case_id = c.id) END)
	FROM jury_cases c WHERE c.id = p_id
$$;

-- The dossier, in one answer: notes, deliverables, defenses, blind reviews,
-- disagreements, fraud reports (category and outcome only) and the skills map.
CREATE FUNCTION api.dossier_json(p_case bigint) RETURNS json LANGUAGE sql STABLE AS $$
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
			    'deliverables', api.deliverables_json(t.id, d.round),
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
		    'state', r.state, 'outcome', r.outcome) ORDER BY r.id), '[]')
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
$$;

-- Authenticates a reader of case P_CASE (its session's members, pedagogy).
CREATE FUNCTION api.authorize_case_reader(p_token text, p_case bigint,
	OUT user_id bigint, OUT roles text[], OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	v_session bigint;
BEGIN
	a := api.authorize(p_token, NULL);
	user_id := a.user_id; roles := a.roles; status := a.status; body := a.body;
	IF a.status <> 0 THEN
		RETURN;
	END IF;
	SELECT session_id INTO v_session FROM jury_cases WHERE id = p_case;
	IF v_session IS NULL OR NOT api.jury_reader(a.user_id, a.roles, v_session) THEN
		status := 404; body := api.err('no such jury case');
	END IF;
END
$$;

-- GET /v1/jury-cases/{id}/dossier (the session's members, pedagogy)
CREATE FUNCTION api.jury_dossier(p_token text, p_request_id text, p_case bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize_case_reader(p_token, p_case);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	body := api.dossier_json(p_case);
END
$$;

-- GET /v1/jury-cases/{id} (the session's members, pedagogy): the votes too
CREATE FUNCTION api.jury_case_get(p_token text, p_request_id text, p_case bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize_case_reader(p_token, p_case);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	body := api.jury_case_json(p_case, true);
END
$$;

-- Decides case C from its votes: the most voted decision; a tie asks for
-- one more project. Moves the enrollment for award and refuse; an extra
-- project waits for pedagogy to define it.
CREATE FUNCTION api.jury_decide(c jury_cases, p_by text, p_actor bigint, p_request_id text)
RETURNS jury_cases LANGUAGE plpgsql AS $$
DECLARE
	v_decision text;
	e enrollments;
	v_event text;
BEGIN
	SELECT CASE WHEN count(*) FILTER (WHERE n = top) > 1 THEN 'extra_project'
		    ELSE max(decision) FILTER (WHERE n = top) END
	INTO v_decision
	FROM (SELECT decision, count(*) AS n, max(count(*)) OVER () AS top
	      FROM jury_votes WHERE case_id = c.id GROUP BY decision) x;
	UPDATE jury_cases SET state = api.transition('jury_case', c.state, 'decide',
	    CASE WHEN p_by = 'votes' THEN 'jury' ELSE 'pedagogy' END),
	    decision = v_decision, decided_by = p_by, decided_at = now()
	WHERE id = c.id RETURNING * INTO c;
	PERFORM api.audit(p_actor, p_request_id, 'jury_case.decide', 'jury_case', c.id,
	    jsonb_build_object('decision', v_decision, 'by', p_by));
	IF v_decision IN ('award', 'refuse') THEN
		SELECT * INTO e FROM enrollments WHERE id = c.enrollment_id FOR UPDATE;
		v_event := v_decision;
		UPDATE enrollments SET state = api.transition('enrollment', e.state, v_event, 'jury'),
		    updated_at = now()
		WHERE id = e.id RETURNING * INTO e;
		PERFORM api.audit(NULL, p_request_id, 'enrollment.' || e.state, 'enrollment', e.id,
		    jsonb_build_object('jury_case_id', c.id));
	END IF;
	RETURN c;
END
$$;

-- POST /v1/jury-cases/{id}/votes {decision, comment} (the session's members)
CREATE FUNCTION api.jury_vote(p_token text, p_request_id text, p_case bigint,
	p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	c jury_cases;
	v_members int;
	v_votes int;
	v_state text;
BEGIN
	a := api.authorize(p_token, '{jury}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO c FROM jury_cases WHERE id = p_case FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such jury case'); RETURN;
	ELSIF NOT EXISTS (SELECT 1 FROM jury_members WHERE session_id = c.session_id
			  AND user_id = a.user_id) THEN
		status := 403; body := api.err('only the members of this case''s session vote'); RETURN;
	ELSIF c.state <> 'open' THEN
		status := 409; body := api.err(format('the case is %s', c.state)); RETURN;
	END IF;
	-- a project may have gone back to the mentor (overturn, fraud report) meanwhile
	SELECT state INTO v_state FROM enrollments WHERE id = c.enrollment_id FOR UPDATE;
	IF v_state <> 'awaiting_jury' THEN
		status := 409;
		body := api.err(format('the enrollment is %s; this case cannot be decided', v_state));
		RETURN;
	END IF;
	INSERT INTO jury_votes AS v (case_id, member_id, decision, comment)
	VALUES (c.id, a.user_id, p_body ->> 'decision', p_body ->> 'comment')
	ON CONFLICT (case_id, member_id) DO UPDATE
	SET decision = excluded.decision, comment = excluded.comment, voted_at = now();
	PERFORM api.audit(a.user_id, p_request_id, 'jury_case.vote', 'jury_case', c.id,
	    jsonb_build_object('decision', p_body ->> 'decision'));
	SELECT count(*) INTO v_members FROM jury_members WHERE session_id = c.session_id;
	SELECT count(*) INTO v_votes FROM jury_votes WHERE case_id = c.id;
	IF v_votes = v_members THEN
		c := api.jury_decide(c, 'votes', NULL, p_request_id);
	END IF;
	status := 200;
	body := api.jury_case_json(c.id, true);
END
$$;

-- POST /v1/jury-cases/{id}/close (pedagogy): decides before every member
-- voted, once jury_quorum (0: every member) have.
CREATE FUNCTION api.jury_close(p_token text, p_request_id text, p_case bigint,
	p_body jsonb, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	c jury_cases;
	v_members int;
	v_votes int;
	v_quorum int;
	v_state text;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO c FROM jury_cases WHERE id = p_case FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such jury case'); RETURN;
	ELSIF c.state <> 'open' THEN
		status := 409; body := api.err(format('the case is %s', c.state)); RETURN;
	END IF;
	SELECT state INTO v_state FROM enrollments WHERE id = c.enrollment_id FOR UPDATE;
	IF v_state <> 'awaiting_jury' THEN
		status := 409;
		body := api.err(format('the enrollment is %s; this case cannot be decided', v_state));
		RETURN;
	END IF;
	SELECT count(*) INTO v_members FROM jury_members WHERE session_id = c.session_id;
	SELECT count(*) INTO v_votes FROM jury_votes WHERE case_id = c.id;
	v_quorum := coalesce(nullif((p_settings ->> 'jury_quorum')::int, 0), v_members);
	IF v_votes < least(v_quorum, v_members) THEN
		status := 409;
		body := api.err(format('%s of %s members voted; the quorum is %s', v_votes, v_members,
		    least(v_quorum, v_members)));
		RETURN;
	END IF;
	c := api.jury_decide(c, 'pedagogy', a.user_id, p_request_id);
	status := 200;
	body := api.jury_case_json(c.id, true);
END
$$;

-- POST /v1/jury-cases/{id}/extra-project {title, skills, interview} (pedagogy):
-- the project the jury asked for joins the mentor loop of that student alone.
CREATE FUNCTION api.jury_extra_project(p_token text, p_request_id text, p_case bigint,
	p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	c jury_cases;
	e enrollments;
	v_project bigint;
	v_position int;
	v_bad text;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO c FROM jury_cases WHERE id = p_case FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such jury case'); RETURN;
	ELSIF c.decision IS DISTINCT FROM 'extra_project' OR c.extra_project_id IS NOT NULL THEN
		status := 409;
		body := api.err('only a case decided extra_project, once, takes an extra project');
		RETURN;
	END IF;
	SELECT format('skills[%s].code', o - 1) INTO v_bad
	FROM jsonb_array_elements(p_body -> 'skills') WITH ORDINALITY AS x (s, o)
	WHERE o > (SELECT min(o2) FROM jsonb_array_elements(p_body -> 'skills')
		   WITH ORDINALITY AS y (s2, o2) WHERE y.s2 ->> 'code' = x.s ->> 'code')
	ORDER BY o LIMIT 1;
	IF v_bad IS NOT NULL THEN
		status := 422; body := api.err('names a skill already listed', v_bad); RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = c.enrollment_id FOR UPDATE;
	SELECT coalesce(max(position), 0) + 1 INTO v_position FROM attempts WHERE enrollment_id = e.id;
	INSERT INTO projects (path_id, position, code, title, enrollment_id)
	VALUES (e.path_id, v_position, format('extra-%s', c.id), p_body ->> 'title', e.id)
	RETURNING id INTO v_project;
	INSERT INTO skills (project_id, code, title)
	SELECT v_project, s ->> 'code', s ->> 'title' FROM jsonb_array_elements(p_body -> 'skills') s;
	INSERT INTO attempts (enrollment_id, project_id, position, state)
	VALUES (e.id, v_project, v_position, 'mentoring');
	UPDATE jury_cases SET extra_project_id = v_project,
	    interview = (p_body ->> 'interview')::boolean
	WHERE id = c.id;
	UPDATE enrollments SET state = api.transition('enrollment', e.state, 'extra_project', 'pedagogy'),
	    updated_at = now()
	WHERE id = e.id;
	PERFORM api.audit(a.user_id, p_request_id, 'jury_case.extra_project', 'jury_case', c.id,
	    jsonb_build_object('project_id', v_project, 'interview', (p_body ->> 'interview')::boolean));
	status := 201;
	body := json_build_object('case', api.jury_case_json(c.id, false),
	    'enrollment', api.enrollment_json(e.id));
END
$$;
