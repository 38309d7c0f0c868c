-- 0004_whistleblowing: fraud reports, anonymous or confidential; receipts
-- stored only as slow keyed hashes; bodies, evidence, messages, feedback and
-- a confidential reporter's identity sealed by certflowd (AES-256-GCM, key
-- id in each value) so that this database alone reveals none of them;
-- investigation clocks; per-source rate limits; the effects of a closed
-- report on projects and enrollments.
--
-- Sealed values arrive from certflowd as "v1.<key id>.<base64url>" strings
-- in fields named *_sealed, and leave the same way: certflowd opens them for
-- investigators and reporters only. The reporter's user id is known only
-- inside api.report_submit: it is stored as uid XOR SHA-256(K || 'reporter')
-- with a check value, where K is a one-time key that certflowd draws and
-- stores only sealed under its master key (reporter_key_sealed).

CREATE TABLE reports (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	receipt_hash	bytea NOT NULL UNIQUE CHECK (length(receipt_hash) = 32),
	kind		text NOT NULL CHECK (kind IN ('anonymous', 'confidential')),
	category	text NOT NULL CHECK (category IN ('plagiarism', 'impersonation',
					'cheating', 'other')),
	enrollment_id	bigint REFERENCES enrollments (id),	-- NULL until matched or linked
	credential_id	bigint,					-- checked when credentials exist
	project_code	text,
	subject_sealed	text,		-- the free description of the subject, if any
	body_sealed	text NOT NULL,
	evidence_sealed	text NOT NULL,
	reporter_key_sealed text,	-- confidential: the one-time key K, sealed
	reporter_ct	bigint,		-- uid XOR the first 8 bytes of SHA-256(K || 'reporter')
	reporter_check	bytea,		-- SHA-256(K || uid || 'check')
	key_id		text NOT NULL,	-- the key that sealed this row (rotation)
	state		text NOT NULL DEFAULT 'received'
			CHECK (state IN ('received', 'acknowledged', 'closed')),
	received_at	timestamptz NOT NULL,
	ack_due_at	timestamptz NOT NULL,
	acknowledged_at	timestamptz,
	feedback_due_at	timestamptz,
	closed_at	timestamptz,
	outcome		text CHECK (outcome IN ('substantiated', 'unfounded')),
	consequence	text CHECK (consequence IN ('none', 'invalidate_project',
					'revoke_credential', 'exclude_student')),
	feedback_sealed	text,
	subject_notified_at timestamptz,
	CHECK ((kind = 'confidential') = (reporter_key_sealed IS NOT NULL))
);
CREATE INDEX reports_open ON reports (state, ack_due_at) WHERE state <> 'closed';
CREATE INDEX reports_enrollment ON reports (enrollment_id);

CREATE TABLE report_messages (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	report_id	bigint NOT NULL REFERENCES reports (id),
	author		text NOT NULL CHECK (author IN ('reporter', 'investigator')),
	investigator_id	bigint REFERENCES users (id),
	body_sealed	text NOT NULL,
	key_id		text NOT NULL,
	created_at	timestamptz NOT NULL
);
CREATE INDEX report_messages_report ON report_messages (report_id, id);

-- Attempts per source and hour; the source is an HMAC of the client's
-- address under the installation secret, never the address itself.
CREATE TABLE rate_limits (
	source		bytea NOT NULL,
	bucket		text NOT NULL,
	window_start	timestamptz NOT NULL,
	hits		int NOT NULL DEFAULT 0,
	PRIMARY KEY (source, bucket, window_start)
);

-- The key id inside a sealed value "v1.<key id>.<payload>" (ids may hold dots).
CREATE FUNCTION api.sealed_key_id(p_sealed text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT substring(p_sealed FROM '^v1\.(.*)\.[^.]*$')
$$;

-- "now" for report clocks: the test clock offset applies only when
-- certflowd's configuration enables it (it then passes clock_offset_s).
CREATE FUNCTION api.now(p_settings jsonb) RETURNS timestamptz LANGUAGE sql STABLE AS $$
	SELECT now() + make_interval(secs => coalesce((p_settings ->> 'clock_offset_s')::int, 0))
$$;

-- Counts one hit of SOURCE in BUCKET for the current hour; returns the
-- seconds to wait when over LIMIT, else 0.
CREATE FUNCTION api.rate_hit(p_source text, p_bucket text, p_limit int, p_settings jsonb)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	v_now timestamptz := api.now(p_settings);
	v_window timestamptz := date_trunc('hour', v_now);
	v_hits int;
BEGIN
	INSERT INTO rate_limits AS l (source, bucket, window_start, hits)
	VALUES (decode(p_source, 'hex'), p_bucket, v_window, 1)
	ON CONFLICT (source, bucket, window_start) DO UPDATE SET hits = l.hits + 1
	RETURNING hits INTO v_hits;
	IF v_hits > p_limit THEN
		RETURN greatest(1, ceil(extract(epoch FROM v_window + interval '1 hour' - v_now)))::int;
	END IF;
	RETURN 0;
END
$$;

CREATE FUNCTION api.rate_limited(p_wait int) RETURNS json LANGUAGE sql IMMUTABLE AS $$
	SELECT json_build_object('detail', 'too many attempts from this address; retry later',
	    'retry_after', p_wait)
$$;

-- Is a report about this enrollment still open?
CREATE FUNCTION api.enrollment_has_open_report(p_enrollment bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM reports
		       WHERE enrollment_id = p_enrollment AND state <> 'closed')
$$;

-- Sampling for blind review: an open report on this project (or on the
-- whole enrollment) makes a review certain.
CREATE OR REPLACE FUNCTION api.fraud_report_open(p_attempt bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (SELECT 1 FROM attempts t
		       JOIN projects j ON j.id = t.project_id
		       JOIN reports r ON r.enrollment_id = t.enrollment_id
		       WHERE t.id = p_attempt AND r.state <> 'closed'
			 AND (r.project_code IS NULL OR r.project_code = j.code))
$$;

------------------------------------------------------------------------
-- Reporting and following up (reporters)
------------------------------------------------------------------------

-- POST /v1/reports: anyone. With a valid token the report is confidential
-- (the reporter is known to investigators only); without one, anonymous and
-- rate-limited per source. The answer never depends on the subject.
CREATE FUNCTION api.report_submit(p_token text, p_request_id text, p_body jsonb,
	p_receipt_hash text, p_source text, p_reporter jsonb, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	v_user bigint;		-- the confidential reporter; NULL when anonymous
	v_now timestamptz := api.now(p_settings);
	v_wait int;
	v_enrollment bigint := (p_body #>> '{subject,enrollment_id}')::bigint;
	v_key bytea := decode(p_reporter ->> 'key', 'hex');
	r reports;
BEGIN
	IF p_token IS NOT NULL THEN
		a := api.authorize(p_token, NULL);
		IF a.status <> 0 THEN
			status := a.status; body := a.body; RETURN;
		END IF;
		v_user := a.user_id;
	ELSE
		v_wait := api.rate_hit(p_source, 'report', (p_settings ->> 'report_rate_limit')::int,
		    p_settings);
		IF v_wait > 0 THEN
			status := 429; body := api.rate_limited(v_wait); RETURN;
		END IF;
	END IF;
	IF p_body -> 'subject' ?| ARRAY['enrollment_id', 'credential_id', 'description_sealed'] IS NOT TRUE THEN
		status := 422;
		body := api.err('name an enrollment_id, a credential_id or a description', 'subject');
		RETURN;
	END IF;
	-- an unknown enrollment is kept for an investigator to link, silently
	IF NOT EXISTS (SELECT 1 FROM enrollments WHERE id = v_enrollment) THEN
		v_enrollment := NULL;
	END IF;
	INSERT INTO reports (receipt_hash, kind, category, enrollment_id, credential_id,
	    project_code, subject_sealed, body_sealed, evidence_sealed, reporter_key_sealed,
	    reporter_ct, reporter_check, key_id, received_at, ack_due_at)
	VALUES (decode(p_receipt_hash, 'hex'),
	    CASE WHEN v_user IS NULL THEN 'anonymous' ELSE 'confidential' END,
	    p_body ->> 'category', v_enrollment,
	    (p_body #>> '{subject,credential_id}')::bigint, p_body ->> 'project_code',
	    p_body #>> '{subject,description_sealed}', p_body ->> 'body_sealed',
	    p_body ->> 'evidence_sealed',
	    CASE WHEN v_user IS NOT NULL THEN p_reporter ->> 'key_sealed' END,
	    CASE WHEN v_user IS NOT NULL THEN
		(('x' || encode(int8send(v_user), 'hex'))::bit(64) #
		 ('x' || encode(substr(sha256(v_key || '\x7265706f72746572'::bytea), 1, 8),
		    'hex'))::bit(64))::bigint END,
	    CASE WHEN v_user IS NOT NULL THEN
		sha256(v_key || int8send(v_user) || '\x636865636b'::bytea) END,
	    p_reporter ->> 'key_id', v_now,
	    v_now + make_interval(days => (p_settings ->> 'report_ack_days')::int))
	RETURNING * INTO r;
	-- never the reporter in the audit log
	PERFORM api.audit(NULL, p_request_id, 'report.receive', 'report', r.id,
	    jsonb_build_object('category', r.category, 'kind', r.kind));
	status := 201;
	body := json_build_object('state', r.state, 'received_at', r.received_at,
	    'acknowledgement_due_at', r.ack_due_at);
END
$$;

CREATE FUNCTION api.report_messages_json(p_report bigint) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT coalesce(json_agg(json_build_object('id', m.id, 'from', m.author,
	    'body_sealed', m.body_sealed, 'at', m.created_at) ORDER BY m.id), '[]')
	FROM report_messages m WHERE m.report_id = p_report
$$;

-- The report a receipt opens, after the rate limit for its source. A wrong
-- receipt costs the same slow hash in certflowd and the same lookup here.
CREATE FUNCTION api.report_by_receipt(p_receipt_hash text, p_source text,
	p_settings jsonb, OUT r reports, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_wait int;
BEGIN
	v_wait := api.rate_hit(p_source, 'follow-up',
	    (p_settings ->> 'report_followup_rate_limit')::int, p_settings);
	IF v_wait > 0 THEN
		status := 429; body := api.rate_limited(v_wait); RETURN;
	END IF;
	SELECT * INTO r FROM reports WHERE receipt_hash = decode(p_receipt_hash, 'hex');
	IF r.id IS NULL THEN
		status := 404; body := api.err('no report has this receipt', 'receipt'); RETURN;
	END IF;
	status := 0;
END
$$;

-- POST /v1/reports/follow-up {receipt}: the reporter's view.
CREATE FUNCTION api.report_follow_up(p_token text, p_request_id text, p_body jsonb,
	p_receipt_hash text, p_source text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	x record;
BEGIN
	x := api.report_by_receipt(p_receipt_hash, p_source, p_settings);
	IF x.status <> 0 THEN
		status := x.status; body := x.body; RETURN;
	END IF;
	status := 200;
	body := json_build_object('state', (x.r).state, 'category', (x.r).category,
	    'received_at', (x.r).received_at, 'acknowledged_at', (x.r).acknowledged_at,
	    'messages', api.report_messages_json((x.r).id),
	    'outcome', (x.r).outcome, 'closed_at', (x.r).closed_at,
	    'feedback_sealed', (x.r).feedback_sealed);
END
$$;

-- POST /v1/reports/follow-up/messages {receipt, body}
CREATE FUNCTION api.report_follow_up_message(p_token text, p_request_id text, p_body jsonb,
	p_receipt_hash text, p_source text, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	x record;
	m report_messages;
BEGIN
	x := api.report_by_receipt(p_receipt_hash, p_source, p_settings);
	IF x.status <> 0 THEN
		status := x.status; body := x.body; RETURN;
	ELSIF (x.r).state = 'closed' THEN
		status := 409; body := api.err('this report is closed'); RETURN;
	END IF;
	INSERT INTO report_messages (report_id, author, body_sealed, key_id, created_at)
	VALUES ((x.r).id, 'reporter', p_body ->> 'body_sealed',
	    api.sealed_key_id(p_body ->> 'body_sealed'), api.now(p_settings))
	RETURNING * INTO m;
	PERFORM api.audit(NULL, p_request_id, 'report.message', 'report', (x.r).id,
	    jsonb_build_object('from', 'reporter'));
	status := 201;
	body := json_build_object('id', m.id, 'from', m.author, 'at', m.created_at);
END
$$;

------------------------------------------------------------------------
-- Investigating (pedagogy)
------------------------------------------------------------------------

CREATE FUNCTION api.report_overdue(r reports, p_now timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN r.state = 'received' AND p_now > r.ack_due_at THEN 'acknowledgement'
		    WHEN r.state = 'acknowledged' AND p_now > r.feedback_due_at THEN 'feedback'
	       END
$$;

CREATE FUNCTION api.report_summary_json(r reports, p_now timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', r.id, 'kind', r.kind, 'category', r.category,
	    'state', r.state, 'enrollment_id', r.enrollment_id,
	    'credential_id', r.credential_id, 'project_code', r.project_code,
	    'received_at', r.received_at, 'acknowledgement_due_at', r.ack_due_at,
	    'acknowledged_at', r.acknowledged_at, 'feedback_due_at', r.feedback_due_at,
	    'closed_at', r.closed_at, 'outcome', r.outcome, 'consequence', r.consequence,
	    'subject_notified_at', r.subject_notified_at,
	    'overdue', api.report_overdue(r, p_now))
$$;

-- GET /v1/reports?state= (pedagogy): overdue first, then by deadline.
CREATE FUNCTION api.report_list(p_token text, p_request_id text, p_query jsonb,
	p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	v_now timestamptz := api.now(p_settings);
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	status := 200;
	SELECT coalesce(json_agg(api.report_summary_json(r, v_now)
	    ORDER BY api.report_overdue(r, v_now) IS NULL,
		     CASE r.state WHEN 'received' THEN r.ack_due_at
				  WHEN 'acknowledged' THEN r.feedback_due_at
				  ELSE r.closed_at END, r.id), '[]')
	INTO body FROM reports r
	WHERE p_query ->> 'state' IS NULL OR r.state = p_query ->> 'state';
END
$$;

-- GET /v1/reports/{id} (pedagogy): everything, sealed values included
-- (certflowd opens them), the confidential reporter as its sealed parts.
CREATE FUNCTION api.report_get(p_token text, p_request_id text, p_id bigint,
	p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	r reports;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO r FROM reports WHERE id = p_id;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such report'); RETURN;
	END IF;
	status := 200;
	body := (api.report_summary_json(r, api.now(p_settings)) || jsonb_build_object(
	    'subject', jsonb_build_object('enrollment_id', r.enrollment_id,
		'credential_id', r.credential_id, 'description_sealed', r.subject_sealed),
	    'body_sealed', r.body_sealed,
	    'evidence_sealed', r.evidence_sealed, 'feedback_sealed', r.feedback_sealed,
	    'messages', api.report_messages_json(r.id),
	    'reporter_sealed', CASE WHEN r.kind = 'confidential' THEN
		jsonb_build_object('key', r.reporter_key_sealed, 'ct', r.reporter_ct,
		    'check', encode(r.reporter_check, 'hex')) END))::json;
END
$$;

-- Locks report P_ID for a transition by pedagogy; status 0 when allowed.
CREATE FUNCTION api.report_for_update(p_token text, p_id bigint, p_event text,
	OUT r reports, OUT user_id bigint, OUT next_state text, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, '{pedagogy}');
	user_id := a.user_id; status := a.status; body := a.body;
	IF a.status <> 0 THEN
		RETURN;
	END IF;
	SELECT * INTO r FROM reports WHERE id = p_id FOR UPDATE;
	IF r.id IS NULL THEN
		status := 404; body := api.err('no such report'); RETURN;
	END IF;
	IF p_event IS NOT NULL THEN
		next_state := api.transition('report', r.state, p_event, 'pedagogy');
		IF next_state IS NULL THEN
			status := 409; body := api.err(format('the report is %s', r.state));
		END IF;
	END IF;
END
$$;

-- POST /v1/reports/{id}/acknowledge (pedagogy): starts the feedback clock.
CREATE FUNCTION api.report_acknowledge(p_token text, p_request_id text, p_id bigint,
	p_body jsonb, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	x record;
	v_now timestamptz := api.now(p_settings);
	r reports;
BEGIN
	x := api.report_for_update(p_token, p_id, 'acknowledge');
	IF x.status <> 0 THEN
		status := x.status; body := x.body; RETURN;
	END IF;
	UPDATE reports SET state = x.next_state, acknowledged_at = v_now,
	    feedback_due_at = v_now + make_interval(months => (p_settings ->> 'report_feedback_months')::int)
	WHERE id = p_id RETURNING * INTO r;
	PERFORM api.audit(x.user_id, p_request_id, 'report.acknowledge', 'report', p_id, '{}');
	status := 200;
	body := api.report_summary_json(r, v_now)::json;
END
$$;

-- POST /v1/reports/{id}/messages {body} (pedagogy): a question or an answer to the reporter.
CREATE FUNCTION api.report_message(p_token text, p_request_id text, p_id bigint,
	p_body jsonb, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	x record;
	m report_messages;
BEGIN
	x := api.report_for_update(p_token, p_id, NULL);
	IF x.status <> 0 THEN
		status := x.status; body := x.body; RETURN;
	ELSIF (x.r).state = 'closed' THEN
		status := 409; body := api.err('the report is closed'); RETURN;
	END IF;
	INSERT INTO report_messages (report_id, author, investigator_id, body_sealed, key_id,
	    created_at)
	VALUES (p_id, 'investigator', x.user_id, p_body ->> 'body_sealed',
	    api.sealed_key_id(p_body ->> 'body_sealed'), api.now(p_settings))
	RETURNING * INTO m;
	PERFORM api.audit(x.user_id, p_request_id, 'report.message', 'report', p_id,
	    jsonb_build_object('from', 'investigator'));
	status := 201;
	body := json_build_object('id', m.id, 'from', m.author, 'at', m.created_at);
END
$$;

-- POST /v1/reports/{id}/link {enrollment_id} (pedagogy)
CREATE FUNCTION api.report_link(p_token text, p_request_id text, p_id bigint,
	p_body jsonb, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	x record;
	v_enrollment bigint := (p_body ->> 'enrollment_id')::bigint;
	r reports;
BEGIN
	x := api.report_for_update(p_token, p_id, NULL);
	IF x.status <> 0 THEN
		status := x.status; body := x.body; RETURN;
	ELSIF (x.r).state = 'closed' THEN
		status := 409; body := api.err('the report is closed'); RETURN;
	ELSIF NOT EXISTS (SELECT 1 FROM enrollments WHERE id = v_enrollment) THEN
		status := 422; body := api.err('no such enrollment', 'enrollment_id'); RETURN;
	END IF;
	UPDATE reports SET enrollment_id = v_enrollment WHERE id = p_id RETURNING * INTO r;
	PERFORM api.audit(x.user_id, p_request_id, 'report.link', 'report', p_id,
	    jsonb_build_object('enrollment_id', v_enrollment));
	status := 200;
	body := api.report_summary_json(r, api.now(p_settings))::json;
END
$$;

-- POST /v1/reports/{id}/notify-subject (pedagogy): from now on the subject's
-- enrollment view shows this report's category and outcome, nothing else.
CREATE FUNCTION api.report_notify_subject(p_token text, p_request_id text, p_id bigint,
	p_body jsonb, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	x record;
	r reports;
BEGIN
	x := api.report_for_update(p_token, p_id, NULL);
	IF x.status <> 0 THEN
		status := x.status; body := x.body; RETURN;
	ELSIF (x.r).enrollment_id IS NULL THEN
		status := 409; body := api.err('the report is not linked to an enrollment'); RETURN;
	ELSIF (x.r).subject_notified_at IS NOT NULL THEN
		status := 409; body := api.err('the subject was already notified'); RETURN;
	END IF;
	UPDATE reports SET subject_notified_at = api.now(p_settings) WHERE id = p_id
	RETURNING * INTO r;
	PERFORM api.audit(x.user_id, p_request_id, 'report.notify_subject', 'report', p_id, '{}');
	status := 200;
	body := api.report_summary_json(r, api.now(p_settings))::json;
END
$$;

-- The consequence of a substantiated report on its enrollment.
CREATE FUNCTION api.report_consequence(r reports, p_actor bigint, p_request_id text)
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
		    reopened_reason = 'a fraud report was substantiated; the project''s validation '
			'is withdrawn and it returns to the mentor for a new round'
		WHERE id = t.id;
		PERFORM api.audit(p_actor, p_request_id, 'attempt.invalidate', 'attempt', t.id,
		    jsonb_build_object('report_id', r.id));
		IF e.state <> 'in_progress' THEN
			UPDATE enrollments SET state = api.transition('enrollment', e.state, 'reopen', 'system'),
			    updated_at = now()
			WHERE id = e.id RETURNING * INTO e;
			PERFORM api.audit(NULL, p_request_id, 'enrollment.reopen', 'enrollment', e.id,
			    jsonb_build_object('attempt_id', t.id));
		END IF;
		RETURN json_build_object('applied', true,
		    'attempt', json_build_object('id', t.id, 'state', v_next),
		    'enrollment', json_build_object('id', e.id, 'state', e.state));
	END IF;
	-- revoke_credential: credentials are revoked by api.credential_revoke_for_report
	RETURN api.report_revoke_credential(r, p_actor, p_request_id);
END
$$;

-- Replaced when credentials exist; until then nothing is issued to revoke.
CREATE FUNCTION api.report_revoke_credential(r reports, p_actor bigint, p_request_id text)
RETURNS json LANGUAGE sql AS $$
	SELECT json_build_object('applied', false, 'detail', 'no credential was issued')
$$;

-- POST /v1/reports/{id}/close {outcome, consequence, feedback} (pedagogy)
CREATE FUNCTION api.report_close(p_token text, p_request_id text, p_id bigint,
	p_body jsonb, p_settings jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	x record;
	v_now timestamptz := api.now(p_settings);
	r reports;
	v_effect json;
BEGIN
	x := api.report_for_update(p_token, p_id, 'close');
	IF x.status <> 0 THEN
		status := x.status; body := x.body; RETURN;
	ELSIF p_body ->> 'outcome' = 'unfounded' AND p_body ->> 'consequence' <> 'none' THEN
		status := 422; body := api.err('an unfounded report has no consequence', 'consequence');
		RETURN;
	END IF;
	UPDATE reports SET state = x.next_state, closed_at = v_now,
	    acknowledged_at = coalesce(acknowledged_at, v_now),
	    outcome = p_body ->> 'outcome', consequence = p_body ->> 'consequence',
	    feedback_sealed = p_body ->> 'feedback_sealed'
	WHERE id = p_id RETURNING * INTO r;
	v_effect := api.report_consequence(r, x.user_id, p_request_id);
	PERFORM api.audit(x.user_id, p_request_id, 'report.close', 'report', p_id,
	    jsonb_build_object('outcome', r.outcome, 'consequence', r.consequence,
		'effect', v_effect));
	status := 200;
	body := (api.report_summary_json(r, v_now) || jsonb_build_object('effect', v_effect))::json;
END
$$;

------------------------------------------------------------------------
-- What the subject and the alerts see
------------------------------------------------------------------------

-- The enrollment view: notified reports, as category and outcome only.
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
		WHERE r.enrollment_id = e.id AND r.subject_notified_at IS NOT NULL), '[]'))
	FROM enrollments e WHERE e.id = p_id
$$;

-- GET /v1/alerts (pedagogy, admin): enrollments at risk or without notes,
-- then report deadlines that are near (report_reminder_days) or past.
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
	       OR coalesce(e.last_note_at, e.created_at) < now() - make_interval(days => p_gap_days));
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
