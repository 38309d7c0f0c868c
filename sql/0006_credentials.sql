-- 0006_credentials.sql - diplomas and certificates as W3C Verifiable
-- Credentials: which enrollment gets one and when, the facts it states,
-- its place in a revocation status list, its revocation (by an admin, by a
-- substantiated fraud report, or because its enrollment no longer stands),
-- and the public routes that serve them.
--
-- The database records facts; certflowd builds the documents (lib/vc.c) and
-- signs them with its Ed25519 key: a credential's signed document is stored
-- by certflowd's signer (daemon/signer.c) soon after issuance, and served as
-- stored ever after. Until then certflowd signs the facts on the fly, the
-- same bytes (Ed25519 is deterministic and "created" is the issuance time).
--
-- Issuance and revocation are settled at commit by one deferred trigger per
-- table that can change them (enrollments, reports): whatever route moved an
-- enrollment to awarded/completed, or closed the last open report on it,
-- the credential is issued in the same transaction, with its audit row.

------------------------------------------------------------------------
-- The request id for rows written by triggers: api.audit leaves it in a
-- transaction-local setting.
------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION api.audit(p_actor bigint, p_request_id text, p_action text,
	p_entity_type text, p_entity_id bigint, p_details jsonb DEFAULT '{}')
RETURNS void LANGUAGE sql AS $$
	INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details,
	    request_id)
	VALUES (p_actor, p_action, p_entity_type, p_entity_id, p_details,
	    p_request_id);
	SELECT set_config('certflow.request_id', coalesce(p_request_id, ''), true);
$$;

CREATE FUNCTION api.current_request_id() RETURNS text LANGUAGE sql STABLE AS $$
	SELECT nullif(current_setting('certflow.request_id', true), '')
$$;

------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------

-- A W3C Bitstring Status List of 131,072 revocation bits. Indexes are drawn
-- at random so that an index says nothing about when or to whom it was
-- given; a list takes new credentials until half full.
CREATE TABLE status_lists (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	size		int NOT NULL DEFAULT 131072 CHECK (size = 131072),
	used		int NOT NULL DEFAULT 0,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()	-- the list credential's validFrom
);

CREATE TABLE credentials (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	enrollment_id	bigint NOT NULL REFERENCES enrollments (id),
	kind		text NOT NULL CHECK (kind IN ('diploma', 'certificate')),
	state		text NOT NULL DEFAULT 'issued' CHECK (state IN ('issued', 'revoked')),
	facts		jsonb NOT NULL,		-- what the document states (lib/vc.h)
	issued_at	timestamptz NOT NULL,
	status_list	bigint NOT NULL REFERENCES status_lists (id),
	status_index	int NOT NULL CHECK (status_index >= 0 AND status_index < 131072),
	document	text,			-- the signed document, once stored
	key_id		text,			-- the key that signed it
	signed_at	timestamptz,
	revoked_at	timestamptz,
	revoked_by	bigint REFERENCES users (id),
	revoke_reason	text,			-- admin's reason; never public
	revoke_category	text CHECK (revoke_category IN ('administrative', 'withdrawn',
				'plagiarism', 'impersonation', 'cheating', 'other')),
	revoke_report_id bigint REFERENCES reports (id),
	UNIQUE (status_list, status_index),
	CHECK ((document IS NULL) = (key_id IS NULL)),
	CHECK ((state = 'revoked') = (revoked_at IS NOT NULL AND revoke_category IS NOT NULL))
);
-- one standing credential per enrollment; revoked ones stay, verifiable
CREATE UNIQUE INDEX credentials_one_issued ON credentials (enrollment_id)
	WHERE state = 'issued';
CREATE INDEX credentials_enrollment ON credentials (enrollment_id);
CREATE INDEX credentials_unsigned ON credentials (issued_at) WHERE document IS NULL;
CREATE INDEX credentials_revoked ON credentials (status_list) WHERE state = 'revoked';

-- A substantiated report asked to revoke a credential not issued yet: none
-- will be, for this enrollment.
ALTER TABLE enrollments ADD COLUMN credential_withheld_by bigint REFERENCES reports (id);

-- Reports name credentials by their public id (a UUID), never checked at
-- submission: the answer must not tell whether it exists.
ALTER TABLE reports ALTER COLUMN credential_id TYPE uuid USING NULL;

------------------------------------------------------------------------
-- Issuance
------------------------------------------------------------------------

-- Why enrollment E cannot get a credential now, or NULL when it can. For
-- pedagogy's eyes only: it may name an open report.
CREATE FUNCTION api.credential_blocker(e enrollments) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE
	    WHEN e.kind = 'diploma' AND e.state <> 'awarded' THEN
		format('the enrollment is %s; a diploma is issued once the jury awards it', e.state)
	    WHEN e.kind = 'certificate' AND e.state <> 'completed' THEN
		format('the enrollment is %s; a certificate is issued once it is completed', e.state)
	    WHEN e.credential_withheld_by IS NOT NULL THEN
		format('report %s was substantiated: the credential is withheld',
		    e.credential_withheld_by)
	    WHEN api.enrollment_has_open_report(e.id) THEN
		format('report %s about this enrollment is open: no credential is issued '
		    'until it is closed', (SELECT min(id) FROM reports
		    WHERE enrollment_id = e.id AND state <> 'closed'))
	    WHEN EXISTS (SELECT 1 FROM credentials c WHERE c.enrollment_id = e.id
			 AND c.state = 'issued') THEN
		'a credential was already issued for this enrollment'
	    END
$$;

-- The skills the enrollment proved: each skill of each validated project,
-- acquired at the project's validating defense.
CREATE FUNCTION api.credential_skills(p_enrollment bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('code', k.code, 'title', k.title,
	    'project', j.code) ORDER BY t.position, k.id), '[]')
	FROM attempts t JOIN projects j ON j.id = t.project_id
	JOIN defenses d ON d.attempt_id = t.id AND d.round = t.round AND d.state = 'decided'
	    AND d.verdict = 'validated'
	JOIN defense_skills ds ON ds.defense_id = d.id AND ds.acquired
	JOIN skills k ON k.id = ds.skill_id
	WHERE t.enrollment_id = p_enrollment AND t.state = 'validated'
$$;

CREATE FUNCTION api.utc_text(p_at timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- What the credential of enrollment E states (lib/vc.h, vc_credential_document).
CREATE FUNCTION api.credential_facts(p_id uuid, e enrollments, p_issued timestamptz,
	p_list bigint, p_index int) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', p_id, 'kind', e.kind,
	    'issued_at', api.utc_text(p_issued),
	    'student', jsonb_build_object('name', u.name),
	    'path', jsonb_build_object('code', p.code, 'title', p.title),
	    'projects', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', j.code,
		    'title', j.title) ORDER BY t.position), '[]')
		FROM attempts t JOIN projects j ON j.id = t.project_id
		WHERE t.enrollment_id = e.id),
	    'skills', api.credential_skills(e.id),
	    'jury', CASE WHEN e.kind = 'diploma' THEN (
		SELECT jsonb_build_object('session_id', c.session_id,
		    'decided_at', api.utc_text(c.decided_at))
		FROM jury_cases c WHERE c.enrollment_id = e.id AND c.decision = 'award'
		ORDER BY c.decided_at DESC LIMIT 1) END,
	    'status_list', p_list, 'status_index', p_index)
	FROM users u, paths p
	WHERE u.id = e.student_id AND p.id = e.path_id
$$;

-- A free index in a status list, drawn uniformly from strong random bytes.
CREATE FUNCTION api.status_slot(OUT list bigint, OUT idx int)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT id INTO list FROM status_lists WHERE used < size / 2
	ORDER BY id LIMIT 1 FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO status_lists DEFAULT VALUES RETURNING id INTO list;
	END IF;
	LOOP
		-- 20 random bits, reduced mod 2^17: uniform
		idx := ('x' || left(replace(gen_random_uuid()::text, '-', ''), 5))::bit(20)::int
		    % 131072;
		EXIT WHEN NOT EXISTS (SELECT 1 FROM credentials
				      WHERE status_list = list AND status_index = idx);
	END LOOP;
	UPDATE status_lists SET used = used + 1 WHERE id = list;
END
$$;

-- Issues the credential of enrollment E (locked by the caller), which
-- api.credential_blocker allows.
CREATE FUNCTION api.credential_issue(e enrollments, p_request_id text) RETURNS credentials
LANGUAGE plpgsql AS $$
DECLARE
	s record;
	v_id uuid := gen_random_uuid();
	v_now timestamptz := date_trunc('second', now());
	c credentials;
BEGIN
	s := api.status_slot();
	INSERT INTO credentials (id, enrollment_id, kind, facts, issued_at, status_list,
	    status_index)
	VALUES (v_id, e.id, e.kind, api.credential_facts(v_id, e, v_now, s.list, s.idx),
	    v_now, s.list, s.idx)
	RETURNING * INTO c;
	PERFORM api.audit(NULL, p_request_id, 'credential.issue', 'enrollment', e.id,
	    jsonb_build_object('credential_id', c.id, 'kind', c.kind));
	RETURN c;
END
$$;

-- Revokes credential C (locked by the caller).
CREATE FUNCTION api.credential_revoke_as(c credentials, p_actor bigint, p_role text,
	p_request_id text, p_category text, p_reason text, p_report bigint)
RETURNS credentials LANGUAGE plpgsql AS $$
BEGIN
	UPDATE credentials SET state = api.transition('credential', c.state, 'revoke', p_role),
	    revoked_at = now(), revoked_by = p_actor, revoke_category = p_category,
	    revoke_reason = p_reason, revoke_report_id = p_report
	WHERE id = c.id RETURNING * INTO c;
	UPDATE status_lists SET updated_at = now() WHERE id = c.status_list;
	PERFORM api.audit(p_actor, p_request_id, 'credential.revoke', 'enrollment',
	    c.enrollment_id, jsonb_build_object('credential_id', c.id,
		'category', p_category, 'report_id', p_report));
	RETURN c;
END
$$;

-- At commit: enrollment P_ENROLLMENT gets the credential it is due, and
-- loses the one it no longer stands behind (reopened, excluded). After an
-- admin's revocation nothing is issued by itself again (pedagogy may, with
-- POST /v1/enrollments/{id}/credential); after a withdrawal (a project
-- reopened) the credential is issued anew once the enrollment is complete.
CREATE FUNCTION api.credentials_settle(p_enrollment bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	e enrollments;
	c credentials;
	v_report bigint := nullif(current_setting('certflow.report_id', true), '')::bigint;
	v_category text;
BEGIN
	SELECT * INTO e FROM enrollments WHERE id = p_enrollment FOR UPDATE;
	SELECT * INTO c FROM credentials WHERE enrollment_id = e.id AND state = 'issued'
	FOR UPDATE;
	IF FOUND AND e.state NOT IN ('awarded', 'completed') THEN
		SELECT category INTO v_category FROM reports WHERE id = v_report;
		PERFORM api.credential_revoke_as(c, NULL, 'system', api.current_request_id(),
		    coalesce(v_category, 'withdrawn'),
		    format('the enrollment is %s', e.state), v_report);
	ELSIF NOT FOUND AND api.credential_blocker(e) IS NULL
	    -- an admin's revocation stands: a new credential is then pedagogy's call
	    AND NOT EXISTS (SELECT 1 FROM credentials WHERE enrollment_id = e.id
			    AND revoke_category = 'administrative') THEN
		PERFORM api.credential_issue(e, api.current_request_id());
	END IF;
END
$$;

CREATE FUNCTION api.trg_enrollment_credentials() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM api.credentials_settle(NEW.id);
	RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER enrollments_credentials
	AFTER UPDATE OF state ON enrollments
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
	EXECUTE FUNCTION api.trg_enrollment_credentials();

CREATE FUNCTION api.trg_report_credentials() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.enrollment_id IS NOT NULL THEN
		PERFORM api.credentials_settle(NEW.enrollment_id);
	END IF;
	RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER reports_credentials
	AFTER UPDATE OF state ON reports
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.state = 'closed' AND OLD.state <> 'closed')
	EXECUTE FUNCTION api.trg_report_credentials();

------------------------------------------------------------------------
-- Fraud reports: revoke_credential, and credentials named by their UUID
------------------------------------------------------------------------

-- The consequence revoke_credential: the standing credential of the
-- report's enrollment (or the one the report names) is revoked with the
-- report's category, and none will be issued for that enrollment again.
CREATE OR REPLACE FUNCTION api.report_revoke_credential(r reports, p_actor bigint,
	p_request_id text)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
	c credentials;
	v_enrollment bigint := r.enrollment_id;
BEGIN
	IF v_enrollment IS NULL THEN
		SELECT enrollment_id INTO v_enrollment FROM credentials WHERE id = r.credential_id;
	END IF;
	IF v_enrollment IS NULL THEN
		RETURN json_build_object('applied', false, 'detail', 'no enrollment is linked');
	END IF;
	-- none is issued again for this enrollment, whatever happens next
	UPDATE enrollments SET credential_withheld_by = r.id WHERE id = v_enrollment;
	SELECT * INTO c FROM credentials WHERE enrollment_id = v_enrollment AND state = 'issued'
	FOR UPDATE;
	IF FOUND THEN
		c := api.credential_revoke_as(c, p_actor, 'pedagogy', p_request_id, r.category,
		    format('report %s was substantiated', r.id), r.id);
		RETURN json_build_object('applied', true, 'credential',
		    json_build_object('id', c.id, 'state', c.state));
	END IF;
	PERFORM api.audit(p_actor, p_request_id, 'credential.withhold', 'enrollment',
	    v_enrollment, jsonb_build_object('report_id', r.id));
	RETURN json_build_object('applied', true, 'detail',
	    'no credential was issued yet; none will be for this enrollment');
END
$$;

-- POST /v1/reports/{id}/close: as before, and the report is named for the
-- credential settlement at commit (the revocation carries its category).
CREATE OR REPLACE FUNCTION api.report_close(p_token text, p_request_id text, p_id bigint,
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
	PERFORM set_config('certflow.report_id', p_id::text, true);
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

-- POST /v1/reports: as before; a credential is named by its UUID, and when
-- it exists its enrollment is the report's subject (the answer is the same).
CREATE OR REPLACE FUNCTION api.report_submit(p_token text, p_request_id text, p_body jsonb,
	p_receipt_hash text, p_source text, p_reporter jsonb, p_settings jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	v_user bigint;		-- the confidential reporter; NULL when anonymous
	v_now timestamptz := api.now(p_settings);
	v_wait int;
	v_enrollment bigint := (p_body #>> '{subject,enrollment_id}')::bigint;
	v_credential uuid := (p_body #>> '{subject,credential_id}')::uuid;
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
	-- an unknown subject is kept for an investigator to link, silently
	IF NOT EXISTS (SELECT 1 FROM enrollments WHERE id = v_enrollment) THEN
		v_enrollment := NULL;
	END IF;
	IF v_enrollment IS NULL AND v_credential IS NOT NULL THEN
		SELECT enrollment_id INTO v_enrollment FROM credentials WHERE id = v_credential;
	END IF;
	INSERT INTO reports (receipt_hash, kind, category, enrollment_id, credential_id,
	    project_code, subject_sealed, body_sealed, evidence_sealed, reporter_key_sealed,
	    reporter_ct, reporter_check, key_id, received_at, ack_due_at)
	VALUES (decode(p_receipt_hash, 'hex'),
	    CASE WHEN v_user IS NULL THEN 'anonymous' ELSE 'confidential' END,
	    p_body ->> 'category', v_enrollment, v_credential, p_body ->> 'project_code',
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

------------------------------------------------------------------------
-- The enrollment view: its credential
------------------------------------------------------------------------

-- What anyone who reads the enrollment sees: the standing (or last)
-- credential, or "pending" while one is due but blocked - never why.
CREATE FUNCTION api.enrollment_credential_json(e enrollments) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT CASE
	    WHEN c.id IS NOT NULL THEN jsonb_build_object('id', c.id, 'state', c.state,
		'issued_at', c.issued_at, 'revoked_at', c.revoked_at)
	    WHEN e.credential_withheld_by IS NOT NULL THEN jsonb_build_object('state', 'withheld')
	    WHEN (e.kind = 'diploma' AND e.state = 'awarded')
		OR (e.kind = 'certificate' AND e.state = 'completed') THEN
		jsonb_build_object('state', 'pending')
	    END
	FROM (SELECT NULL) one
	LEFT JOIN LATERAL (SELECT * FROM credentials WHERE enrollment_id = e.id
			   ORDER BY state = 'issued' DESC, issued_at DESC LIMIT 1) c ON true
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
	    'credential', api.enrollment_credential_json(e))
	FROM enrollments e WHERE e.id = p_id
$$;

-- GET /v1/enrollments/{id}: pedagogy and admins also read why a due
-- credential is not issued (an open report); the student reads "pending".
CREATE OR REPLACE FUNCTION api.enrollment_get(p_token text, p_request_id text, p_id bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
	v_body jsonb;
	e enrollments;
BEGIN
	a := api.authorize_enrollment_reader(p_token, p_id);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	v_body := api.enrollment_json(p_id);
	IF v_body #>> '{credential,state}' = 'pending' AND EXISTS (SELECT 1 FROM users
	    WHERE id = a.user_id AND roles && ARRAY['pedagogy', 'admin']) THEN
		SELECT * INTO e FROM enrollments WHERE id = p_id;
		v_body := jsonb_set(v_body, '{credential,blocked_by}',
		    to_jsonb(api.credential_blocker(e)));
	END IF;
	status := 200;
	body := v_body::json;
END
$$;

------------------------------------------------------------------------
-- Routes
------------------------------------------------------------------------

-- GET /v1/credentials/{uuid} (public): 200 with the stored signed document
-- as the body, or 203 {facts} for certflowd to sign (never sent as 203).
CREATE FUNCTION api.credential_get(p_token text, p_request_id text, p_id uuid,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c credentials;
BEGIN
	SELECT * INTO c FROM credentials WHERE id = p_id;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such credential'); RETURN;
	ELSIF c.document IS NOT NULL THEN
		status := 200; body := c.document::json; RETURN;
	END IF;
	status := 203;
	body := json_build_object('facts', c.facts);
END
$$;

-- The public status of credential C.
CREATE FUNCTION api.credential_status_json(c credentials) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', c.id, 'kind', c.kind, 'state', c.state,
	    'issued_at', api.utc_text(c.issued_at), 'revoked_at', api.utc_text(c.revoked_at),
	    'reason_category', c.revoke_category,
	    'status_list', c.status_list, 'status_index', c.status_index)
$$;

-- GET /v1/credentials/{uuid}/status (public): issued or revoked, and the
-- revocation's category (administrative, withdrawn, or a fraud category).
CREATE FUNCTION api.credential_status(p_token text, p_request_id text, p_id uuid,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	c credentials;
BEGIN
	SELECT * INTO c FROM credentials WHERE id = p_id;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such credential'); RETURN;
	END IF;
	status := 200;
	body := api.credential_status_json(c);
END
$$;

-- POST /v1/credentials/{uuid}/revoke {reason} (admin)
CREATE FUNCTION api.credential_revoke(p_token text, p_request_id text, p_id uuid,
	p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	c credentials;
BEGIN
	a := api.authorize(p_token, '{admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO c FROM credentials WHERE id = p_id FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such credential'); RETURN;
	ELSIF api.transition('credential', c.state, 'revoke', 'admin') IS NULL THEN
		status := 409; body := api.err(format('the credential is %s', c.state)); RETURN;
	END IF;
	c := api.credential_revoke_as(c, a.user_id, 'admin', p_request_id, 'administrative',
	    p_body ->> 'reason', NULL);
	status := 200;
	body := api.credential_status_json(c);
END
$$;

-- POST /v1/enrollments/{id}/credential (pedagogy, admin): issues the
-- credential now if it is due (it normally is, at once, when the enrollment
-- is awarded or completed); 409 saying why not.
CREATE FUNCTION api.enrollment_credential_issue(p_token text, p_request_id text,
	p_enrollment bigint, p_body jsonb, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	e enrollments;
	c credentials;
	v_why text;
BEGIN
	a := api.authorize(p_token, '{pedagogy,admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT * INTO e FROM enrollments WHERE id = p_enrollment FOR UPDATE;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such enrollment'); RETURN;
	END IF;
	SELECT * INTO c FROM credentials WHERE enrollment_id = e.id AND state = 'issued';
	IF FOUND THEN
		status := 200; body := api.credential_status_json(c); RETURN;
	END IF;
	v_why := api.credential_blocker(e);
	IF v_why IS NOT NULL THEN
		status := 409; body := api.err(v_why); RETURN;
	END IF;
	c := api.credential_issue(e, p_request_id);
	status := 201;
	body := api.credential_status_json(c);
END
$$;

-- GET /v1/status-lists/{id} (public): 203 {list, valid_from, revoked:[index]}
-- for certflowd to encode and sign (never sent as 203).
CREATE FUNCTION api.status_list_get(p_token text, p_request_id text, p_list bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	l status_lists;
BEGIN
	SELECT * INTO l FROM status_lists WHERE id = p_list;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such status list'); RETURN;
	END IF;
	status := 203;
	body := json_build_object('list', l.id, 'valid_from', api.utc_text(l.updated_at),
	    'revoked', (SELECT coalesce(json_agg(status_index ORDER BY status_index), '[]')
		FROM credentials WHERE status_list = l.id AND state = 'revoked'));
END
$$;

------------------------------------------------------------------------
-- The signer (daemon/signer.c)
------------------------------------------------------------------------

-- Credentials not signed yet, oldest first: 200 [{id, facts}] or 204.
CREATE FUNCTION api.credentials_unsigned(p_request_id text, p_limit int,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT json_agg(json_build_object('id', id, 'facts', facts) ORDER BY issued_at)
	INTO body FROM (SELECT id, facts, issued_at FROM credentials
			WHERE document IS NULL ORDER BY issued_at LIMIT p_limit) x;
	status := CASE WHEN body IS NULL THEN 204 ELSE 200 END;
END
$$;

-- Stores signed documents [{id, key_id, document}]; a document already
-- stored is kept (another instance signed it first, the same bytes).
CREATE FUNCTION api.credentials_store(p_request_id text, p_docs jsonb,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_n int;
BEGIN
	UPDATE credentials c SET document = d ->> 'document', key_id = d ->> 'key_id',
	    signed_at = now()
	FROM jsonb_array_elements(p_docs) d
	WHERE c.id = (d ->> 'id')::uuid AND c.document IS NULL;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	status := 200;
	body := json_build_object('stored', v_n);
END
$$;
