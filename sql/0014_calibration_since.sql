-- 0014_calibration_since.sql - GET /v1/evaluators/{id}/calibration?since=
-- at a cost that follows the evaluator's reviews, not the tables.
--
-- Its per-skill count joined the evaluator's reviews in the window to
-- review_skills, and the planner hashed the whole of review_skills for it
-- (every review's skills: a scan that grew with the table, 4 ms at 18,000
-- rows). Each review's skills are now read through review_skills' primary
-- key, per review (OFFSET 0 keeps the subquery from being flattened into a
-- join the planner would hash again). Skills with as many disagreements
-- come in skill order, as in the form without since.

CREATE OR REPLACE FUNCTION api.calibration_figures(p_evaluator bigint, p_since timestamptz)
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
		SELECT coalesce(jsonb_agg(jsonb_build_object('project_code', j.code,
		    'skill_code', k.code, 'disagreements', s.disagreements)
		    ORDER BY s.disagreements DESC, k.id), '[]')
		INTO v_skills
		FROM (SELECT x.skill_id, count(*) AS disagreements
		      FROM reviews r
		      CROSS JOIN LATERAL (SELECT rs.skill_id
			  FROM review_skills rs
			  JOIN defense_skills ds ON ds.defense_id = r.defense_id
			      AND ds.skill_id = rs.skill_id
			  WHERE rs.review_id = r.id AND rs.acquired <> ds.acquired
			  OFFSET 0) x
		      WHERE r.original_evaluator_id = p_evaluator AND r.state = 'submitted'
			AND r.submitted_at >= p_since
		      GROUP BY x.skill_id) s
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

