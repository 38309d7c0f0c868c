-- 0009_dossier_speed.sql - the jury dossier in a few milliseconds: an index
-- for the disagreements of a defense (the only lookup of the dossier that
-- scanned a whole table), and api.dossier_json in PL/pgSQL, whose plan is
-- cached per connection (a LANGUAGE sql function that cannot be inlined is
-- planned again at every call: 4-5 ms of the dossier's time), with the
-- deliverables inlined for the same reason. Same answer, byte for byte.

CREATE INDEX disagreements_defense ON disagreements (defense_id);

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
	);
END
$$;
