-- 0012_defense_list.sql - GET /v1/defenses read through its index.
--
-- GET /v1/defenses: one evaluator's pending defenses, or all of them
-- (P_EVALUATOR NULL). It was a LANGUAGE sql function, planned at each call
-- with "p_evaluator IS NULL OR evaluator_id = p_evaluator", which no index
-- answers: every call read all the defenses (14 ms at 300,000). In PL/pgSQL
-- its plan is cached, and the two cases are two branches, one read through
-- defenses_pending_evaluator, the other skipped at run time when an
-- evaluator is named; the deliverables are a subquery, not a call each.
CREATE OR REPLACE FUNCTION api.pending_defenses_json(p_evaluator bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (
		SELECT coalesce(json_agg(json_build_object('id', d.id, 'attempt_id', d.attempt_id,
		    'round', d.round, 'evaluator_id', d.evaluator_id, 'due_at', d.due_at,
		    'enrollment_id', e.id,
		    'student', json_build_object('id', u.id, 'name', u.name),
		    'project', json_build_object('code', j.code, 'title', j.title,
			'skills', (SELECT coalesce(json_agg(json_build_object('code', s.code,
				    'title', s.title) ORDER BY s.id), '[]')
				   FROM skills s WHERE s.project_id = j.id)),
		    'deliverables', (SELECT coalesce(jsonb_agg(jsonb_build_object('title', v.title,
			    'uri', v.uri, 'sha256', v.sha256) ORDER BY v.id), '[]')
			FROM deliverables v WHERE v.attempt_id = t.id AND v.round = d.round),
		    'version', d.version) ORDER BY d.due_at, d.id), '[]')
		FROM (SELECT * FROM defenses
		      WHERE state = 'pending' AND evaluator_id = p_evaluator
		      UNION ALL
		      SELECT * FROM defenses
		      WHERE state = 'pending' AND p_evaluator IS NULL) d
		JOIN attempts t ON t.id = d.attempt_id
		JOIN enrollments e ON e.id = t.enrollment_id
		JOIN users u ON u.id = e.student_id
		JOIN projects j ON j.id = t.project_id);
END
$$;
