"""HTTP-level errors: problem+json bodies, 400/404/405/413/415/422, and X-Request-Id."""

from pathlib import Path

import pytest

from cfclient import REQUEST_ID_RE, assert_problem
from conftest import unique_email

JSON_SUITE = Path("/work/shared/testdata/JSONTestSuite/test_parsing")
# The 0-byte file is "no body": a 400 too where the route requires a field
# (test_an_empty_body_is_400_where_the_route_requires_a_field below).
MUST_REJECT = sorted(JSON_SUITE.glob("n_*.json")) if JSON_SUITE.is_dir() else []


def valid_user_body(**over):
    body = {"name": "Err Test", "email": unique_email("err"), "roles": ["student"]}
    body.update(over)
    return body


# --------------------------------------------------------------- 400

def test_malformed_json_is_400_with_line_and_column(admin):
    raw = b'{"name": "x",\n  "email": }'
    p = assert_problem(admin.post("/v1/users", raw_body=raw), 400)
    assert p.get("line") == 2, p
    assert isinstance(p.get("column"), int) and p["column"] > 0, p


def test_duplicate_json_keys_are_400(admin):
    raw = b'{"name": "a", "name": "b", "email": "%s", "roles": ["student"]}' % \
        unique_email("dup").encode()
    assert_problem(admin.post("/v1/users", raw_body=raw), 400)


@pytest.mark.parametrize("raw", [b"[]", b'"a string"', b"42", b"null", b"true"],
                         ids=["array", "string", "number", "null", "bool"])
def test_non_object_json_body_is_400(admin, raw):
    assert_problem(admin.post("/v1/users", raw_body=raw), 400)


def test_trailing_garbage_after_the_object_is_400(admin):
    raw = b'{"name": "a", "email": "%s", "roles": ["student"]} {}' % unique_email("tg").encode()
    assert_problem(admin.post("/v1/users", raw_body=raw), 400)


def test_invalid_utf8_in_a_string_is_400(admin):
    raw = b'{"name": "\xff\xfe", "email": "%s", "roles": ["student"]}' % unique_email("u8").encode()
    assert_problem(admin.post("/v1/users", raw_body=raw), 400)


@pytest.mark.skipif(not MUST_REJECT, reason="JSONTestSuite not available")
@pytest.mark.parametrize("path", MUST_REJECT, ids=[p.name for p in MUST_REJECT])
def test_json_the_rfc_forbids_is_400(admin, path):
    r = admin.post("/v1/users", raw_body=path.read_bytes())
    assert_problem(r, 400)


def test_an_empty_body_is_400_where_the_route_requires_a_field(admin):
    r = admin.post("/v1/users", raw_body=b"")
    p = assert_problem(r, 400)
    assert "empty" in p["detail"], p


def test_an_empty_body_reads_as_an_empty_object_where_nothing_is_required(admin):
    user = admin.post("/v1/users", {"name": "No Body", "email": unique_email("nobody"),
                                    "roles": ["mentor"]}).json()
    r = admin.post("/v1/users/%d/tokens" % user["id"], raw_body=b"")
    assert r.status == 201, r
    assert r.json()["token"]


# --------------------------------------------------------------- 415 / 413

def test_body_with_a_non_json_content_type_is_415(admin):
    r = admin.post("/v1/users", raw_body=b'{"a": 1}', content_type="text/plain")
    assert_problem(r, 415)


def test_form_content_type_is_415(admin):
    r = admin.post("/v1/users", raw_body=b"name=x", content_type="application/x-www-form-urlencoded")
    assert_problem(r, 415)


def test_json_content_type_with_charset_is_accepted(admin):
    r = admin.post("/v1/users", body=valid_user_body(), content_type="application/json; charset=utf-8")
    assert r.status == 201, r


def test_body_one_byte_over_max_body_size_is_413(admin):
    raw = b" " * (1024 * 1024 + 1)
    r = admin.post("/v1/users", raw_body=raw)
    assert r.status == 413, r


def test_413_answer_is_a_problem_document(admin):
    raw = b" " * (1024 * 1024 + 1)
    assert_problem(admin.post("/v1/users", raw_body=raw), 413)


def test_body_of_exactly_max_body_size_is_not_413(admin):
    body = valid_user_body()
    import json as _json
    text = _json.dumps(body).encode()
    raw = text + b" " * (1024 * 1024 - len(text))
    assert len(raw) == 1024 * 1024
    r = admin.post("/v1/users", raw_body=raw)
    assert r.status == 201, r


# --------------------------------------------------------------- 404 / 405

@pytest.mark.parametrize("path", ["/nope", "/v1", "/v1/users/abc", "/v1/users/0",
                                  "/v1/users/-1", "/v1/users/01", "/v1/users/1/x",
                                  "/v1/users/99999999999999999999"])
def test_unknown_or_non_canonical_path_is_404(admin, path):
    assert_problem(admin.get(path), 404)


def test_put_on_me_is_405_with_an_allow_header(admin):
    r = admin.request("PUT", "/v1/me", body={})
    assert_problem(r, 405)
    allow = [m.strip() for m in (r.headers.get("Allow") or "").split(",")]
    assert "GET" in allow, r.headers.get("Allow")
    assert "PUT" not in allow


def test_delete_on_users_collection_is_405_allowing_post(admin):
    r = admin.delete("/v1/users")
    assert_problem(r, 405)
    allow = [m.strip() for m in (r.headers.get("Allow") or "").split(",")]
    assert "POST" in allow, r.headers.get("Allow")


# --------------------------------------------------------------- 422

def test_unknown_field_is_422_naming_it(admin):
    r = admin.post("/v1/users", body=valid_user_body(nmae=1))
    assert_problem(r, 422, field="nmae")


def test_wrong_type_is_422_naming_the_field(admin):
    r = admin.post("/v1/users", body=valid_user_body(name=5))
    assert_problem(r, 422, field="name")


def test_roles_as_a_string_is_422_on_roles(admin):
    r = admin.post("/v1/users", body=valid_user_body(roles="student"))
    assert_problem(r, 422, field="roles")


def test_missing_field_is_422_naming_it(admin):
    body = valid_user_body()
    del body["email"]
    assert_problem(admin.post("/v1/users", body=body), 422, field="email")


def test_422_problem_type_differs_from_400_problem_type(admin):
    p422 = assert_problem(admin.post("/v1/users", body=valid_user_body(nmae=1)), 422)
    p400 = assert_problem(admin.post("/v1/users", raw_body=b"{"), 400)
    assert p422["type"] != p400["type"]


# --------------------------------------------------------------- X-Request-Id

def test_every_answer_carries_a_generated_request_id(anon, admin):
    seen = set()
    for client, path in ((anon, "/healthz"), (anon, "/metrics"), (anon, "/v1/me"),
                         (admin, "/v1/me"), (admin, "/nope")):
        r = client.get(path)
        rid = r.headers.get("X-Request-Id")
        assert rid and REQUEST_ID_RE.match(rid), (path, r.status, rid)
        seen.add(rid)
    assert len(seen) == 5, "request ids are not unique: %r" % seen


def test_valid_client_request_id_is_echoed(admin):
    rid = "abc-123.X_y"
    r = admin.get("/v1/me", headers={"X-Request-Id": rid})
    assert r.status == 200
    assert r.headers.get("X-Request-Id") == rid


def test_client_request_id_of_64_chars_is_echoed(admin):
    rid = "a" * 64
    r = admin.get("/v1/me", headers={"X-Request-Id": rid})
    assert r.headers.get("X-Request-Id") == rid


@pytest.mark.parametrize("bad", ["a" * 65, "has space", "semi;colon", "é"],
                         ids=["65-chars", "space", "semicolon", "non-ascii"])
def test_invalid_client_request_id_is_replaced_by_a_generated_one(admin, bad):
    r = admin.get("/v1/me", headers={"X-Request-Id": bad.encode("utf-8").decode("latin-1")})
    assert r.status == 200, r
    rid = r.headers.get("X-Request-Id")
    assert rid and rid != bad and REQUEST_ID_RE.match(rid), rid


def test_problem_body_carries_the_echoed_request_id(admin):
    r = admin.get("/nope", headers={"X-Request-Id": "req-404-check"})
    p = assert_problem(r, 404)
    assert r.headers.get("X-Request-Id") == "req-404-check"
    if "request_id" in p:
        assert p["request_id"] == "req-404-check"
