-- 0010_session_settings.sql - what a transaction remembers, kept in one
-- setting whose name never changes, and the audit row's plan cached.
--
-- 0008 kept the version a row had before this transaction in a setting
-- named after the row (certflow.v_<table>_<id>). PostgreSQL keeps every
-- custom setting name a session has ever used, for the session's life: a
-- pooled connection that had touched 40,000 rows carried 40,000 of them,
-- each new one cost a sort of them all (20 ms at that size) and every commit
-- a walk over them all (PostgreSQL 15's AtEOXact_GUC): certflowd's
-- long-lived connections slowed down with every row they touched. Now the
-- versions live in one transaction-local setting, certflow.versions, as
-- ";<table>:<id>=<version>" entries: a session uses a fixed set of names,
-- and a transaction's list holds only the rows it changed.
--
-- api.audit was a two-statement LANGUAGE sql function, which PostgreSQL
-- parses and plans again at every call; in PL/pgSQL its plans are cached
-- per connection. Same effects.

CREATE OR REPLACE FUNCTION api.trg_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	v_all text := coalesce(current_setting('certflow.versions', true), '');
	v_key text := format(';%s:%s=', TG_TABLE_NAME, OLD.id);
BEGIN
	IF strpos(v_all, v_key) = 0 THEN
		PERFORM set_config('certflow.versions', v_all || v_key || OLD.version, true);
		NEW.version := OLD.version + 1;
	ELSE
		NEW.version := OLD.version;
	END IF;
	RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION api.version_before(p_table text, p_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_all text := coalesce(current_setting('certflow.versions', true), '');
	v_key text := format(';%s:%s=', p_table, p_id);
	v_at int := strpos(v_all, v_key);
	v_version bigint;
BEGIN
	IF p_table !~ '^[a-z_]+$' THEN
		RAISE EXCEPTION 'version_before: malformed table name %', p_table;
	END IF;
	IF v_at > 0 THEN
		RETURN split_part(substr(v_all, v_at + length(v_key)), ';', 1)::bigint;
	END IF;
	EXECUTE format('SELECT version FROM %I WHERE id = $1', p_table)
	INTO v_version USING p_id;
	RETURN v_version;
END
$$;

CREATE OR REPLACE FUNCTION api.audit(p_actor bigint, p_request_id text, p_action text,
	p_entity_type text, p_entity_id bigint, p_details jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (actor_id, action, entity_type, entity_id, details,
	    request_id)
	VALUES (p_actor, p_action, p_entity_type, p_entity_id, p_details,
	    p_request_id);
	PERFORM set_config('certflow.request_id', coalesce(p_request_id, ''), true);
END
$$;
