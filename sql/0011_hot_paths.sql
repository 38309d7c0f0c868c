-- 0011_hot_paths.sql - cheaper weekly notes and enrollment reads, same
-- answers.
--
-- The enrollment: api.enrollment_json called api.attempt_json for each
-- attempt, which called api.deliverables_json and api.defense_json for each
-- round. None of these LANGUAGE sql functions can be inlined, so each call
-- started an executor of its own: about 3 ms for a 10-project enrollment.
-- It is now one statement in PL/pgSQL (plan cached per connection), the
-- attempts, rounds, deliverables and defenses as subqueries. A defense
-- reads as api.defense_json shows it (the verdict's answer; a test holds
-- the two together): calling it, and a deliverables function, per round
-- instead took 1.4 ms against 0.9, even with their plans cached.
-- attempt_json, used nowhere else, is dropped.
--
-- The note: its update of the enrollment's note summary (last_note_*) was
-- never a HOT update, because enrollments_in_progress indexed last_note_at,
-- so every note added a tuple to each of the five indexes of enrollments:
-- that index goes (the alert list, a pedagogy view, reads the in-progress
-- enrollments whatever the index), enrollments keeps free room on its pages
-- for the new versions, and notes loses an index that duplicated its
-- unique constraint.

DROP INDEX notes_enrollment;
DROP INDEX enrollments_in_progress;
ALTER TABLE enrollments SET (fillfactor = 90);

CREATE OR REPLACE FUNCTION api.enrollment_json(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN (
		SELECT jsonb_build_object('id', e.id, 'kind', e.kind, 'state', e.state,
		    'student_id', e.student_id, 'mentor_id', e.mentor_id, 'path_id', e.path_id,
		    'created_at', e.created_at, 'updated_at', e.updated_at,
		    'attempts', coalesce((
			SELECT jsonb_agg(jsonb_build_object('id', a.id, 'project_id', a.project_id,
			    'project_code', j.code, 'project_title', j.title,
			    'position', a.position, 'state', a.state, 'round', a.round,
			    'reopened_reason', a.reopened_reason,
			    'rounds', coalesce((
				SELECT jsonb_agg(jsonb_build_object('round', r,
				    'deliverables', coalesce((
					SELECT jsonb_agg(jsonb_build_object('title', v.title,
					    'uri', v.uri, 'sha256', v.sha256) ORDER BY v.id)
					FROM deliverables v
					WHERE v.attempt_id = a.id AND v.round = r), '[]'),
				    'defense', (
					SELECT jsonb_build_object('id', d.id, 'round', d.round,
					    'evaluator_id', d.evaluator_id, 'state', d.state,
					    'due_at', d.due_at, 'verdict', d.verdict,
					    'comment', d.comment, 'decided_at', d.decided_at,
					    'recording', CASE WHEN d.recording_uri IS NOT NULL THEN
						jsonb_build_object('uri', d.recording_uri,
						    'sha256', d.recording_sha256) END,
					    'skills', coalesce((
						SELECT jsonb_agg(jsonb_build_object('code',
						    (SELECT s.code FROM skills s WHERE s.id = ds.skill_id),
						    'acquired', ds.acquired) ORDER BY ds.skill_id)
						FROM defense_skills ds WHERE ds.defense_id = d.id), '[]'),
					    'version', d.version)
					FROM defenses d WHERE d.attempt_id = a.id AND d.round = r))
				    ORDER BY r)
				FROM generate_series(1, a.round) r), '[]'),
			    'version', a.version) ORDER BY a.position)
			FROM attempts a JOIN projects j ON j.id = a.project_id
			WHERE a.enrollment_id = e.id), '[]'),
		    'reports', coalesce((
			SELECT jsonb_agg(jsonb_build_object('category', r.category,
			    'outcome', r.outcome) ORDER BY r.id)
			FROM reports r
			WHERE r.enrollment_id = e.id AND r.subject_notified_at IS NOT NULL), '[]'),
		    'credential_id', (SELECT c.id FROM credentials c
			WHERE c.enrollment_id = e.id AND c.state = 'issued'),
		    'credential', api.enrollment_credential_json(e),
		    'version', e.version)
		FROM enrollments e WHERE e.id = p_id);
END
$$;
-- The planner takes generate_series(1, a.round) for 1000 rows and the
-- statement's cost past jit_above_cost: compiling it would cost 40 ms.
ALTER FUNCTION api.enrollment_json(bigint) SET jit = off;

DROP FUNCTION api.attempt_json(attempts);
