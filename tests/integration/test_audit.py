"""Audit rows written with each change, nothing written on failure, tokens stored only as digests."""

import subprocess
import uuid

from cfclient import TOKEN_ANYWHERE_RE, assert_problem
from conftest import pg_environ, sha256_hex, unique_email


def rid():
    return "audit-" + uuid.uuid4().hex[:16]


def audit_rows(psql, request_id):
    out = psql("select actor_id, action, entity_type, entity_id, details::text from audit_log "
               "where request_id = '%s' order by id" % request_id)
    return [line.split("|", 4) for line in out.splitlines() if line]


def count(psql, sql):
    return int(psql(sql))


def test_user_create_writes_one_audit_row_with_actor_entity_and_request_id(admin, admin_me, psql):
    r_id = rid()
    r = admin.post("/v1/users", {"name": "Audited", "email": unique_email("aud"), "roles": ["student"]},
                   headers={"X-Request-Id": r_id})
    assert r.status == 201, r
    u = r.json()
    rows = audit_rows(psql, r_id)
    assert len(rows) == 1, rows
    actor, action, etype, eid, details = rows[0]
    assert action == "user.create"
    assert etype == "user"
    assert int(eid) == u["id"]
    assert int(actor) == admin_me["id"]
    assert u["token"] not in details


def test_token_issue_writes_a_token_create_row(admin, admin_me, make_user, psql):
    user, _ = make_user(["student"])
    r_id = rid()
    r = admin.post("/v1/users/%d/tokens" % user["id"], headers={"X-Request-Id": r_id})
    assert r.status == 201, r
    t = r.json()
    rows = audit_rows(psql, r_id)
    assert len(rows) == 1, rows
    actor, action, etype, eid, details = rows[0]
    assert action == "token.create"
    assert int(actor) == admin_me["id"]
    assert int(eid) == t["id"]
    assert t["token"] not in details


def test_token_revoke_writes_a_token_revoke_row(admin, admin_me, make_user, psql):
    user, _ = make_user(["student"])
    r_id = rid()
    r = admin.delete("/v1/tokens/%d" % user["token_id"], headers={"X-Request-Id": r_id})
    assert r.status == 204, r
    rows = audit_rows(psql, r_id)
    assert len(rows) == 1, rows
    actor, action, etype, eid, _ = rows[0]
    assert action == "token.revoke"
    assert int(actor) == admin_me["id"]
    assert int(eid) == user["token_id"]
    assert psql("select revoked_at is not null from api_tokens where id = %d" % user["token_id"]) == "t"


def test_generated_request_id_is_recorded_in_the_audit_row(admin, psql):
    r = admin.post("/v1/users", {"name": "Gen Id", "email": unique_email("gid"), "roles": ["mentor"]})
    assert r.status == 201, r
    generated = r.headers.get("X-Request-Id")
    assert generated
    rows = audit_rows(psql, generated)
    assert len(rows) == 1 and rows[0][1] == "user.create", rows


def test_422_writes_no_audit_row_and_no_user(admin, psql):
    before_audit = count(psql, "select count(*) from audit_log")
    before_users = count(psql, "select count(*) from users")
    email = unique_email("fail")
    r_id = rid()
    r = admin.post("/v1/users", {"name": "x", "email": email, "roles": ["jury"]},
                   headers={"X-Request-Id": r_id})
    assert_problem(r, 422)
    assert count(psql, "select count(*) from audit_log") == before_audit
    assert count(psql, "select count(*) from users") == before_users
    assert count(psql, "select count(*) from users where email = '%s'" % email) == 0
    assert audit_rows(psql, r_id) == []


def test_409_writes_no_audit_row_and_no_token(admin, make_user, psql):
    user, _ = make_user(["student"])
    before_audit = count(psql, "select count(*) from audit_log")
    before_tokens = count(psql, "select count(*) from api_tokens")
    before_users = count(psql, "select count(*) from users")
    r = admin.post("/v1/users", {"name": "Dup", "email": user["email"], "roles": ["student"]})
    assert_problem(r, 409)
    assert count(psql, "select count(*) from audit_log") == before_audit
    assert count(psql, "select count(*) from api_tokens") == before_tokens
    assert count(psql, "select count(*) from users") == before_users


def test_reads_write_no_audit_row(admin, make_user, psql):
    user, client = make_user(["student"])
    before = count(psql, "select count(*) from audit_log")
    assert client.get("/v1/me").status == 200
    assert admin.get("/v1/users/%d" % user["id"]).status == 200
    assert count(psql, "select count(*) from audit_log") == before


def test_token_is_stored_as_its_sha256_digest(admin, make_user, psql):
    user, _ = make_user(["student"])
    digest = psql("select encode(digest, 'hex') from api_tokens where id = %d" % user["token_id"])
    assert digest == sha256_hex(user["token"])
    t = admin.post("/v1/users/%d/tokens" % user["id"]).json()
    digest2 = psql("select encode(digest, 'hex') from api_tokens where id = %d" % t["id"])
    assert digest2 == sha256_hex(t["token"])


def test_no_token_text_is_stored_in_api_tokens(make_user, psql):
    make_user(["student"])
    assert count(psql, "select count(*) from api_tokens where encode(digest, 'escape') like '%cf\\_%'") == 0


def test_token_text_appears_nowhere_in_the_database(stack, admin, make_user):
    user, _ = make_user(["student"])
    t = admin.post("/v1/users/%d/tokens" % user["id"]).json()
    dump = subprocess.run(["pg_dump", "--data-only", "--no-owner"], env=pg_environ(stack),
                          capture_output=True, timeout=120)
    assert dump.returncode == 0, dump.stderr.decode(errors="replace")
    data = dump.stdout
    assert user["email"].encode() in data        # the dump does contain this test's rows
    assert user["token"].encode() not in data
    assert t["token"].encode() not in data
    assert stack.admin_token.encode() not in data
    m = TOKEN_ANYWHERE_RE.search(data.decode("utf-8", errors="replace"))
    assert m is None, "something shaped like a token is stored in the database"


def test_token_text_never_reaches_the_log(stack, admin, make_user):
    user, client = make_user(["student"])
    client.get("/v1/me")
    t = admin.post("/v1/users/%d/tokens" % user["id"]).json()
    log = stack.log.read_text(errors="replace")
    assert user["token"] not in log
    assert t["token"] not in log
    assert stack.admin_token not in log
