"""Bearer tokens: 401 cases, roles (403), issuing and revoking tokens."""

import base64
import os

import pytest

from cfclient import TOKEN_RE, Client, assert_problem


def random_token():
    return "cf_" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def assert_401(r):
    p = assert_problem(r, 401)
    www = r.headers.get("WWW-Authenticate") or ""
    assert www.lower().startswith("bearer"), "WWW-Authenticate is %r" % www
    return p


# --------------------------------------------------------------- 401

def test_missing_token_is_401_with_www_authenticate(anon):
    assert_401(anon.get("/v1/me"))


@pytest.mark.parametrize("value", [
    "Bearer abc",
    "Bearer cf_short",
    "Bearer cf_" + "A" * 44,
    "Bearer xx_" + "A" * 43,
    "Bearer cf_" + "A" * 42 + "!",
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "",
], ids=["short", "short-prefixed", "too-long", "wrong-prefix", "bad-char", "basic", "no-token", "empty"])
def test_malformed_authorization_is_401(anon, value):
    assert_401(anon.get("/v1/me", headers={"Authorization": value}))


def test_well_formed_unknown_token_is_401(anon):
    assert_401(anon.get("/v1/me", token=random_token()))


def test_unknown_token_cannot_create_users(anon):
    r = anon.post("/v1/users", {"name": "x", "email": "x@example.test", "roles": ["student"]},
                  token=random_token())
    assert_401(r)


def test_bearer_scheme_is_case_insensitive(stack):
    c = Client(stack)
    try:
        r = c.get("/v1/me", headers={"Authorization": "bearer " + stack.admin_token})
        assert r.status == 200, r
    finally:
        c.close()


def test_public_routes_need_no_token(anon):
    assert anon.get("/healthz").status == 200
    assert anon.get("/metrics").status == 200


# --------------------------------------------------------------- 403

def test_student_cannot_create_users(make_user):
    _, student = make_user(["student"])
    r = student.post("/v1/users", {"name": "x", "email": "forbidden@example.test", "roles": ["student"]})
    assert_problem(r, 403)


@pytest.mark.parametrize("role", ["pedagogy", "mentor", "evaluator", "student"])
def test_non_admin_cannot_issue_tokens(make_user, role):
    user, client = make_user([role])
    assert_problem(client.post("/v1/users/%d/tokens" % user["id"]), 403)


def test_non_admin_cannot_revoke_tokens(make_user):
    user, client = make_user(["mentor"])
    assert_problem(client.delete("/v1/tokens/%d" % user["token_id"]), 403)


def test_non_admin_cannot_read_another_user(make_user):
    other, _ = make_user(["student"])
    _, client = make_user(["mentor"])
    assert_problem(client.get("/v1/users/%d" % other["id"]), 403)


# --------------------------------------------------------------- tokens

def test_created_token_has_the_documented_shape(make_user):
    user, _ = make_user(["student"])
    assert TOKEN_RE.match(user["token"]), "token does not look like cf_ + 43 base64url chars"
    assert isinstance(user["token_id"], int) and user["token_id"] > 0


def test_created_token_authenticates_as_its_user(make_user):
    user, client = make_user(["evaluator"])
    r = client.get("/v1/me")
    assert r.status == 200, r
    assert r.json()["id"] == user["id"]


def test_admin_issues_a_second_token_and_both_work(stack, admin, make_user):
    user, first = make_user(["student"])
    r = admin.post("/v1/users/%d/tokens" % user["id"])
    assert r.status == 201, r
    t = r.json()
    assert set(t) >= {"id", "user_id", "token", "created_at"}, t
    assert t["user_id"] == user["id"]
    assert t["id"] != user["token_id"]
    assert TOKEN_RE.match(t["token"])
    assert t["token"] != user["token"]
    second = Client(stack, token=t["token"])
    try:
        assert second.get("/v1/me").json()["id"] == user["id"]
        assert first.get("/v1/me").json()["id"] == user["id"]
    finally:
        second.close()


def test_issue_token_with_empty_json_object_body_is_accepted(admin, make_user):
    user, _ = make_user(["student"])
    r = admin.post("/v1/users/%d/tokens" % user["id"], body={})
    assert r.status == 201, r


def test_issue_token_for_unknown_user_is_404(admin):
    assert_problem(admin.post("/v1/users/999999999/tokens"), 404)


def test_revoked_token_is_401(admin, make_user):
    user, client = make_user(["student"])
    assert client.get("/v1/me").status == 200
    r = admin.delete("/v1/tokens/%d" % user["token_id"])
    assert r.status == 204, r
    assert r.body == b""
    assert_401(client.get("/v1/me"))


def test_revoking_twice_is_409(admin, make_user):
    user, _ = make_user(["student"])
    assert admin.delete("/v1/tokens/%d" % user["token_id"]).status == 204
    assert_problem(admin.delete("/v1/tokens/%d" % user["token_id"]), 409)


def test_revoking_an_unknown_token_is_404(admin):
    assert_problem(admin.delete("/v1/tokens/999999999"), 404)


def test_revoking_one_token_leaves_the_others_valid(stack, admin, make_user):
    user, first = make_user(["student"])
    t = admin.post("/v1/users/%d/tokens" % user["id"]).json()
    assert admin.delete("/v1/tokens/%d" % user["token_id"]).status == 204
    second = Client(stack, token=t["token"])
    try:
        assert second.get("/v1/me").status == 200
        assert_401(first.get("/v1/me"))
    finally:
        second.close()


def test_token_is_not_shown_after_creation(admin, make_user):
    user, _ = make_user(["student"])
    r = admin.get("/v1/users/%d" % user["id"])
    assert r.status == 200, r
    assert "token" not in r.json()
    assert user["token"].encode() not in r.body


def test_me_does_not_echo_the_token(make_user):
    user, client = make_user(["student"])
    r = client.get("/v1/me")
    assert r.status == 200, r
    assert "token" not in r.json()
    assert user["token"].encode() not in r.body
