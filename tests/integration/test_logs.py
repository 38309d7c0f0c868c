"""certflowd.log: one line per request with method, route, status, duration in microseconds, request id."""

import re
import uuid

from cfclient import wait_until

# "1234us", "1234 µs", "duration_us=1234", "us=1234", "1234usec"
DURATION_US = re.compile(r"(\b\d+\s*(?:us|µs|usec)\b)|(\b[a-z_]*us[=:]\s*\d+\b)", re.I)


def lines_with(stack, needle):
    return [l for l in stack.log.read_text(errors="replace").splitlines() if needle in l]


def wait_for_line(stack, needle):
    return wait_until(lambda: lines_with(stack, needle), 10, what="a log line with %r" % needle)


def test_request_line_has_method_route_status_duration_and_request_id(stack, admin):
    rid = "log-" + uuid.uuid4().hex[:12]
    assert admin.get("/v1/me", headers={"X-Request-Id": rid}).status == 200
    lines = wait_for_line(stack, rid)
    assert len(lines) == 1, lines
    line = lines[0]
    assert "GET" in line, line
    assert "/v1/me" in line, line
    assert re.search(r"\b200\b", line), line
    assert DURATION_US.search(line), "no duration in microseconds in %r" % line


def test_failed_request_is_logged_with_its_status(stack, admin):
    rid = "log-" + uuid.uuid4().hex[:12]
    assert admin.get("/v1/users/999999999", headers={"X-Request-Id": rid}).status == 404
    lines = wait_for_line(stack, rid)
    assert any(re.search(r"\b404\b", l) for l in lines), lines


def test_generated_request_id_appears_in_the_log(stack, anon):
    r = anon.get("/healthz")
    rid = r.headers.get("X-Request-Id")
    assert rid
    lines = wait_for_line(stack, rid)
    assert any("/healthz" in l for l in lines), lines


def test_each_request_gets_its_own_line(stack, admin):
    ids = ["log-many-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(5)]
    for rid in ids:
        assert admin.get("/v1/me", headers={"X-Request-Id": rid}).status == 200
    for rid in ids:
        assert len(wait_for_line(stack, rid)) == 1


def test_bearer_token_of_a_request_is_not_logged(stack, make_user):
    user, client = make_user(["student"])
    rid = "log-" + uuid.uuid4().hex[:12]
    assert client.get("/v1/me", headers={"X-Request-Id": rid}).status == 200
    wait_for_line(stack, rid)
    log = stack.log.read_text(errors="replace")
    assert user["token"] not in log
    assert stack.admin_token not in log
