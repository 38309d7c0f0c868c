-- 0007_audit_chain.sql - tamper-evident audit. certflowd's sealer
-- (daemon/audit_sealer.c) links audit_log rows, in sealing order, into a
-- SHA-256 hash chain (api.audit_seal_batch) and stores each chain head it
-- signs with its Ed25519 key (api.audit_head_store); "certflow audit
-- verify" recomputes the chain in C (lib/auditchain.c) from the raw columns
-- and checks the heads. docs/SECURITY.md, "Tamper-evident audit".
--
-- Writers insert audit rows exactly as before: no lock, no chain work on
-- the request path. Identity ids are not committed in order, so the chain
-- does not follow ids: each round takes the committed rows that have no
-- seal yet, by id, and numbers them after the chain's last seal_seq; a row
-- that commits late gets a later seal_seq. seal_seq is gapless (only the
-- sealer assigns it, one instance at a time, in one transaction), so a gap
-- means a deleted row.
--
-- The seal lives in the row (seal_seq, row_hash) rather than in a side
-- table: a partial index over the unsealed rows makes finding the work an
-- index range over that work alone. A side table would need an anti-join
-- over the whole log each round, or a horizon of "ids that can no longer
-- commit" that PostgreSQL does not expose soundly. The UPDATE that seals is
-- paid by the sealer, in the background; writers never update audit rows,
-- so they never wait on its row locks, and pay one entry in a small index.

ALTER TABLE audit_log
	ADD COLUMN seal_seq bigint,	-- position in the chain, from 1
	ADD COLUMN row_hash bytea,	-- SHA-256(previous row_hash || api.audit_row_bytes(row))
	ADD CONSTRAINT audit_log_seal CHECK ((seal_seq IS NULL) = (row_hash IS NULL)
	    AND (seal_seq IS NULL OR (seal_seq >= 1 AND length(row_hash) = 32)));
CREATE UNIQUE INDEX audit_log_seal_seq ON audit_log (seal_seq) WHERE seal_seq IS NOT NULL;
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seal_seq IS NULL;

-- A chain head as certflowd signed it: the Ed25519 signature, by key
-- KEY_ID of signing_key_file, of "certflow-audit-head:" || seq (8 bytes
-- big-endian) || hash. Unsigned (both NULL) when certflowd has no
-- signing_key_file. A signed head vouches for every row up to its seq.
CREATE TABLE audit_heads (
	seq		bigint PRIMARY KEY CHECK (seq >= 1),
	hash		bytea NOT NULL CHECK (length(hash) = 32),
	key_id		text,
	signature	bytea CHECK (length(signature) = 64),
	signed_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((key_id IS NULL) = (signature IS NULL))
);

-- One field of the canonical row bytes: 0x00 for NULL, else 0x01, the
-- 4-byte big-endian length, the bytes (lib/auditchain.h).
CREATE FUNCTION api.audit_field(p bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p IS NULL THEN '\x00'::bytea
		    ELSE '\x01'::bytea || int4send(length(p)) || p END
$$;

-- The canonical bytes of audit row A, as lib/auditchain.c computes them:
-- bigints and the timestamp in PostgreSQL's binary form (8 bytes
-- big-endian; microseconds since 2000-01-01 UTC), texts in UTF-8, details
-- as the jsonb's text form.
CREATE FUNCTION api.audit_row_bytes(a audit_log) RETURNS bytea
LANGUAGE sql STABLE AS $$
	SELECT api.audit_field(int8send(a.id))
	    || api.audit_field(timestamptz_send(a.at))
	    || api.audit_field(int8send(a.actor_id))
	    || api.audit_field(convert_to(a.action, 'UTF8'))
	    || api.audit_field(convert_to(a.entity_type, 'UTF8'))
	    || api.audit_field(int8send(a.entity_id))
	    || api.audit_field(convert_to(a.details::text, 'UTF8'))
	    || api.audit_field(convert_to(a.request_id, 'UTF8'))
$$;

-- The sealer's step: seals up to P_LIMIT committed rows without a seal, by
-- id, after the chain's last row. 200 {"seq", "hash", "sealed"}: the new
-- head, for certflowd to sign and store (sealed 0: nothing new, but the
-- last head was never stored, e.g. certflowd stopped in between); 204
-- nothing to do; 409 another instance is sealing (it stores its own head).
CREATE FUNCTION api.audit_seal_batch(p_request_id text, p_limit int,
	OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_seq bigint;
	v_hash bytea;
	v_ids bigint[] := '{}';
	v_hashes bytea[] := '{}';
	r record;
BEGIN
	IF NOT pg_try_advisory_xact_lock(7263541007) THEN
		status := 409;
		body := api.err('another instance is sealing the audit chain');
		RETURN;
	END IF;
	SELECT seal_seq, row_hash INTO v_seq, v_hash FROM audit_log
	WHERE seal_seq IS NOT NULL ORDER BY seal_seq DESC LIMIT 1;
	IF NOT FOUND THEN
		v_seq := 0;
		v_hash := decode(repeat('00', 32), 'hex');
	END IF;
	-- rows visible here are committed: one still in flight comes next round
	FOR r IN SELECT a.id, api.audit_row_bytes(a) AS bytes FROM audit_log a
		 WHERE a.seal_seq IS NULL ORDER BY a.id LIMIT p_limit LOOP
		v_hash := sha256(v_hash || r.bytes);
		v_ids := v_ids || r.id;
		v_hashes := v_hashes || v_hash;
	END LOOP;
	IF cardinality(v_ids) > 0 THEN
		UPDATE audit_log a SET seal_seq = v_seq + u.n, row_hash = u.hash
		FROM unnest(v_ids, v_hashes) WITH ORDINALITY u (id, hash, n)
		WHERE a.id = u.id;
		v_seq := v_seq + cardinality(v_ids);
	ELSIF v_seq = 0 OR EXISTS (SELECT 1 FROM audit_heads WHERE seq = v_seq) THEN
		status := 204;
		RETURN;
	END IF;
	status := 200;
	body := json_build_object('seq', v_seq, 'hash', encode(v_hash, 'hex'),
	    'sealed', cardinality(v_ids));
END
$$;

-- Stores the head (P_SEQ, P_HASH hex) with its signature (hex) by
-- P_KEY_ID, both NULL when unsigned. 200 {"stored": 0|1} (0: another
-- instance stored it first); 409 when the chain's row at P_SEQ does not
-- have that hash (the chain changed since it was sealed).
CREATE FUNCTION api.audit_head_store(p_request_id text, p_seq bigint, p_hash text,
	p_key_id text, p_signature text, OUT status int, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
	v_n int;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM audit_log
		       WHERE seal_seq = p_seq AND row_hash = decode(p_hash, 'hex')) THEN
		status := 409;
		body := api.err(format('the audit chain has no row at seq %s with hash %s',
		    p_seq, p_hash));
		RETURN;
	END IF;
	INSERT INTO audit_heads (seq, hash, key_id, signature)
	VALUES (p_seq, decode(p_hash, 'hex'), p_key_id, decode(p_signature, 'hex'))
	ON CONFLICT (seq) DO NOTHING;
	GET DIAGNOSTICS v_n = ROW_COUNT;
	status := 200;
	body := json_build_object('stored', v_n);
END
$$;
