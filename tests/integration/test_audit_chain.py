"""
The tamper-evident audit chain (sql/0007_audit_chain.sql, daemon/audit_sealer.c,
cli/cmd_audit.c): certflowd seals new audit rows into a SHA-256 chain and signs
its heads; `certflow audit verify` recomputes the chain and names the first
altered, inserted or deleted row, a rewritten chain, a forged or stripped head
signature. A row committed late is sealed late, and is no tampering.

Tampering happens on the shared stack's database with the sealer paused (this
test holds the sealer's advisory lock), and every test puts back exactly what
it changed, in a finally block, then checks that the chain verifies again.
"""

import json
import os
import re
import select
import struct
import subprocess
import time
import uuid
from contextlib import contextmanager

import pytest

from cfclient import Client, slowness, wait_until
from conftest import conf_with, pg_environ, unique_email
from loop_helpers import certflow_cli

SEAL_LOCK = 7263541007
OK_RE = re.compile(r"^audit chain: (\d+) rows sealed, (\d+) unsealed yet, "
                   r"head seq (\d+) signed by (\S+): OK$", re.M)


# ------------------------------------------------------------------ helpers

def scalar(psql, sql):
    return psql(sql).strip()


def max_seq(psql):
    return int(scalar(psql, "SELECT coalesce(max(seal_seq), 0) FROM audit_log"))


def head_at_tip(psql):
    return scalar(psql, "SELECT coalesce((SELECT max(seq) FROM audit_heads), 0) = "
                        "coalesce((SELECT max(seal_seq) FROM audit_log), 0)") == "t"


def all_sealed(psql):
    return scalar(psql, "SELECT count(*) FROM audit_log WHERE seal_seq IS NULL") == "0" \
        and head_at_tip(psql)


def wait_sealed(psql):
    wait_until(lambda: all_sealed(psql), 30, interval=0.2,
               what="every audit row sealed and the head stored")


def activity(admin, n=3):
    for _ in range(n):
        r = admin.post("/v1/users", {"name": "Chained", "email": unique_email("chain"),
                                     "roles": ["student"]})
        assert r.status == 201, r


def verify(stack, *args, conf=None):
    p = subprocess.run([str(stack.certflow), "-c", str(conf or stack.conf), "audit", "verify"]
                       + [str(a) for a in args], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def assert_intact(stack, *args, **kw):
    rc, out, err = verify(stack, *args, **kw)
    assert rc == 0 and OK_RE.search(out), (rc, out, err)
    return OK_RE.search(out)


def assert_tampered(stack, expected, *args, **kw):
    rc, out, err = verify(stack, *args, **kw)
    assert rc == 1, (rc, out, err)
    assert "audit chain: TAMPERED: " in out, out
    assert expected in out, (expected, out)
    return out


class Session:
    """A psql session kept open: sends SQL, waits for a marker line."""

    def __init__(self, stack):
        self.p = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                                  env=pg_environ(stack), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = b""

    def run(self, sql, marker, timeout=30):
        self.p.stdin.write(("%s\nSELECT '%s';\n" % (sql, marker)).encode())
        self.p.stdin.flush()
        deadline = time.monotonic() + timeout * slowness()
        fd = self.p.stdout.fileno()
        while marker.encode() not in self.buf.split(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            assert ready, "psql session: no %r within %d s: %r" % (marker, timeout, self.buf)
            chunk = os.read(fd, 4096)
            assert chunk, "psql session ended: %r" % self.buf
            self.buf += chunk
        self.buf = b""

    def close(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        self.p.stdout.close()


@contextmanager
def sealer_paused(stack, psql):
    """Holds the sealer's advisory lock: certflowd seals nothing until the block ends."""
    wait_sealed(psql)
    s = Session(stack)
    try:
        s.run("SELECT pg_advisory_lock(%d);" % SEAL_LOCK, "locked")
        # a head being stored as the lock was taken
        wait_until(lambda: head_at_tip(psql), 30, interval=0.1, what="the last head stored")
        yield
    finally:
        s.close()


def middle_row(psql, away_from_tip=2):
    """(id, seq) of a sealed row with ROWS after it."""
    seq = max_seq(psql) - away_from_tip
    assert seq >= 2, "too few sealed rows"
    return int(scalar(psql, "SELECT id FROM audit_log WHERE seal_seq = %d" % seq)), seq


def backup_table():
    return "audit_chain_test_" + uuid.uuid4().hex[:12]


def shift_seqs(psql, from_seq, delta):
    """Moves every seal_seq >= FROM_SEQ by DELTA (+1 or -1), in an order the unique index allows."""
    order = "DESC" if delta > 0 else "ASC"
    psql("DO $$ DECLARE s bigint; BEGIN FOR s IN SELECT seal_seq FROM audit_log "
         "WHERE seal_seq >= %d ORDER BY seal_seq %s LOOP "
         "UPDATE audit_log SET seal_seq = s + (%d) WHERE seal_seq = s; END LOOP; END $$"
         % (from_seq, order, delta))


def openssl(*args, data=None):
    return subprocess.run(["openssl"] + list(args), input=data, capture_output=True,
                          check=True).stdout


def foreign_key(tmp_path):
    """A fresh Ed25519 key: (PEM path, raw public key)."""
    pem = tmp_path / ("other-%s.pem" % uuid.uuid4().hex[:6])
    openssl("genpkey", "-algorithm", "ed25519", "-out", str(pem))
    der = openssl("pkey", "-in", str(pem), "-pubout", "-outform", "DER")
    return pem, der[-32:]


def ed25519_sign(pem, msg, tmp_path):
    f = tmp_path / "msg.bin"
    f.write_bytes(msg)
    return openssl("pkeyutl", "-sign", "-inkey", str(pem), "-rawin", "-in", str(f))


def head_message(seq, hash_bytes):
    return b"certflow-audit-head:" + struct.pack(">q", seq) + hash_bytes


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def multikey(pub):
    raw = b"\xed\x01" + pub
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "z" + "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


# ------------------------------------------------------------------ the chain

def test_new_rows_are_sealed_and_the_chain_verifies_with_a_signed_head(stack, admin, psql):
    before = max_seq(psql)
    activity(admin)
    wait_sealed(psql)
    m = assert_intact(stack)
    sealed, unsealed, head, key = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)
    assert sealed >= before + 3
    assert unsealed == 0
    assert head == max_seq(psql) == sealed
    assert key == "dev1"
    # the seal_seq numbering is gapless and every head is signed
    assert scalar(psql, "SELECT count(*) = max(seal_seq) FROM audit_log "
                        "WHERE seal_seq IS NOT NULL") == "t"
    assert scalar(psql, "SELECT count(*) FROM audit_heads WHERE signature IS NULL") == "0"


def test_verify_checks_against_the_published_keys_document(stack, admin, psql, tmp_path):
    activity(admin, 1)
    wait_sealed(psql)
    with Client(stack) as anon:
        r = anon.get("/.well-known/certflow/keys")
    assert r.status == 200, r
    keys = tmp_path / "keys.json"
    keys.write_text(r.body.decode())
    assert_intact(stack, "--keys", keys)
    # the same key id with another public key: every head fails
    _, other_pub = foreign_key(tmp_path)
    doc = json.loads(r.body)
    for m in doc["verificationMethod"]:
        m["publicKeyMultibase"] = multikey(other_pub)
    forged = tmp_path / "forged-keys.json"
    forged.write_text(json.dumps(doc))
    assert_tampered(stack, "by dev1 does not verify", "--keys", forged)


def test_a_row_committed_late_is_sealed_after_rows_with_larger_ids(stack, admin, psql):
    rid = "late-" + uuid.uuid4().hex[:12]
    s = Session(stack)
    try:
        s.run("BEGIN; SELECT api.audit(NULL, '%s', 'test.late_commit', 'test', NULL, '{}');"
              % rid, "inserted")
        activity(admin, 2)
        wait_sealed(psql)   # the late row is not visible yet: all visible rows sealed
        assert_intact(stack)
        s.run("COMMIT;", "committed")
    finally:
        s.close()
    wait_sealed(psql)
    late_id, late_seq = map(int, scalar(
        psql, "SELECT id, seal_seq FROM audit_log WHERE request_id = '%s'" % rid).split("|"))
    # rows with larger ids, committed first, were sealed before it
    assert scalar(psql, "SELECT count(*) FROM audit_log WHERE id > %d AND seal_seq < %d"
                  % (late_id, late_seq)) != "0"
    assert_intact(stack)


def test_an_unsealed_row_is_not_tampering(stack, admin, psql):
    activity(admin, 1)
    with sealer_paused(stack, psql):
        rid = "unsealed-" + uuid.uuid4().hex[:12]
        psql("SELECT api.audit(NULL, '%s', 'test.unsealed', 'test', NULL, '{}')" % rid)
        try:
            rc, out, err = verify(stack)
            assert rc == 0, (out, err)
            m = OK_RE.search(out)
            assert m and int(m.group(2)) >= 1, out
        finally:
            psql("DELETE FROM audit_log WHERE request_id = '%s'" % rid)
    assert_intact(stack)


# ------------------------------------------------------------------ tampering

def test_an_altered_row_is_named(stack, admin, psql):
    activity(admin)
    with sealer_paused(stack, psql):
        row_id, seq = middle_row(psql)
        original = scalar(psql, "SELECT details::text FROM audit_log WHERE id = %d" % row_id)
        psql("UPDATE audit_log SET details = details || '{\"tampered\": true}' WHERE id = %d"
             % row_id)
        try:
            assert_tampered(stack, "row id %d (seq %d) was altered" % (row_id, seq))
        finally:
            psql("UPDATE audit_log SET details = $j$%s$j$::jsonb WHERE id = %d"
                 % (original, row_id))
        assert_intact(stack)


def test_a_deleted_row_is_named_by_its_seq(stack, admin, psql):
    activity(admin)
    with sealer_paused(stack, psql):
        row_id, seq = middle_row(psql)
        t = backup_table()
        psql("CREATE TABLE %s AS SELECT * FROM audit_log WHERE id = %d" % (t, row_id))
        try:
            psql("DELETE FROM audit_log WHERE id = %d" % row_id)
            assert_tampered(stack, "row at seq %d was deleted" % seq)
        finally:
            psql("INSERT INTO audit_log OVERRIDING SYSTEM VALUE SELECT * FROM %s "
                 "WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE id = %d)" % (t, row_id))
            psql("DROP TABLE %s" % t)
        assert_intact(stack)


def test_deleting_the_last_rows_is_caught_by_the_signed_head(stack, admin, psql):
    activity(admin)
    with sealer_paused(stack, psql):
        seq = max_seq(psql)
        t = backup_table()
        psql("CREATE TABLE %s AS SELECT * FROM audit_log WHERE seal_seq = %d" % (t, seq))
        try:
            psql("DELETE FROM audit_log WHERE seal_seq = %d" % seq)
            assert_tampered(stack, "row at seq %d was deleted: head seq %d covers it" % (seq, seq))
        finally:
            psql("INSERT INTO audit_log OVERRIDING SYSTEM VALUE SELECT * FROM %s t "
                 "WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.id = t.id)" % t)
            psql("DROP TABLE %s" % t)
        assert_intact(stack)


@pytest.mark.parametrize("hash_kind", ["bogus", "chained"])
def test_a_row_inserted_with_a_forged_seal_is_named(stack, admin, psql, hash_kind):
    activity(admin)
    with sealer_paused(stack, psql):
        _, seq = middle_row(psql)
        rid = "forged-" + uuid.uuid4().hex[:12]
        shift_seqs(psql, seq, +1)
        forged_id = None
        try:
            forged_id = int(scalar(psql,
                "INSERT INTO audit_log (action, entity_type, request_id, seal_seq, row_hash) "
                "VALUES ('user.create', 'user', '%s', %d, sha256('forged')) RETURNING id"
                % (rid, seq)).splitlines()[0])
            if hash_kind == "chained":
                # what a careful forger computes: the chain is right up to this row
                psql("UPDATE audit_log a SET row_hash = sha256((SELECT row_hash FROM audit_log "
                     "WHERE seal_seq = %d) || api.audit_row_bytes(a)) WHERE id = %d"
                     % (seq - 1, forged_id))
            assert_tampered(stack, "row id %d (seq %d) was inserted" % (forged_id, seq))
        finally:
            psql("DELETE FROM audit_log WHERE request_id = '%s'" % rid)
            shift_seqs(psql, seq + 1, -1)
        assert_intact(stack)


def test_a_chain_rewritten_from_an_altered_row_breaks_the_signed_head(stack, admin, psql):
    activity(admin)
    with sealer_paused(stack, psql):
        head = max_seq(psql)
        row_id, seq = middle_row(psql, away_from_tip=1)
        t = backup_table()
        psql("CREATE TABLE %s AS SELECT id, details, row_hash FROM audit_log WHERE seal_seq >= %d"
             % (t, seq))
        try:
            psql("UPDATE audit_log SET details = '{\"rewritten\": true}' WHERE id = %d" % row_id)
            # recompute every hash from there, as an attacker without the key can
            psql("DO $$ DECLARE r record; h bytea; BEGIN "
                 "SELECT row_hash INTO h FROM audit_log WHERE seal_seq = %d; "
                 "FOR r IN SELECT a.id, api.audit_row_bytes(a) b FROM audit_log a "
                 "WHERE seal_seq >= %d ORDER BY seal_seq LOOP h := sha256(h || r.b); "
                 "UPDATE audit_log SET row_hash = h WHERE id = r.id; END LOOP; END $$"
                 % (seq - 1, seq))
            out = assert_tampered(stack, "were rewritten")
            m = re.search(r"no longer matches head seq (\d+) \(signed by dev1\)", out)
            assert m and seq <= int(m.group(1)) <= head, out
        finally:
            psql("UPDATE audit_log a SET details = t.details, row_hash = t.row_hash "
                 "FROM %s t WHERE a.id = t.id" % t)
            psql("DROP TABLE %s" % t)
        assert_intact(stack)


def test_a_head_re_signed_with_another_key_is_refused(stack, admin, psql, tmp_path):
    activity(admin)
    with sealer_paused(stack, psql):
        seq = max_seq(psql)
        h_hex, sig_hex = scalar(psql, "SELECT encode(hash, 'hex'), encode(signature, 'hex') "
                                      "FROM audit_heads WHERE seq = %d" % seq).split("|")
        pem, _ = foreign_key(tmp_path)
        forged = ed25519_sign(pem, head_message(seq, bytes.fromhex(h_hex)), tmp_path)
        assert len(forged) == 64
        psql("UPDATE audit_heads SET signature = '\\x%s' WHERE seq = %d" % (forged.hex(), seq))
        try:
            assert_tampered(stack, "the signature of head seq %d by dev1 does not verify" % seq)
        finally:
            psql("UPDATE audit_heads SET signature = '\\x%s' WHERE seq = %d" % (sig_hex, seq))
        assert_intact(stack)


def test_stripped_head_signatures_are_refused_when_keys_are_known(stack, admin, psql, tmp_path):
    activity(admin, 1)
    wait_sealed(psql)
    activity(admin, 1)      # a second round: at least two heads
    with sealer_paused(stack, psql):
        seq = max_seq(psql)
        t = backup_table()
        psql("CREATE TABLE %s AS SELECT seq, key_id, signature FROM audit_heads" % t)
        try:
            psql("UPDATE audit_heads SET key_id = NULL, signature = NULL WHERE seq = %d" % seq)
            assert_tampered(stack, "head seq %d is unsigned although head seq" % seq)
            psql("UPDATE audit_heads SET key_id = NULL, signature = NULL")
            assert_tampered(stack, "no head is signed although signing keys are configured")
            # without keys (a certflowd that never signed), the same chain is consistent, unsigned
            keyless = tmp_path / "keyless.conf"
            keyless.write_text(conf_with(stack.conf_text(), signing_key_file='""',
                                         credential_issuer='""'))
            rc, out, err = verify(stack, conf=keyless)
            assert rc == 0, (out, err)
            assert "head seq %d NOT SIGNED" % seq in out, out
        finally:
            psql("UPDATE audit_heads h SET key_id = t.key_id, signature = t.signature "
                 "FROM %s t WHERE h.seq = t.seq" % t)
            psql("DROP TABLE %s" % t)
        assert_intact(stack)


def test_signed_heads_without_keys_cannot_be_checked(stack, admin, psql, tmp_path):
    activity(admin, 1)
    wait_sealed(psql)
    keyless = tmp_path / "keyless.conf"
    keyless.write_text(conf_with(stack.conf_text(), signing_key_file='""', credential_issuer='""'))
    rc, out, err = verify(stack, conf=keyless)
    assert rc == 2, (rc, out, err)
    assert "no keys were given" in err, err


def test_usage(stack):
    p = certflow_cli(stack, "audit")
    assert p.returncode == 2 and "usage: certflow [-c FILE] audit verify" in p.stderr, p
    p = certflow_cli(stack, "audit", "verify", "--keys")
    assert p.returncode == 2, p
