-- 0008_idempotency.sql - retries and concurrent edits: Idempotency-Key on
-- POST routes (a retry with the same key and body gets the first answer
-- without repeating the effect) and versions on the mutable resources
-- (If-Match with a stale version is refused with 412).
--
-- Both go through api.dispatch, which certflowd calls instead of the
-- route's own function when a request carries one of the two headers: the
-- same function, with the same parameters, inside the same single
-- statement, so the key, the version check, the effect and its audit row
-- commit or roll back together.

------------------------------------------------------------------------
-- Versions: bumped once per transaction that updates the row
------------------------------------------------------------------------

-- The version a row had when this transaction first changed it is kept in
-- a transaction-local setting certflow.v_<table>_<id>: later updates in the
-- same transaction (or its subtransactions) keep the first bump.
CREATE FUNCTION api.trg_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	v_name text := format('certflow.v_%s_%s', TG_TABLE_NAME, OLD.id);
BEGIN
	IF coalesce(current_setting(v_name, true), '') = '' THEN
		PERFORM set_config(v_name, OLD.version::text, true);
		NEW.version := OLD.version + 1;
	ELSE
		NEW.version := OLD.version;
	END IF;
	RETURN NEW;
END
$$;

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['enrollments', 'attempts', 'defenses', 'reports',
				 'disagreements', 'jury_cases'] LOOP
		EXECUTE format('ALTER TABLE %I ADD COLUMN version bigint NOT NULL DEFAULT 1', t);
		EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW '
		    'EXECUTE FUNCTION api.trg_bump_version()', t || '_version', t);
	END LOOP;
END
$$;

-- The version of row P_ID of P_TABLE before this transaction changed it
-- (NULL when there is no such row).
CREATE FUNCTION api.version_before(p_table text, p_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_version bigint := nullif(current_setting(format('certflow.v_%s_%s', p_table, p_id),
	    true), '')::bigint;
BEGIN
	IF v_version IS NULL THEN
		EXECUTE format('SELECT version FROM %I WHERE id = $1', p_table)
		INTO v_version USING p_id;
	END IF;
	RETURN v_version;
END
$$;

------------------------------------------------------------------------
-- Idempotency keys
------------------------------------------------------------------------

CREATE TABLE idempotency_keys (
	caller		bytea NOT NULL,		-- token digest, or the anonymous source's HMAC
	key		text NOT NULL,
	request_hash	bytea NOT NULL,		-- SHA-256 of method, path and body
	status		int NOT NULL,
	body		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- The route's own call: SELECT status, body FROM api.P_FN(P_ARGS), where
-- P_ARGS is the route table's argument list ("$1, $2, $3::bigint") and $N
-- the N-th element of the JSON array P_PARAMS.
CREATE FUNCTION api.dispatch_call(p_fn text, p_args text, p_params jsonb,
	OUT status int, OUT body text)
LANGUAGE plpgsql AS $$
BEGIN
	IF p_fn !~ '^[a-z_]+$' OR p_args !~ '^[$0-9a-z:, ]*$' THEN
		RAISE EXCEPTION 'dispatch: malformed route call %(%)', p_fn, p_args;
	END IF;
	EXECUTE format('SELECT status, body::text FROM api.%I(%s)', p_fn,
	    regexp_replace(p_args, '\$([0-9]+)', '($1->>(\1 - 1))', 'g'))
	INTO status, body USING p_params;
END
$$;

-- Calls the route with P_IF_MATCH checked against the version of row
-- P_VERSION_ID of P_VERSION_TABLE before the call: a stale version undoes
-- the call's effects and answers 412.
CREATE FUNCTION api.dispatch_checked(p_fn text, p_args text, p_params jsonb,
	p_version_table text, p_version_id bigint, p_if_match bigint,
	OUT status int, OUT body text)
LANGUAGE plpgsql AS $$
DECLARE
	v_before bigint;
BEGIN
	IF p_if_match IS NULL THEN
		SELECT c.status, c.body INTO status, body FROM api.dispatch_call(p_fn, p_args, p_params) c;
		RETURN;
	END IF;
	BEGIN
		SELECT c.status, c.body INTO status, body FROM api.dispatch_call(p_fn, p_args, p_params) c;
		-- the call locked the row if it changed it: the check is race-free.
		-- An error answer changed nothing and is given as is: a caller who
		-- may not see the resource learns nothing of its version.
		IF status BETWEEN 200 AND 299 THEN
			v_before := api.version_before(p_version_table, p_version_id);
		END IF;
		IF v_before IS NOT NULL AND v_before <> p_if_match THEN
			RAISE EXCEPTION USING ERRCODE = 'CF412', MESSAGE = v_before::text;
		END IF;
	EXCEPTION WHEN SQLSTATE 'CF412' THEN
		status := 412;
		body := api.err(format('the resource changed: its version is %s, If-Match named %s',
		    SQLERRM, p_if_match), 'If-Match')::text;
	END;
END
$$;

-- The statement certflowd sends for a POST with Idempotency-Key and/or
-- If-Match. P_KEY NULL: no idempotency. An answer replayed from a key says
-- so in REPLAYED; only 2xx answers are kept (an error changed nothing, so
-- retrying it is harmless), for P_TTL_S seconds.
CREATE FUNCTION api.dispatch(p_fn text, p_args text, p_params jsonb, p_caller text,
	p_key text, p_request_hash text, p_ttl_s int, p_version_table text,
	p_version_id bigint, p_if_match bigint,
	OUT status int, OUT body text, OUT replayed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	k idempotency_keys;
	v_caller bytea := decode(p_caller, 'hex');
BEGIN
	replayed := false;
	IF p_key IS NOT NULL THEN
		-- a kept answer is for a caller whose token still stands
		IF p_params ->> 0 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM api.caller(p_params ->> 0)) THEN
			status := 401; body := api.err('unknown or revoked token')::text; RETURN;
		END IF;
		-- one request per key at a time; the second waits for the first
		PERFORM pg_advisory_xact_lock(hashtextextended(p_caller || ':' || p_key, 7263541008));
		DELETE FROM idempotency_keys WHERE caller = v_caller AND key = p_key
		    AND expires_at <= now();
		DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
		    SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT 20));
		SELECT * INTO k FROM idempotency_keys WHERE caller = v_caller AND key = p_key;
		IF FOUND AND k.request_hash <> decode(p_request_hash, 'hex') THEN
			status := 422;
			body := api.err('this Idempotency-Key was used for another request '
			    '(another route or body)', 'Idempotency-Key')::text;
			RETURN;
		ELSIF FOUND THEN
			status := k.status; body := k.body; replayed := true;
			RETURN;
		END IF;
	END IF;
	SELECT c.status, c.body INTO status, body
	FROM api.dispatch_checked(p_fn, p_args, p_params, p_version_table, p_version_id,
	    p_if_match) c;
	IF p_key IS NOT NULL AND status BETWEEN 200 AND 299 THEN
		INSERT INTO idempotency_keys (caller, key, request_hash, status, body, expires_at)
		VALUES (v_caller, p_key, decode(p_request_hash, 'hex'), status, body,
		    now() + make_interval(secs => p_ttl_s));
	END IF;
END
$$;

------------------------------------------------------------------------
-- The versions in the resources' JSON
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.defense_json(d defenses) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', d.id, 'round', d.round,
	    'evaluator_id', d.evaluator_id, 'state', d.state, 'due_at', d.due_at,
	    'verdict', d.verdict, 'comment', d.comment, 'decided_at', d.decided_at,
	    'recording', CASE WHEN d.recording_uri IS NULL THEN NULL ELSE
		jsonb_build_object('uri', d.recording_uri, 'sha256', d.recording_sha256) END,
	    'skills', coalesce((
		SELECT jsonb_agg(jsonb_build_object('code', s.code, 'acquired', ds.acquired)
		    ORDER BY s.id)
		FROM defense_skills ds JOIN skills s ON s.id = ds.skill_id
		WHERE ds.defense_id = d.id), '[]'),
	    'version', d.version)
$$;

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
		FROM generate_series(1, a.round) r), '[]'),
	    'version', a.version)
	FROM projects j WHERE j.id = a.project_id
$$;

CREATE OR REPLACE FUNCTION api.disagreement_json(g disagreements) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', g.id, 'defense_id', g.defense_id,
	    'review_id', g.review_id, 'state', g.state,
	    'original', json_build_object('evaluator_id', d.evaluator_id, 'verdict', d.verdict),
	    'review', json_build_object('reviewer_id', r.reviewer_id, 'verdict', r.verdict),
	    'skill_differences', g.skill_differences, 'created_at', g.created_at,
	    'age_seconds', floor(extract(epoch FROM now() - g.created_at))::bigint,
	    'outcome', g.outcome, 'comment', g.comment, 'resolved_by', g.resolved_by,
	    'resolved_at', g.resolved_at, 'version', g.version)
	FROM defenses d, reviews r
	WHERE d.id = g.defense_id AND r.id = g.review_id
$$;

CREATE OR REPLACE FUNCTION api.report_summary_json(r reports, p_now timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', r.id, 'kind', r.kind, 'category', r.category,
	    'state', r.state, 'enrollment_id', r.enrollment_id,
	    'credential_id', r.credential_id, 'project_code', r.project_code,
	    'received_at', r.received_at, 'acknowledgement_due_at', r.ack_due_at,
	    'acknowledged_at', r.acknowledged_at, 'feedback_due_at', r.feedback_due_at,
	    'closed_at', r.closed_at, 'outcome', r.outcome, 'consequence', r.consequence,
	    'subject_notified_at', r.subject_notified_at,
	    'overdue', api.report_overdue(r, p_now), 'version', r.version)
$$;

CREATE OR REPLACE FUNCTION api.jury_case_json(p_id bigint, p_with_votes boolean) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', c.id, 'session_id', c.session_id,
	    'enrollment_id', c.enrollment_id, 'state', c.state, 'decision', c.decision,
	    'decided_by', c.decided_by, 'decided_at', c.decided_at,
	    'extra_project_id', c.extra_project_id, 'interview', c.interview,
	    'members', (SELECT count(*) FROM jury_members m WHERE m.session_id = c.session_id),
	    'votes', CASE WHEN p_with_votes THEN
		(SELECT coalesce(json_agg(json_build_object('member_id', v.member_id,
		    'decision', v.decision, 'comment', v.comment, 'voted_at', v.voted_at)
		    ORDER BY v.member_id), '[]') FROM jury_votes v WHERE v.case_id = c.id) END,
	    'version', c.version)
	FROM jury_cases c WHERE c.id = p_id
$$;

CREATE OR REPLACE FUNCTION api.enrollment_json(p_id bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', e.id, 'kind', e.kind, 'state', e.state,
	    'student_id', e.student_id, 'mentor_id', e.mentor_id, 'path_id', e.path_id,
	    'created_at', e.created_at, 'updated_at', e.updated_at,
	    'attempts', coalesce((
		SELECT jsonb_agg(api.attempt_json(a) ORDER BY a.position)
		FROM attempts a WHERE a.enrollment_id = e.id), '[]'),
	    'reports', coalesce((
		SELECT jsonb_agg(jsonb_build_object('category', r.category,
		    'outcome', r.outcome) ORDER BY r.id)
		FROM reports r
		WHERE r.enrollment_id = e.id AND r.subject_notified_at IS NOT NULL), '[]'),
	    'credential_id', (SELECT c.id FROM credentials c
		WHERE c.enrollment_id = e.id AND c.state = 'issued'),
	    'credential', api.enrollment_credential_json(e),
	    'version', e.version)
	FROM enrollments e WHERE e.id = p_id
$$;

-- GET /v1/defenses: each pending defense with its version (If-Match on the verdict).
CREATE OR REPLACE FUNCTION api.pending_defenses_json(p_evaluator bigint) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT coalesce(json_agg(json_build_object('id', d.id, 'attempt_id', d.attempt_id,
	    'round', d.round, 'evaluator_id', d.evaluator_id, 'due_at', d.due_at,
	    'enrollment_id', e.id,
	    'student', json_build_object('id', u.id, 'name', u.name),
	    'project', json_build_object('code', j.code, 'title', j.title,
		'skills', (SELECT coalesce(json_agg(json_build_object('code', s.code,
			    'title', s.title) ORDER BY s.id), '[]')
			   FROM skills s WHERE s.project_id = j.id)),
	    'deliverables', api.deliverables_json(t.id, d.round),
	    'version', d.version) ORDER BY d.due_at, d.id), '[]')
	FROM defenses d
	JOIN attempts t ON t.id = d.attempt_id
	JOIN enrollments e ON e.id = t.enrollment_id
	JOIN users u ON u.id = e.student_id
	JOIN projects j ON j.id = t.project_id
	WHERE d.state = 'pending' AND (p_evaluator IS NULL OR d.evaluator_id = p_evaluator)
$$;
