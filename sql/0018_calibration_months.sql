-- 0018_calibration_months.sql - GET /v1/evaluators/{id}/calibration?since=
-- from counters per evaluator and UTC calendar month, at a cost that no
-- longer follows the evaluator's reviews.
--
-- Until now ?since=T aggregated every review of the evaluator submitted
-- since T (p99 9 -> 52 ms as the data set grew 100 times). The 2x2 table and
-- the overturned count are now also kept per evaluator and month, and the
-- per-skill disagreements per evaluator, month and skill, in the same
-- transactions as the counters of 0003 (api.calibration_count,
-- api.review_verdict, api.disagreement_resolve, restated from 0003 with only
-- that added). ?since=T reads the whole months from T's first full month on
-- from the counters, and the raw rows of T's own month from T on (reviews by
-- reviews_calibration, overturns by disagreements_overturned below): at most
-- one month of raw rows. A month's review is counted by its submitted_at, an
-- overturn by its resolved_at, as the raw form counts them.
--
-- Missed deadlines stay raw: one row per missed deadline, few per evaluator;
-- they are now indexed by evaluator and time.

-- The first day of P_AT's calendar month in UTC, whatever the session's TimeZone.
CREATE FUNCTION api.utc_month(p_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT date_trunc('month', p_at AT TIME ZONE 'UTC')::date
$$;

-- The first instant of month P_MONTH (a first day, UTC).
CREATE FUNCTION api.utc_month_start(p_month date) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT p_month::timestamp AT TIME ZONE 'UTC'
$$;

-- evaluator_calibration's table and overturned count, per month.
CREATE TABLE evaluator_calibration_months (
	evaluator_id	bigint NOT NULL REFERENCES users (id),
	month		date NOT NULL CHECK (extract(day FROM month) = 1),
	vv		bigint NOT NULL DEFAULT 0,
	vn		bigint NOT NULL DEFAULT 0,
	nv		bigint NOT NULL DEFAULT 0,
	nn		bigint NOT NULL DEFAULT 0,
	overturned	bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (evaluator_id, month)
);

-- evaluator_skill_disagreements, per month.
CREATE TABLE evaluator_skill_disagreement_months (
	evaluator_id	bigint NOT NULL REFERENCES users (id),
	month		date NOT NULL CHECK (extract(day FROM month) = 1),
	skill_id	bigint NOT NULL REFERENCES skills (id),
	disagreements	bigint NOT NULL,
	PRIMARY KEY (evaluator_id, month, skill_id)
);

-- T's own month of overturns, without reading every disagreement.
CREATE INDEX disagreements_overturned ON disagreements (resolved_at)
	WHERE outcome = 'original_overturned';

-- Missed deadlines since T, without reading every miss of the evaluator.
CREATE INDEX evaluator_misses_evaluator_time ON evaluator_misses (evaluator_id, created_at);
DROP INDEX evaluator_misses_evaluator;

-- Recomputes the monthly counters of P_EVALUATOR (NULL: everyone) from the
-- reviews and disagreements: this migration's backfill, and scripts/seed-data's
-- after its COPY. Never called by a route.
CREATE FUNCTION api.calibration_months_rebuild(p_evaluator bigint DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
	DELETE FROM evaluator_calibration_months
	WHERE p_evaluator IS NULL OR evaluator_id = p_evaluator;
	DELETE FROM evaluator_skill_disagreement_months
	WHERE p_evaluator IS NULL OR evaluator_id = p_evaluator;
	INSERT INTO evaluator_calibration_months (evaluator_id, month, vv, vn, nv, nn, overturned)
	SELECT evaluator_id, month, sum(vv), sum(vn), sum(nv), sum(nn), sum(overturned)
	FROM (SELECT r.original_evaluator_id AS evaluator_id, api.utc_month(r.submitted_at) AS month,
		     (d.verdict = 'validated' AND r.verdict = 'validated')::int AS vv,
		     (d.verdict = 'validated' AND r.verdict <> 'validated')::int AS vn,
		     (d.verdict <> 'validated' AND r.verdict = 'validated')::int AS nv,
		     (d.verdict <> 'validated' AND r.verdict <> 'validated')::int AS nn,
		     0 AS overturned
	      FROM reviews r JOIN defenses d ON d.id = r.defense_id
	      WHERE r.state = 'submitted'
		AND (p_evaluator IS NULL OR r.original_evaluator_id = p_evaluator)
	      UNION ALL
	      SELECT d.evaluator_id, api.utc_month(g.resolved_at), 0, 0, 0, 0, 1
	      FROM disagreements g JOIN defenses d ON d.id = g.defense_id
	      WHERE g.outcome = 'original_overturned'
		AND (p_evaluator IS NULL OR d.evaluator_id = p_evaluator)) x
	GROUP BY evaluator_id, month;
	INSERT INTO evaluator_skill_disagreement_months (evaluator_id, month, skill_id, disagreements)
	SELECT r.original_evaluator_id, api.utc_month(r.submitted_at), rs.skill_id, count(*)
	FROM reviews r
	JOIN review_skills rs ON rs.review_id = r.id
	JOIN defense_skills ds ON ds.defense_id = r.defense_id AND ds.skill_id = rs.skill_id
	WHERE r.state = 'submitted' AND rs.acquired <> ds.acquired
	  AND (p_evaluator IS NULL OR r.original_evaluator_id = p_evaluator)
	GROUP BY 1, 2, 3;
$$;

SELECT api.calibration_months_rebuild();

-- Adds one review's comparison to the evaluator's calibration counters, the
-- whole and this month's (the review's submitted_at is now()).
CREATE OR REPLACE FUNCTION api.calibration_count(p_evaluator bigint, p_original text,
	p_reviewer text)
RETURNS void LANGUAGE sql AS $$
	WITH x AS (
	    SELECT (p_original = 'validated' AND p_reviewer = 'validated')::int AS vv,
		   (p_original = 'validated' AND p_reviewer = 'needs_improvement')::int AS vn,
		   (p_original = 'needs_improvement' AND p_reviewer = 'validated')::int AS nv,
		   (p_original = 'needs_improvement' AND p_reviewer = 'needs_improvement')::int AS nn),
	whole AS (
	    INSERT INTO evaluator_calibration AS c (evaluator_id, vv, vn, nv, nn)
	    SELECT p_evaluator, vv, vn, nv, nn FROM x
	    ON CONFLICT (evaluator_id) DO UPDATE
	    SET vv = c.vv + excluded.vv, vn = c.vn + excluded.vn, nv = c.nv + excluded.nv,
		nn = c.nn + excluded.nn, updated_at = now())
	INSERT INTO evaluator_calibration_months AS c (evaluator_id, month, vv, vn, nv, nn)
	SELECT p_evaluator, api.utc_month(now()), vv, vn, nv, nn FROM x
	ON CONFLICT (evaluator_id, month) DO UPDATE
	SET vv = c.vv + excluded.vv, vn = c.vn + excluded.vn, nv = c.nv + excluded.nv,
	    nn = c.nn + excluded.nn
$$;

-- POST /v1/reviews/{id}/verdict (the drawn reviewer). Another caller gets
-- the same 404 as for a review that does not exist.
CREATE OR REPLACE FUNCTION api.review_verdict(p_token text, p_request_id text, p_review bigint,
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
	INSERT INTO evaluator_skill_disagreement_months AS s (evaluator_id, month, skill_id,
	    disagreements)
	SELECT d.evaluator_id, api.utc_month(r.submitted_at), ds.skill_id, 1
	FROM defense_skills ds
	JOIN review_skills rs ON rs.skill_id = ds.skill_id AND rs.review_id = p_review
	WHERE ds.defense_id = d.id AND ds.acquired <> rs.acquired
	ON CONFLICT (evaluator_id, month, skill_id) DO UPDATE
	SET disagreements = s.disagreements + 1;
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

-- POST /v1/disagreements/{id}/resolve (pedagogy) {outcome, comment}
CREATE OR REPLACE FUNCTION api.disagreement_resolve(p_token text, p_request_id text, p_id bigint,
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
		INSERT INTO evaluator_calibration_months AS c (evaluator_id, month, overturned)
		VALUES (d.evaluator_id, api.utc_month(g.resolved_at), 1)
		ON CONFLICT (evaluator_id, month) DO UPDATE SET overturned = c.overturned + 1;
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

-- The raw calibration figures of one evaluator, from the counters, or since
-- P_SINCE: the monthly counters from its first full month on (P_SINCE's own
-- when P_SINCE is its first instant), and the raw rows before that month.
-- The same answer as 0014's, which aggregated every row since P_SINCE.
CREATE OR REPLACE FUNCTION api.calibration_figures(p_evaluator bigint, p_since timestamptz)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_table jsonb;
	v_skills jsonb;
	v_overturned bigint;
	v_month date;		-- the first month read from the counters
	v_cut timestamptz;	-- its first instant: raw rows in [p_since, v_cut)
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
		v_month := api.utc_month(p_since);
		IF api.utc_month_start(v_month) <> p_since THEN
			v_month := (v_month + interval '1 month')::date;
		END IF;
		v_cut := api.utc_month_start(v_month);
		SELECT jsonb_build_object('vv', coalesce(sum(vv), 0)::bigint,
		    'vn', coalesce(sum(vn), 0)::bigint, 'nv', coalesce(sum(nv), 0)::bigint,
		    'nn', coalesce(sum(nn), 0)::bigint)
		INTO v_table
		FROM (SELECT m.vv, m.vn, m.nv, m.nn FROM evaluator_calibration_months m
		      WHERE m.evaluator_id = p_evaluator AND m.month >= v_month
		      UNION ALL
		      SELECT (d.verdict = 'validated' AND r.verdict = 'validated')::int,
			     (d.verdict = 'validated' AND r.verdict <> 'validated')::int,
			     (d.verdict <> 'validated' AND r.verdict = 'validated')::int,
			     (d.verdict <> 'validated' AND r.verdict <> 'validated')::int
		      FROM reviews r JOIN defenses d ON d.id = r.defense_id
		      WHERE r.original_evaluator_id = p_evaluator AND r.state = 'submitted'
			AND r.submitted_at >= p_since AND r.submitted_at < v_cut) x;
		SELECT coalesce(sum(m.overturned), 0) INTO v_overturned
		FROM evaluator_calibration_months m
		WHERE m.evaluator_id = p_evaluator AND m.month >= v_month;
		v_overturned := v_overturned + (SELECT count(*)
		    FROM disagreements g JOIN defenses d ON d.id = g.defense_id
		    WHERE d.evaluator_id = p_evaluator AND g.outcome = 'original_overturned'
		      AND g.resolved_at >= p_since AND g.resolved_at < v_cut);
		SELECT coalesce(jsonb_agg(jsonb_build_object('project_code', j.code,
		    'skill_code', k.code, 'disagreements', s.disagreements)
		    ORDER BY s.disagreements DESC, k.id), '[]')
		INTO v_skills
		FROM (SELECT u.skill_id, sum(u.n)::bigint AS disagreements
		      FROM (SELECT m.skill_id, m.disagreements AS n
			    FROM evaluator_skill_disagreement_months m
			    WHERE m.evaluator_id = p_evaluator AND m.month >= v_month
			    UNION ALL
			    SELECT x.skill_id, 1
			    FROM reviews r
			    CROSS JOIN LATERAL (SELECT rs.skill_id
				FROM review_skills rs
				JOIN defense_skills ds ON ds.defense_id = r.defense_id
				    AND ds.skill_id = rs.skill_id
				WHERE rs.review_id = r.id AND rs.acquired <> ds.acquired
				OFFSET 0) x
			    WHERE r.original_evaluator_id = p_evaluator AND r.state = 'submitted'
			      AND r.submitted_at >= p_since AND r.submitted_at < v_cut) u
		      GROUP BY u.skill_id HAVING sum(u.n) > 0) s
		JOIN skills k ON k.id = s.skill_id JOIN projects j ON j.id = k.project_id;
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
