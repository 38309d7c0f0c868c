"""
Hostile JSON bodies. Every file of JSONTestSuite's test_parsing folder (kept
outside the project, in shared/testdata/JSONTestSuite, beside the repository;
never copied in) is POSTed to /v1/paths on one keep-alive connection: n_ files,
y_ files whose value is not an object, and duplicate keys are 400 problems; y_
objects are 400 or 422 as the schema says; i_ files are never a 5xx; after the
sweep certflowd still answers. Then per-field limits, depth, id ranges,
invalid UTF-8, and SQL/HTML metacharacters stored and read back verbatim.
"""

import json
from pathlib import Path

import pytest

from cfclient import assert_problem
from conftest import proc_alive, unique_email

SUITE = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "JSONTestSuite" / "test_parsing"


def suite_files(prefix):
    return sorted(SUITE.glob(prefix + "*.json")) if SUITE.is_dir() else []


def need_suite():
    if not SUITE.is_dir():
        pytest.skip("JSONTestSuite not found at %s (shared/testdata beside the repository)" % SUITE)


def duplicate_keys(data):
    """True when some object of DATA (valid JSON) repeats a key."""
    found = []

    def hook(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            found.append(keys)
        return dict(pairs)

    json.loads(data, object_pairs_hook=hook)
    return bool(found)


def expected(path):
    """The statuses certflowd may answer for PATH's bytes as a body of POST /v1/paths."""
    data = path.read_bytes()
    kind = path.name[:2]
    if kind == "i_":
        return None                     # anything but a 5xx
    if len(data) == 0:
        return {400}                    # no body, where POST /v1/paths needs one (test_http_errors)
    if kind == "n_":
        return {400}
    value = json.loads(data)
    if not isinstance(value, dict) or duplicate_keys(data):
        return {400}
    return {400, 422}


def test_every_json_test_suite_file_gets_the_answer_the_rfc_and_schema_call_for(stack, admin):
    need_suite()
    files = suite_files("n_") + suite_files("y_") + suite_files("i_")
    assert len(files) > 300, "JSONTestSuite looks incomplete: %d files" % len(files)
    wrong = []
    connects = admin.connects
    for path in files:
        r = admin.post("/v1/paths", raw_body=path.read_bytes())
        want = expected(path)
        if r.status >= 500 or (want is not None and r.status not in want):
            wrong.append("%s: %d (want %s) %r" % (path.name, r.status, want, r.body[:120]))
            continue
        if r.status >= 400:
            assert_problem(r, r.status)
    assert not wrong, "\n".join(wrong)
    assert admin.connects - connects <= 1, "the sweep did not keep its connection alive"
    assert admin.get("/healthz").status == 200
    assert proc_alive(stack.pid)


def test_duplicate_keys_anywhere_are_400(admin):
    top = b'{"code": "dup-a", "code": "dup-b", "title": "t", "projects": []}'
    nested = (b'{"code": "dup-c", "title": "t", "projects": [{"code": "p1", "title": "a", '
              b'"title": "b", "skills": []}]}')
    for raw in (top, nested):
        p = assert_problem(admin.post("/v1/paths", raw_body=raw), 400)
        assert "duplicate" in p["detail"], p


# --------------------------------------------------------------- limits

def path_body(code, title="A path", projects=1, skills=1):
    return {"code": code, "title": title,
            "projects": [{"code": "p%d" % i, "title": "Project %d" % i,
                          "skills": [{"code": "p%d-s%d" % (i, k), "title": "Skill %d" % k}
                                     for k in range(skills)]}
                         for i in range(projects)]}


def code():
    return "hostile-" + unique_email("x").split("@")[0][-12:]


@pytest.mark.parametrize("change,field", [
    (dict(title="t" * 201), "title"),
    (dict(title=""), "title"),
    (dict(code="c" * 65), "code"),
    (dict(projects=51), "projects"),
    (dict(projects=0), "projects"),
    (dict(skills=6), "projects[0].skills"),
], ids=["title-201", "title-empty", "code-65", "projects-51", "projects-0", "skills-6"])
def test_lengths_and_counts_beyond_the_schema_are_422_naming_the_field(admin, change, field):
    args = dict(title="A path", projects=1, skills=1)
    args.update({k: v for k, v in change.items() if k != "code"})
    body = path_body(change.get("code", code()), **args)
    assert_problem(admin.post("/v1/paths", body), 422, field=field)


def test_lengths_at_the_limits_are_accepted(admin):
    body = path_body(code(), title="t" * 200, projects=1, skills=5)
    r = admin.post("/v1/paths", body)
    assert r.status == 201, r
    assert r.json()["title"] == "t" * 200


def nested(depth):
    """An object whose "x" nests arrays so that the body is DEPTH levels deep."""
    return b'{"x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_nesting_deeper_than_32_is_400_and_32_is_not_a_depth_error(admin):
    p = assert_problem(admin.post("/v1/paths", raw_body=nested(33)), 400)
    assert "deeper" in p["detail"], p
    p = assert_problem(admin.post("/v1/paths", raw_body=nested(32)), 422)
    assert p.get("field") == "x", p
    assert_problem(admin.post("/v1/paths", raw_body=nested(5000)), 400)


# --------------------------------------------------------------- ids

@pytest.mark.parametrize("raw,statuses", [
    (b"0", {422}), (b"-1", {422}), (b"9223372036854775808", {400, 422}),
    (b"-9223372036854775809", {400, 422}), (b"1e3", {422}), (b"1.0", {422}),
    (b'"1"', {422}), (b"true", {422}), (b"null", {422}), (b"[1]", {422}),
    (b"9223372036854775807", {422}),
], ids=["zero", "minus-one", "2^63", "-2^63-1", "1e3", "1.0", "string", "bool", "null",
        "array", "int64-max"])
def test_ids_must_be_positive_int64_integers(admin, make_user, raw, statuses):
    evaluator, _ = make_user(["evaluator"])
    r = admin.post("/v1/users/%d/qualifications" % evaluator["id"],
                   raw_body=b'{"path_id": ' + raw + b"}")
    p = assert_problem(r, r.status)
    assert r.status in statuses, r
    if r.status == 422:
        assert p.get("field") == "path_id", p


# --------------------------------------------------------------- UTF-8

@pytest.mark.parametrize("raw", [
    b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80",
    b"\xc3", b"\\ud800", b"\\udc00x", b"\x00",
], ids=["ff", "overlong-slash-2", "overlong-slash-3", "surrogate-d800", "surrogate-dfff",
        "above-10ffff", "truncated", "escaped-lone-high", "escaped-lone-low", "raw-nul"])
def test_invalid_utf8_and_lone_surrogates_are_400(admin, raw):
    body = b'{"code": "%s", "title": "a' % code().encode() + raw + \
        b'b", "projects": [{"code": "p", "title": "p", "skills": [{"code": "s", "title": "s"}]}]}'
    assert_problem(admin.post("/v1/paths", raw_body=body), 400)


def test_an_escaped_nul_is_refused_not_truncated(admin):
    body = path_body(code(), title="before\u0000after")
    r = admin.post("/v1/paths", body)
    assert r.status in (400, 422), r
    assert_problem(r, r.status)


# --------------------------------------------------------------- metacharacters

METACHARACTERS = ["'); DROP TABLE users; -- <script>alert(1)</script>",
                  "\" OR 1=1 -- \\ %s %n {{7*7}} ${jndi:ldap://x} &amp; <img src=x onerror=alert(1)>",
                  "emoji \U0001F600, RTL \u202e, line sep \u2028, tab\tand newline\nend"]


@pytest.mark.parametrize("text", METACHARACTERS, ids=["sql-html", "injection-mix", "unicode"])
def test_sql_and_html_metacharacters_are_stored_and_returned_verbatim(admin, text):
    body = path_body(code(), title=text)
    body["projects"][0]["title"] = text[:200]
    body["projects"][0]["skills"][0]["title"] = text[:200]
    r = admin.post("/v1/paths", body)
    assert r.status == 201, r
    created = r.json()
    assert created["title"] == text
    got = admin.get("/v1/paths/%d" % created["id"])
    assert got.status == 200, got
    assert got.content_type == "application/json"
    assert got.headers.get("X-Content-Type-Options") == "nosniff"
    path = got.json()
    assert path["title"] == text
    assert path["projects"][0]["title"] == text[:200]
    assert path["projects"][0]["skills"][0]["title"] == text[:200]
    assert admin.get("/v1/me").status == 200      # the users table is still there
