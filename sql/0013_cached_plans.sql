-- 0013_cached_plans.sql - the helpers of the handover and the verdict with
-- their plans cached, same results.
--
-- A LANGUAGE sql function that cannot be inlined (a FROM clause, a
-- subquery) is parsed and planned again at every call. The handover and
-- the verdict called six of them, the evaluator draw one per candidate:
-- measured one cycle at a time, api.attempt_reviewers took 0.8 ms a call,
-- api.fraud_report_open 0.4 ms, api.defense_json 0.4 ms and the draw 1.7 ms
-- with its sixteen api.open_load calls. In PL/pgSQL each plan is made once
-- per connection; the draw counts its candidates' loads in its own
-- statement, and api.open_load, used nowhere else, goes.

CREATE OR REPLACE FUNCTION api.defense_json(d defenses) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN jsonb_build_object('id', d.id, 'round', d.round,
	    'evaluator_id', d.evaluator_id, 'state', d.state, 'due_at', d.due_at,
	    'verdict', d.verdict, 'comment', d.comment, 'decided_at', d.decided_at,
	    'recording', CASE WHEN d.recording_uri IS NULL THEN NULL ELSE
		jsonb_build_object('uri', d.recording_uri, 'sha256', d.recording_sha256) END,
	    'skills', coalesce((
		SELECT jsonb_agg(jsonb_build_object('code', s.code, 'acquired', ds.acquired)
		    ORDER BY s.id)
		FROM defense_skills ds JOIN skills s ON s.id = ds.skill_id
		WHERE ds.defense_id = d.id), '[]'),
	    'version', d.version);
END
$$;

CREATE OR REPLACE FUNCTION api.attempt_reviewers(p_attempt bigint) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT coalesce(array_agg(DISTINCT x.id), '{}')
		FROM attempts t
		JOIN attempts t2 ON t2.enrollment_id = t.enrollment_id
		JOIN defenses d ON d.attempt_id = t2.id
		JOIN reviews r ON r.defense_id = d.id
		CROSS JOIN LATERAL (SELECT r.reviewer_id AS id
				    UNION SELECT m.evaluator_id FROM evaluator_misses m
					  WHERE m.review_id = r.id) x
		WHERE t.id = p_attempt);
END
$$;

CREATE OR REPLACE FUNCTION api.later_evaluators(d defenses) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT coalesce(array_agg(DISTINCT d2.evaluator_id), '{}')
		FROM attempts t
		JOIN attempts t2 ON t2.enrollment_id = t.enrollment_id
		JOIN defenses d2 ON d2.attempt_id = t2.id
		WHERE t.id = d.attempt_id AND d2.id >= d.id);
END
$$;

CREATE OR REPLACE FUNCTION api.defense_reviewers(p_defense bigint) RETURNS bigint[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (SELECT coalesce(array_agg(DISTINCT x.id), '{}')
		FROM reviews r
		CROSS JOIN LATERAL (SELECT r.reviewer_id AS id
				    UNION SELECT m.evaluator_id FROM evaluator_misses m
					  WHERE m.review_id = r.id) x
		WHERE r.defense_id = p_defense);
END
$$;

CREATE OR REPLACE FUNCTION api.fraud_report_open(p_attempt bigint) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN EXISTS (SELECT 1 FROM attempts t
		       JOIN projects j ON j.id = t.project_id
		       JOIN reports r ON r.enrollment_id = t.enrollment_id
		       WHERE t.id = p_attempt AND r.state <> 'closed'
			 AND (r.project_code IS NULL OR r.project_code = j.code));
END
$$;

-- The draw (see 0002): the load of a candidate is its pending defenses, or
-- its pending reviews for a review's draw.
CREATE OR REPLACE FUNCTION api.draw_evaluator(p_kind text, p_path bigint, p_student bigint,
	p_mentor bigint, p_exclude bigint[], p_seed bytea,
	OUT draw_id bigint, OUT pick bigint)
LANGUAGE plpgsql AS $$
DECLARE
	v_ids bigint[];
	v_loads int[];
	v_lowest bigint[];
BEGIN
	-- Draws that share candidates take turns until commit, so that each sees
	-- the loads the previous one left: concurrent handovers still spread.
	-- NO KEY UPDATE, in id order: it does not block the KEY SHARE locks that
	-- foreign keys to users take, and two draws cannot deadlock.
	PERFORM 1 FROM users u JOIN qualifications q ON q.evaluator_id = u.id
	WHERE q.path_id = p_path AND 'evaluator' = ANY (u.roles)
	ORDER BY u.id FOR NO KEY UPDATE OF u;
	SELECT array_agg(c.id ORDER BY c.id), array_agg(c.load ORDER BY c.id)
	INTO v_ids, v_loads
	FROM (SELECT u.id, CASE WHEN p_kind = 'review'
			THEN (SELECT count(*)::int FROM reviews r
			      WHERE r.reviewer_id = u.id AND r.state = 'pending')
			ELSE (SELECT count(*)::int FROM defenses d
			      WHERE d.evaluator_id = u.id AND d.state = 'pending') END AS load
	      FROM users u JOIN qualifications q ON q.evaluator_id = u.id
	      WHERE q.path_id = p_path AND 'evaluator' = ANY (u.roles)
		AND u.id <> p_student AND u.id <> p_mentor
		AND NOT u.id = ANY (coalesce(p_exclude, '{}'))
		AND NOT EXISTS (SELECT 1 FROM conflicts k
				WHERE k.evaluator_id = u.id AND k.student_id = p_student)) c;
	IF v_ids IS NULL THEN
		RETURN;
	END IF;
	SELECT array_agg(id ORDER BY id) INTO v_lowest
	FROM unnest(v_ids, v_loads) AS t (id, load)
	WHERE load = (SELECT min(l) FROM unnest(v_loads) l);
	pick := v_lowest[1 + api.draw_index(p_seed, cardinality(v_lowest))];
	INSERT INTO draws (kind, seed, candidates, loads, pick)
	VALUES (p_kind, p_seed, v_ids, v_loads, pick)
	RETURNING id INTO draw_id;
END
$$;

DROP FUNCTION api.open_load(text, bigint);
