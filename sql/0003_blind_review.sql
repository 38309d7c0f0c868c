-- 0003_blind_review: verdicts sampled for a double-blind review (replayable),
-- reviewers drawn like evaluators, the reviewers' verdicts, disagreements and
-- their resolution, and the per-evaluator calibration counters kept in the
-- transaction that submits each review (docs/REVIEW.md).
--
-- Blindness: no function a reviewer can call returns, for the reviewed
-- defense, its verdict, per-skill results, comment, evaluator or other
-- reviews; the original evaluator and the student never see reviews.

ALTER TABLE attempts ADD COLUMN reopened_reason text;

-- Each verdict's sampling decision, with what is needed to replay it.
CREATE TABLE review_samples (
	defense_id	bigint PRIMARY KEY REFERENCES defenses (id),
	seed		bytea NOT NULL CHECK (length(seed) = 32),
	probability	double precision NOT NULL CHECK (probability BETWEEN 0 AND 1),
	factors		text[] NOT NULL,
	sampled		boolean NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reviews (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	defense_id	bigint NOT NULL REFERENCES defenses (id),
	reviewer_id	bigint NOT NULL REFERENCES users (id),
	draw_id		bigint NOT NULL REFERENCES draws (id),
	original_evaluator_id bigint NOT NULL REFERENCES users (id),
	requested_by	text NOT NULL CHECK (requested_by IN ('sample', 'pedagogy')),
	requester_id	bigint REFERENCES users (id),
	state		text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'submitted')),
	due_at		timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	verdict		text CHECK (verdict IN ('validated', 'needs_improvement')),
	comment		text,
	submitted_at	timestamptz,
	UNIQUE (defense_id, reviewer_id),
	CHECK ((state = 'submitted') = (verdict IS NOT NULL))
);
CREATE INDEX reviews_pending_reviewer ON reviews (reviewer_id) WHERE state = 'pending';
CREATE INDEX reviews_pending_due ON reviews (due_at) WHERE state = 'pending';
CREATE INDEX reviews_calibration ON reviews (original_evaluator_id, submitted_at)
	WHERE state = 'submitted';
CREATE INDEX reviews_defense ON reviews (defense_id);

CREATE TABLE review_skills (
	review_id	bigint NOT NULL REFERENCES reviews (id),
	skill_id	bigint NOT NULL REFERENCES skills (id),
	acquired	boolean NOT NULL,
	PRIMARY KEY (review_id, skill_id)
);

CREATE TABLE disagreements (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	review_id	bigint NOT NULL UNIQUE REFERENCES reviews (id),
	defense_id	bigint NOT NULL REFERENCES defenses (id),
	state		text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'resolved')),
	skill_differences jsonb NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	outcome		text CHECK (outcome IN ('original_upheld', 'original_overturned')),
	comment		text,
	resolved_by	bigint REFERENCES users (id),
	resolved_at	timestamptz,
	CHECK ((state = 'resolved') = (outcome IS NOT NULL))
);
CREATE INDEX disagreements_state ON disagreements (state, created_at);

-- The 2x2 agreement table of each evaluator against their reviewers
-- (original x reviewer), kept by api.review_verdict: calibration reads one
-- row instead of scanning reviews.
CREATE TABLE evaluator_calibration (
	evaluator_id	bigint PRIMARY KEY REFERENCES users (id),
	vv		bigint NOT NULL DEFAULT 0,	-- both validated
	vn		bigint NOT NULL DEFAULT 0,	-- evaluator validated, reviewer would not (leniency)
	nv		bigint NOT NULL DEFAULT 0,	-- the reverse (severity)
	nn		bigint NOT NULL DEFAULT 0,
	overturned	bigint NOT NULL DEFAULT 0,	-- disagreements resolved against the evaluator
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE evaluator_skill_disagreements (
	evaluator_id	bigint NOT NULL REFERENCES users (id),
	skill_id	bigint NOT NULL REFERENCES skills (id),
	disagreements	bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (evaluator_id, skill_id)
);

ALTER TABLE evaluator_misses ADD COLUMN review_id bigint REFERENCES reviews (id);
ALTER TABLE evaluator_misses ALTER COLUMN defense_id DROP NOT NULL;
ALTER TABLE evaluator_misses DROP CONSTRAINT evaluator_misses_kind_check;
ALTER TABLE evaluator_misses ADD CONSTRAINT evaluator_misses_kind_check
	CHECK (kind IN ('deadline', 'reassigned', 'review_deadline'));
ALTER TABLE evaluator_misses ADD CONSTRAINT evaluator_misses_subject
	CHECK ((defense_id IS NULL) <> (review_id IS NULL));

-- A reviewer (present, or reassigned away) of any defense of the student's
-- enrollment is never drawn to evaluate a later defense of it: a new round,
-- or the next project, tells the verdict they review.
CREATE OR REPLACE FUNCTION api.attempt_reviewers(p_attempt bigint) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(DISTINCT x.id), '{}')
	FROM attempts t
	JOIN attempts t2 ON t2.enrollment_id = t.enrollment_id
	JOIN defenses d ON d.attempt_id = t2.id
	JOIN reviews r ON r.defense_id = d.id
	CROSS JOIN LATERAL (SELECT r.reviewer_id AS id
			    UNION SELECT m.evaluator_id FROM evaluator_misses m
				  WHERE m.review_id = r.id) x
	WHERE t.id = p_attempt
$$;

-- Who evaluated defense D or any later defense of the same enrollment: a
-- reviewer of D must not be among them (a later round, or the next project,
-- tells D's verdict).
CREATE FUNCTION api.later_evaluators(d defenses) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(DISTINCT d2.evaluator_id), '{}')
	FROM attempts t
	JOIN attempts t2 ON t2.enrollment_id = t.enrollment_id
	JOIN defenses d2 ON d2.attempt_id = t2.id
	WHERE t.id = d.attempt_id AND d2.id >= d.id
$$;

-- Everyone ever drawn to review defense P_DEFENSE, reassigned-away ones too.
CREATE FUNCTION api.defense_reviewers(p_defense bigint) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(DISTINCT x.id), '{}')
	FROM reviews r
	CROSS JOIN LATERAL (SELECT r.reviewer_id AS id
			    UNION SELECT m.evaluator_id FROM evaluator_misses m
				  WHERE m.review_id = r.id) x
	WHERE r.defense_id = p_defense
$$;

-- The draw's load for reviews is the reviewer's open reviews.
CREATE OR REPLACE FUNCTION api.open_load(p_kind text, p_evaluator bigint)
RETURNS int LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_kind = 'review'
		    THEN (SELECT count(*)::int FROM reviews r
			  WHERE r.reviewer_id = p_evaluator AND r.state = 'pending')
		    ELSE (SELECT count(*)::int FROM defenses d
			  WHERE d.evaluator_id = p_evaluator AND d.state = 'pending') END
$$;

-- The enrollment view says why a project went back to the mentor.
CREATE OR REPLACE FUNCTION api.attempt_json(a attempts) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', a.id, 'project_id', a.project_id,
	    'project_code', j.code, 'project_title', j.title, 'position', a.position,
	    'state', a.state, 'round', a.round, 'reopened_reason', a.reopened_reason,
	    'rounds', coalesce((
		SELECT jsonb_agg(jsonb_build_object('round', r,
		    'deliverables', api.deliverables_json(a.id, r),
		    'defense', (SELECT api.defense_json(d) FROM defenses d
				WHERE d.attempt_id = a.id AND d.round = r))
		    ORDER BY r)
		FROM generate_series(1, a.round) r), '[]'))
	FROM projects j WHERE j.id = a.project_id
$$;

------------------------------------------------------------------------
-- Sampling: the same rule as lib/sampling.c
------------------------------------------------------------------------

-- The first 56 bits of SHA-256(seed || "sample"): a uniform integer below 2^56.
CREATE FUNCTION api.sample_value(p_seed bytea) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT ('x' || encode(substr(sha256(p_seed || '\x73616d706c65'::bytea), 1, 7),
	    'hex'))::bit(56)::bigint
$$;

-- Sampled when value < ceil(probability * 2^56), exactly as lib/sampling.c
-- decides (integers, so both sides agree bit for bit).
CREATE FUNCTION api.sample_decide(p_seed bytea, p_probability double precision)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT api.sample_value(p_seed) <
	    ceil(p_probability * 72057594037927936::double precision)::numeric
$$;

-- Is a fraud report open on this attempt's project? The whistleblowing
-- migration replaces this; until then, none is.
CREATE FUNCTION api.fraud_report_open(p_attempt bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT false $$;

-- review_rate, x2 with few reviewed defenses, x2 with a low agreement rate,
-- x1.5 when the enrollment is at risk, 1 with an open fraud report; at most 1.
CREATE FUNCTION api.sample_probability(p_settings jsonb, p_evaluator bigint,
	p_at_risk boolean, p_fraud boolean,
	OUT probability double precision, OUT factors text[])
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c evaluator_calibration;
	v_n bigint;
BEGIN
	probability := (p_settings ->> 'review_rate')::double precision;
	factors := '{}';
	SELECT * INTO c FROM evaluator_calibration WHERE evaluator_id = p_evaluator;
	v_n := coalesce(c.vv + c.vn + c.nv + c.nn, 0);
	IF v_n < (p_settings ->> 'calibration_min_reviews')::bigint THEN
		probability := probability * 2;
		factors := factors || 'few_reviews'::text;
	ELSIF (c.vv + c.nn)::double precision / v_n <
	    (p_settings ->> 'agreement_floor')::double precision THEN
		probability := probability * 2;
		factors := factors || 'low_agreement'::text;
	END IF;
	IF p_at_risk THEN
		probability := probability * 1.5;
		factors := factors || 'at_risk'::text;
	END IF;
	IF p_fraud THEN
		probability := 1;
		factors := factors || 'fraud_report'::text;
	END IF;
	probability := least(probability, 1);
END
$$;

-- Opens a review of defense D: draws a reviewer (not the evaluator, not a
-- previous reviewer of D, nor the student, mentor or a conflicted one).
-- Returns the review, or NULL when nobody is eligible.
CREATE FUNCTION api.review_open(d defenses, p_requested_by text, p_requester bigint,
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
	    api.later_evaluators(d) || api.defense_reviewers(d.id),
	    p_seed);
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

-- Samples a fresh verdict for a blind review (called by api.defense_verdict).
CREATE OR REPLACE FUNCTION api.after_verdict(d defenses, p_request_id text,
	p_sample_seed bytea, p_draw_seed bytea, p_settings jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	e enrollments;
	sp record;
	v_sampled boolean;
BEGIN
	SELECT e2.* INTO e FROM enrollments e2 JOIN attempts t ON t.enrollment_id = e2.id
	WHERE t.id = d.attempt_id;
	sp := api.sample_probability(p_settings, d.evaluator_id, e.last_note_at_risk,
	    api.fraud_report_open(d.attempt_id));
	v_sampled := api.sample_decide(p_sample_seed, sp.probability);
	INSERT INTO review_samples (defense_id, seed, probability, factors, sampled)
	VALUES (d.id, p_sample_seed, sp.probability, sp.factors, v_sampled);
	IF v_sampled AND (api.review_open(d, 'sample', NULL, p_request_id, p_draw_seed,
	    p_settings)).id IS NULL THEN
		-- sampled, but nobody may review it: pedagogy sees it in the audit log
		PERFORM api.audit(NULL, p_request_id, 'review.unassigned', 'defense', d.id,
		    jsonb_build_object('detail', 'no eligible reviewer'));
	END IF;
END
$$;

------------------------------------------------------------------------
-- Routes
------------------------------------------------------------------------

-- POST /v1/defenses/{id}/reviews (pedagogy): a review of any decided defense.
CREATE FUNCTION api.review_request(p_token text, p_request_id text, p_defense bigint,
	p_body jsonb, p_seed text, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	d defenses;
	r reviews;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO d FROM defenses WHERE id = p_defense FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such defense'); RETURN;
	ELSIF d.state <> 'decided' THEN
		status := 409; body := api.err('the defense is pending; only a decided defense is reviewed'); RETURN;
	END IF;
	r := api.review_open(d, 'pedagogy', a.user_id, p_request_id, decode(p_seed, 'hex'),
	    p_settings);
	IF r.id IS NULL THEN
		status := 409; body := api.err('no eligible reviewer for this defense'); RETURN;
	END IF;
	status := 201;
	body := json_build_object('id', r.id, 'defense_id', r.defense_id,
	    'reviewer_id', r.reviewer_id, 'due_at', r.due_at, 'state', r.state);
END
$$;

-- GET /v1/reviews?mine=1 (evaluator): what a reviewer needs, nothing else.
-- Without mine (pedagogy, admin): every pending review, with its reviewer.
CREATE FUNCTION api.review_list(p_token text, p_request_id text, p_query jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	v_mine boolean := coalesce(p_query ->> 'mine', '0') IN ('1', 'true');
BEGIN
	a := api.authorize(p_token, CASE WHEN v_mine THEN '{evaluator}'::text[]
				      ELSE '{pedagogy,admin}'::text[] END);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	SELECT coalesce(json_agg(json_strip_nulls(json_build_object('id', r.id,
	    'due_at', r.due_at,
	    'reviewer_id', CASE WHEN NOT v_mine THEN r.reviewer_id END,
	    'project', json_build_object('code', j.code, 'title', j.title,
		'skills', (SELECT coalesce(json_agg(json_build_object('code', s.code,
			    'title', s.title) ORDER BY s.id), '[]')
			   FROM skills s WHERE s.project_id = j.id)),
	    'deliverables', api.deliverables_json(t.id, d.round),
	    'recording', json_build_object('uri', d.recording_uri, 'sha256', d.recording_sha256)))
	    ORDER BY r.due_at, r.id), '[]')
	INTO body
	FROM reviews r
	JOIN defenses d ON d.id = r.defense_id
	JOIN attempts t ON t.id = d.attempt_id
	JOIN projects j ON j.id = t.project_id
	WHERE r.state = 'pending' AND (NOT v_mine OR r.reviewer_id = a.user_id);
END
$$;

-- Adds one review's comparison to the evaluator's calibration counters.
CREATE FUNCTION api.calibration_count(p_evaluator bigint, p_original text, p_reviewer text)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO evaluator_calibration AS c (evaluator_id, vv, vn, nv, nn)
	VALUES (p_evaluator,
	    (p_original = 'validated' AND p_reviewer = 'validated')::int,
	    (p_original = 'validated' AND p_reviewer = 'needs_improvement')::int,
	    (p_original = 'needs_improvement' AND p_reviewer = 'validated')::int,
	    (p_original = 'needs_improvement' AND p_reviewer = 'needs_improvement')::int)
	ON CONFLICT (evaluator_id) DO UPDATE
	SET vv = c.vv + excluded.vv, vn = c.vn + excluded.vn, nv = c.nv + excluded.nv,
	    nn = c.nn + excluded.nn, updated_at = now()
$$;

-- POST /v1/reviews/{id}/verdict (the drawn reviewer). Another caller gets
-- the same 404 as for a review that does not exist.
CREATE FUNCTION api.review_verdict(p_token text, p_request_id text, p_review bigint,
	p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	r reviews;
	d defenses;
	v_project bigint;
	v_verdict text := p_body ->> 'verdict';
	v_problem json;
	v_diff jsonb;
	v_next text;
BEGIN
	a := api.authorize(p_token, '{evaluator}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO r FROM reviews WHERE id = p_review FOR UPDATE;
	IF NOT FOUND OR r.reviewer_id <> a.user_id THEN
		status := 404; body := api.err('no such review'); RETURN;
	END IF;
	v_next := api.transition('review', r.state, 'submit', 'evaluator');
	IF v_next IS NULL THEN
		status := 409; body := api.err(format('this review is %s', r.state)); RETURN;
	END IF;
	SELECT * INTO d FROM defenses WHERE id = r.defense_id;
	SELECT project_id INTO v_project FROM attempts WHERE id = d.attempt_id;
	v_problem := api.skills_problem(v_project, p_body -> 'skills', v_verdict);
	IF v_problem IS NOT NULL THEN
		status := 422; body := v_problem; RETURN;
	END IF;

	UPDATE reviews SET state = v_next, verdict = v_verdict, comment = p_body ->> 'comment',
	    submitted_at = now()
	WHERE id = p_review RETURNING * INTO r;
	INSERT INTO review_skills (review_id, skill_id, acquired)
	SELECT p_review, k.id, (x ->> 'acquired')::boolean
	FROM jsonb_array_elements(p_body -> 'skills') x
	JOIN skills k ON k.project_id = v_project AND k.code = x ->> 'code';

	-- compare, blind to both sides: only pedagogy reads the outcome
	PERFORM api.calibration_count(d.evaluator_id, d.verdict, v_verdict);
	SELECT coalesce(jsonb_agg(jsonb_build_object('code', k.code,
	    'original', ds.acquired, 'reviewer', rs.acquired) ORDER BY k.id), '[]')
	INTO v_diff
	FROM defense_skills ds
	JOIN review_skills rs ON rs.skill_id = ds.skill_id AND rs.review_id = p_review
	JOIN skills k ON k.id = ds.skill_id
	WHERE ds.defense_id = d.id AND ds.acquired <> rs.acquired;
	INSERT INTO evaluator_skill_disagreements AS s (evaluator_id, skill_id, disagreements)
	SELECT d.evaluator_id, ds.skill_id, 1
	FROM defense_skills ds
	JOIN review_skills rs ON rs.skill_id = ds.skill_id AND rs.review_id = p_review
	WHERE ds.defense_id = d.id AND ds.acquired <> rs.acquired
	ON CONFLICT (evaluator_id, skill_id) DO UPDATE SET disagreements = s.disagreements + 1;
	IF d.verdict <> v_verdict THEN
		INSERT INTO disagreements (review_id, defense_id, skill_differences)
		VALUES (p_review, d.id, v_diff);
	END IF;
	PERFORM api.audit(a.user_id, p_request_id, 'review.submit', 'review', p_review,
	    jsonb_build_object('defense_id', d.id, 'disagreement', d.verdict <> v_verdict));
	status := 200;
	body := json_build_object('id', r.id, 'state', r.state);
END
$$;

CREATE FUNCTION api.disagreement_json(g disagreements) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', g.id, 'defense_id', g.defense_id,
	    'review_id', g.review_id, 'state', g.state,
	    'original', json_build_object('evaluator_id', d.evaluator_id, 'verdict', d.verdict),
	    'review', json_build_object('reviewer_id', r.reviewer_id, 'verdict', r.verdict),
	    'skill_differences', g.skill_differences, 'created_at', g.created_at,
	    'age_seconds', floor(extract(epoch FROM now() - g.created_at))::bigint,
	    'outcome', g.outcome, 'comment', g.comment, 'resolved_by', g.resolved_by,
	    'resolved_at', g.resolved_at)
	FROM defenses d, reviews r
	WHERE d.id = g.defense_id AND r.id = g.review_id
$$;

-- GET /v1/disagreements?state=open|resolved (pedagogy, admin)
CREATE FUNCTION api.disagreement_list(p_token text, p_request_id text, p_query jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, '{pedagogy,admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	SELECT coalesce(json_agg(api.disagreement_json(g) ORDER BY g.created_at, g.id), '[]')
	INTO body FROM disagreements g
	WHERE p_query ->> 'state' IS NULL OR g.state = p_query ->> 'state';
END
$$;

-- Sends a validated project back to the mentor after an overturn, and its
-- enrollment back to in_progress, unless the enrollment is already decided.
CREATE FUNCTION api.overturn_validated(d defenses, p_actor bigint, p_request_id text,
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
	    reopened_reason = format('a blind review overturned the validated verdict of round %s; '
		'the project returns to the mentor for a new round', d.round)
	WHERE id = t.id RETURNING * INTO t;
	PERFORM api.audit(p_actor, p_request_id, 'attempt.overturn', 'attempt', t.id,
	    jsonb_build_object('disagreement_id', p_disagreement, 'defense_id', d.id));
	IF e.state <> 'in_progress' THEN
		UPDATE enrollments SET state = api.transition('enrollment', e.state, 'reopen', 'system'),
		    updated_at = now()
		WHERE id = e.id RETURNING * INTO e;
		PERFORM api.audit(NULL, p_request_id, 'enrollment.reopen', 'enrollment', e.id,
		    jsonb_build_object('attempt_id', t.id));
	END IF;
	RETURN json_build_object('sent_back', true,
	    'attempt', json_build_object('id', t.id, 'state', t.state),
	    'enrollment', json_build_object('id', e.id, 'state', e.state));
END
$$;

-- POST /v1/disagreements/{id}/resolve (pedagogy) {outcome, comment}
CREATE FUNCTION api.disagreement_resolve(p_token text, p_request_id text, p_id bigint,
	p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	g disagreements;
	d defenses;
	v_next text;
	v_outcome text := p_body ->> 'outcome';
	v_effect json;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO g FROM disagreements WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such disagreement'); RETURN;
	END IF;
	v_next := api.transition('disagreement', g.state, 'resolve', 'pedagogy');
	IF v_next IS NULL THEN
		status := 409; body := api.err(format('the disagreement is %s', g.state)); RETURN;
	END IF;
	SELECT * INTO d FROM defenses WHERE id = g.defense_id;
	UPDATE disagreements SET state = v_next, outcome = v_outcome,
	    comment = p_body ->> 'comment', resolved_by = a.user_id, resolved_at = now()
	WHERE id = p_id RETURNING * INTO g;
	IF v_outcome = 'original_overturned' THEN
		UPDATE evaluator_calibration SET overturned = overturned + 1, updated_at = now()
		WHERE evaluator_id = d.evaluator_id;
		IF d.verdict = 'validated' THEN
			v_effect := api.overturn_validated(d, a.user_id, p_request_id, g.id);
		END IF;
	END IF;
	PERFORM api.audit(a.user_id, p_request_id, 'disagreement.resolve', 'disagreement', g.id,
	    jsonb_build_object('outcome', v_outcome, 'defense_id', d.id, 'effect', v_effect));
	status := 200;
	body := (api.disagreement_json(g)::jsonb ||
	    jsonb_build_object('effect', v_effect))::json;
END
$$;

-- The raw calibration figures of one evaluator, from the counters, or over
-- reviews submitted since P_SINCE (indexed by original evaluator and time).
-- certflowd adds the statistics (lib/stats.c).
CREATE FUNCTION api.calibration_figures(p_evaluator bigint, p_since timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_table jsonb;
	v_skills jsonb;
	v_overturned bigint;
BEGIN
	IF p_since IS NULL THEN
		SELECT jsonb_build_object('vv', vv, 'vn', vn, 'nv', nv, 'nn', nn), overturned
		INTO v_table, v_overturned
		FROM evaluator_calibration WHERE evaluator_id = p_evaluator;
		SELECT coalesce(jsonb_agg(jsonb_build_object('project_code', j.code,
		    'skill_code', k.code, 'disagreements', s.disagreements)
		    ORDER BY s.disagreements DESC, k.id), '[]')
		INTO v_skills
		FROM evaluator_skill_disagreements s
		JOIN skills k ON k.id = s.skill_id JOIN projects j ON j.id = k.project_id
		WHERE s.evaluator_id = p_evaluator;
	ELSE
		SELECT jsonb_build_object(
		    'vv', count(*) FILTER (WHERE d.verdict = 'validated' AND r.verdict = 'validated'),
		    'vn', count(*) FILTER (WHERE d.verdict = 'validated' AND r.verdict <> 'validated'),
		    'nv', count(*) FILTER (WHERE d.verdict <> 'validated' AND r.verdict = 'validated'),
		    'nn', count(*) FILTER (WHERE d.verdict <> 'validated' AND r.verdict <> 'validated'))
		INTO v_table
		FROM reviews r JOIN defenses d ON d.id = r.defense_id
		WHERE r.original_evaluator_id = p_evaluator AND r.state = 'submitted'
		  AND r.submitted_at >= p_since;
		SELECT count(*) INTO v_overturned
		FROM disagreements g JOIN defenses d ON d.id = g.defense_id
		WHERE d.evaluator_id = p_evaluator AND g.outcome = 'original_overturned'
		  AND g.resolved_at >= p_since;
		SELECT coalesce(jsonb_agg(x ORDER BY (x ->> 'disagreements')::int DESC), '[]')
		INTO v_skills
		FROM (SELECT jsonb_build_object('project_code', j.code, 'skill_code', k.code,
			     'disagreements', count(*)) AS x
		      FROM reviews r
		      JOIN review_skills rs ON rs.review_id = r.id
		      JOIN defense_skills ds ON ds.defense_id = r.defense_id AND ds.skill_id = rs.skill_id
		      JOIN skills k ON k.id = rs.skill_id JOIN projects j ON j.id = k.project_id
		      WHERE r.original_evaluator_id = p_evaluator AND r.state = 'submitted'
			AND r.submitted_at >= p_since AND rs.acquired <> ds.acquired
		      GROUP BY j.code, k.code, k.id) s;
	END IF;
	RETURN jsonb_build_object('evaluator_id', p_evaluator, 'since', p_since,
	    'table', coalesce(v_table, '{"vv": 0, "vn": 0, "nv": 0, "nn": 0}'),
	    'per_skill', coalesce(v_skills, '[]'), 'overturned', coalesce(v_overturned, 0),
	    'missed_deadlines', (SELECT count(*) FROM evaluator_misses m
				 WHERE m.evaluator_id = p_evaluator
				   AND m.kind IN ('deadline', 'review_deadline')
				   AND (p_since IS NULL OR m.created_at >= p_since)));
END
$$;

-- GET /v1/evaluators/{id}/calibration?since= (pedagogy, admin)
CREATE FUNCTION api.calibration_get(p_token text, p_request_id text, p_evaluator bigint,
	p_query jsonb, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, '{pedagogy,admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_evaluator AND 'evaluator' = ANY (roles)) THEN
		status := 404; body := api.err('no such evaluator'); RETURN;
	END IF;
	status := 200;
	body := (api.calibration_figures(p_evaluator, (p_query ->> 'since')::timestamptz) ||
	    jsonb_build_object('agreement_floor', (p_settings ->> 'agreement_floor')::float8))::json;
END
$$;

-- GET /v1/calibration (pedagogy, admin): every evaluator's counters.
CREATE FUNCTION api.calibration_list(p_token text, p_request_id text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, '{pedagogy,admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	SELECT json_build_object('agreement_floor', (p_settings ->> 'agreement_floor')::float8,
	    'evaluators', coalesce(json_agg(json_build_object('evaluator_id', u.id,
		'name', u.name,
		'table', json_build_object('vv', coalesce(c.vv, 0), 'vn', coalesce(c.vn, 0),
		    'nv', coalesce(c.nv, 0), 'nn', coalesce(c.nn, 0)),
		'overturned', coalesce(c.overturned, 0),
		'missed_deadlines', coalesce(m.n, 0)) ORDER BY u.id), '[]'))
	INTO body
	FROM users u
	LEFT JOIN evaluator_calibration c ON c.evaluator_id = u.id
	LEFT JOIN (SELECT evaluator_id, count(*) AS n FROM evaluator_misses
		   WHERE kind IN ('deadline', 'review_deadline') GROUP BY evaluator_id) m
	       ON m.evaluator_id = u.id
	WHERE 'evaluator' = ANY (u.roles);
END
$$;

------------------------------------------------------------------------
-- Review deadlines
------------------------------------------------------------------------

-- Gives review R another reviewer and records the miss against the late one.
CREATE FUNCTION api.review_reassign_as(p_review bigint, p_request_id text, p_seed text,
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
	    api.later_evaluators(d) || api.defense_reviewers(d.id),
	    decode(p_seed, 'hex'));
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

-- The deadline scanner's step, now for defenses and then reviews.
CREATE OR REPLACE FUNCTION api.reassign_overdue(p_request_id text, p_seed text,
	p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_id bigint;
BEGIN
	IF NOT pg_try_advisory_xact_lock(7263541002) THEN
		status := 204; RETURN;
	END IF;
	-- the attempt first, as every transition of a defense locks it
	SELECT d.id INTO v_id FROM defenses d JOIN attempts t ON t.id = d.attempt_id
	JOIN enrollments e ON e.id = t.enrollment_id
	WHERE d.state = 'pending' AND d.due_at <= now() AND e.state = 'in_progress'
	ORDER BY d.due_at LIMIT 1 FOR UPDATE OF t SKIP LOCKED;
	IF v_id IS NOT NULL THEN
		SELECT r.status, r.body INTO status, body
		FROM api.defense_reassign_as(NULL, 'system', p_request_id, v_id, p_seed,
		    (p_settings ->> 'defense_due_days')::int) r;
		IF status = 409 THEN
			UPDATE defenses SET due_at = now() + interval '1 day' WHERE id = v_id;
			PERFORM api.audit(NULL, p_request_id, 'defense.overdue', 'defense', v_id,
			    jsonb_build_object('detail', 'no other eligible evaluator; retried in a day'));
		END IF;
		RETURN;
	END IF;
	SELECT id INTO v_id FROM reviews
	WHERE state = 'pending' AND due_at <= now()
	ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED;
	IF v_id IS NULL THEN
		status := 204; RETURN;
	END IF;
	SELECT r.status, r.body INTO status, body
	FROM api.review_reassign_as(v_id, p_request_id, p_seed, p_settings) r;
	IF status = 409 THEN
		UPDATE reviews SET due_at = now() + interval '1 day' WHERE id = v_id;
		PERFORM api.audit(NULL, p_request_id, 'review.overdue', 'review', v_id,
		    jsonb_build_object('detail', 'no other eligible reviewer; retried in a day'));
	END IF;
END
$$;
