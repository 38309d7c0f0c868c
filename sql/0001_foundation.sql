-- 0001_foundation: users and their roles, API tokens (stored as SHA-256
-- digests only), the audit log, and the api schema whose functions are the
-- one round trip of each HTTP route: token check, role check, write and audit
-- row in one call, hence one transaction.
--
-- Route functions share one shape: (p_token text: hex SHA-256 of the bearer
-- token, p_request_id text, path ids..., body jsonb..., ...) returning
-- (status int, body json). Errors return {"detail", "field"?}; certflowd wraps
-- them in RFC 9457 problem details. Input shape is validated by certflowd
-- before the call (lib/schemas.c); the functions check what needs the data.

CREATE SCHEMA api;

CREATE TABLE users (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	email		text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	roles		text[] NOT NULL CHECK (cardinality(roles) BETWEEN 1 AND 6
			    AND roles <@ ARRAY['admin', 'pedagogy', 'mentor',
					       'evaluator', 'jury', 'student']),
	jury_category	text CHECK (jury_category IN ('expert', 'recruiter',
						  'pedagogy', 'mentor')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT users_jury_category_iff_jury
	    CHECK ((jury_category IS NOT NULL) = ('jury' = ANY (roles)))
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE api_tokens (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		bigint NOT NULL REFERENCES users (id),
	digest		bytea NOT NULL UNIQUE CHECK (length(digest) = 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

CREATE TABLE audit_log (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	actor_id	bigint REFERENCES users (id),
	action		text NOT NULL,
	entity_type	text NOT NULL,
	entity_id	bigint,
	details		jsonb NOT NULL DEFAULT '{}',
	request_id	text
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id);

-- {"detail": ..., "field": ...} without a null field.
CREATE FUNCTION api.err(p_detail text, p_field text DEFAULT NULL)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_field IS NULL
		    THEN json_build_object('detail', p_detail)
		    ELSE json_build_object('detail', p_detail, 'field', p_field) END
$$;

-- The caller behind a token digest, or no row when unknown or revoked.
CREATE FUNCTION api.caller(p_token text)
RETURNS TABLE (user_id bigint, roles text[]) LANGUAGE sql STABLE AS $$
	SELECT u.id, u.roles
	FROM api_tokens t JOIN users u ON u.id = t.user_id
	WHERE t.digest = decode(p_token, 'hex') AND t.revoked_at IS NULL
$$;

-- Authenticates and checks that the caller holds one of P_ROLES (NULL: any
-- role). status 0 means allowed; otherwise status/body is the answer to give.
CREATE FUNCTION api.authorize(p_token text, p_roles text[],
	OUT user_id bigint, OUT roles text[], OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT c.user_id, c.roles INTO user_id, roles FROM api.caller(p_token) c;
	IF user_id IS NULL THEN
		status := 401;
		body := api.err('unknown or revoked token');
	ELSIF p_roles IS NOT NULL AND NOT (roles && p_roles) THEN
		status := 403;
		body := api.err('this route requires the role ' ||
		    array_to_string(p_roles, ' or '));
	ELSE
		status := 0;
	END IF;
END
$$;

CREATE FUNCTION api.user_json(u users) RETURNS json LANGUAGE sql STABLE AS $$
	SELECT json_build_object('id', u.id, 'name', u.name, 'email', u.email,
	    'roles', u.roles, 'jury_category', u.jury_category,
	    'created_at', u.created_at)
$$;

CREATE FUNCTION api.audit(p_actor bigint, p_request_id text, p_action text,
	p_entity_type text, p_entity_id bigint, p_details jsonb DEFAULT '{}')
RETURNS void LANGUAGE sql AS $$
	INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details,
	    request_id)
	VALUES (p_actor, p_action, p_entity_type, p_entity_id, p_details,
	    p_request_id)
$$;

-- GET /v1/me
CREATE FUNCTION api.me(p_token text, p_request_id text,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, NULL);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT 200, api.user_json(u) INTO status, body
	FROM users u WHERE u.id = a.user_id;
END
$$;

-- Creates a user and their first token. Shared by POST /v1/users and
-- `certflow user add` (P_ACTOR NULL). The token digest comes from certflowd;
-- the token itself never reaches the database.
CREATE FUNCTION api.user_create_as(p_actor bigint, p_request_id text,
	p_body jsonb, p_token_digest text, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_roles text[] := ARRAY(SELECT jsonb_array_elements_text(p_body -> 'roles'));
	v_category text := p_body ->> 'jury_category';
	v_user users;
	v_token_id bigint;
BEGIN
	IF (SELECT count(DISTINCT r) FROM unnest(v_roles) r) <> cardinality(v_roles) THEN
		status := 422; body := api.err('must not name a role twice', 'roles'); RETURN;
	ELSIF 'jury' = ANY (v_roles) AND v_category IS NULL THEN
		status := 422; body := api.err('is required for the jury role', 'jury_category'); RETURN;
	ELSIF NOT 'jury' = ANY (v_roles) AND v_category IS NOT NULL THEN
		status := 422; body := api.err('is allowed only with the jury role', 'jury_category'); RETURN;
	END IF;

	INSERT INTO users (name, email, roles, jury_category)
	VALUES (p_body ->> 'name', p_body ->> 'email', v_roles, v_category)
	ON CONFLICT ((lower(email))) DO NOTHING
	RETURNING * INTO v_user;
	IF v_user.id IS NULL THEN
		status := 409; body := api.err('a user with this e-mail already exists', 'email'); RETURN;
	END IF;

	INSERT INTO api_tokens (user_id, digest)
	VALUES (v_user.id, decode(p_token_digest, 'hex'))
	RETURNING id INTO v_token_id;

	PERFORM api.audit(p_actor, p_request_id, 'user.create', 'user', v_user.id,
	    jsonb_build_object('email', v_user.email, 'roles', v_roles,
		'jury_category', v_category, 'token_id', v_token_id));
	status := 201;
	body := (api.user_json(v_user)::jsonb || jsonb_build_object('token_id', v_token_id))::json;
END
$$;

-- POST /v1/users (admin)
CREATE FUNCTION api.user_create(p_token text, p_request_id text, p_body jsonb,
	p_token_digest text, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, '{admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT r.status, r.body INTO status, body
	FROM api.user_create_as(a.user_id, p_request_id, p_body, p_token_digest) r;
END
$$;

-- GET /v1/users/{id} (admin, or the user themself)
CREATE FUNCTION api.user_get(p_token text, p_request_id text, p_id bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, NULL);
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	IF NOT 'admin' = ANY (a.roles) AND a.user_id <> p_id THEN
		status := 403; body := api.err('this route requires the role admin'); RETURN;
	END IF;
	SELECT 200, api.user_json(u) INTO status, body FROM users u WHERE u.id = p_id;
	IF NOT FOUND THEN
		status := 404; body := api.err('no such user');
	END IF;
END
$$;

-- POST /v1/users/{id}/tokens (admin)
CREATE FUNCTION api.token_create(p_token text, p_request_id text, p_user_id bigint,
	p_body jsonb, p_token_digest text, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
	t api_tokens;
BEGIN
	a := api.authorize(p_token, '{admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	INSERT INTO api_tokens (user_id, digest)
	SELECT u.id, decode(p_token_digest, 'hex') FROM users u WHERE u.id = p_user_id
	RETURNING * INTO t;
	IF t.id IS NULL THEN
		status := 404; body := api.err('no such user'); RETURN;
	END IF;
	PERFORM api.audit(a.user_id, p_request_id, 'token.create', 'token', t.id,
	    jsonb_build_object('user_id', t.user_id));
	status := 201;
	body := json_build_object('id', t.id, 'user_id', t.user_id,
	    'created_at', t.created_at);
END
$$;

-- Revokes a token. Shared by DELETE /v1/tokens/{id} and `certflow token
-- revoke` (P_ACTOR NULL).
CREATE FUNCTION api.token_revoke_as(p_actor bigint, p_request_id text,
	p_token_id bigint, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_user bigint;
BEGIN
	UPDATE api_tokens SET revoked_at = now()
	WHERE id = p_token_id AND revoked_at IS NULL
	RETURNING user_id INTO v_user;
	IF v_user IS NULL THEN
		IF EXISTS (SELECT 1 FROM api_tokens WHERE id = p_token_id) THEN
			status := 409; body := api.err('this token is already revoked');
		ELSE
			status := 404; body := api.err('no such token');
		END IF;
		RETURN;
	END IF;
	PERFORM api.audit(p_actor, p_request_id, 'token.revoke', 'token',
	    p_token_id, jsonb_build_object('user_id', v_user));
	status := 204;
	body := NULL;
END
$$;

-- DELETE /v1/tokens/{id} (admin)
CREATE FUNCTION api.token_revoke(p_token text, p_request_id text, p_token_id bigint,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	a record;
BEGIN
	a := api.authorize(p_token, '{admin}');
	IF a.status <> 0 THEN
		status := a.status; body := a.body; RETURN;
	END IF;
	SELECT r.status, r.body INTO status, body
	FROM api.token_revoke_as(a.user_id, p_request_id, p_token_id) r;
END
$$;
