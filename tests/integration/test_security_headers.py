"""
Every answer carries Cache-Control: no-store, X-Content-Type-Options: nosniff
and Strict-Transport-Security: a 200, a route's problem, the HTTP guard's raw
400 (conn_guard.c writes it itself), and request lines evhttp would otherwise
answer with an HTML page of its own (unknown methods, other versions,
absolute-form or malformed targets): those get the guard's 400 too.
"""

import http.client
import re
import ssl

import pytest

from cfclient import Client, assert_problem, slowness, tls_connect, trusting_context

HSTS_RE = re.compile(r"^max-age=(\d+)(;|$)")


def assert_security_headers(headers):
    assert headers.get("Cache-Control") == "no-store", dict(headers)
    assert headers.get("X-Content-Type-Options") == "nosniff", dict(headers)
    hsts = HSTS_RE.match(headers.get("Strict-Transport-Security") or "")
    assert hsts and int(hsts.group(1)) >= 31536000, dict(headers)   # a year at least


def raw_exchange(stack, data, method="GET"):
    """DATA on a new TLS connection: (status, headers, body, closed by the server)."""
    with tls_connect(stack.host, stack.port, trusting_context(stack.ca)) as s:
        s.sendall(data)
        resp = http.client.HTTPResponse(s, method=method)
        resp.begin()
        body = resp.read()
        s.settimeout(5 * slowness())
        try:
            closed = s.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            closed = True
        except TimeoutError:
            closed = False
        return resp.status, resp.headers, body, closed


def test_a_200_carries_the_security_headers(anon):
    r = anon.get("/healthz")
    assert r.status == 200
    assert_security_headers(r.headers)


@pytest.mark.parametrize("path,token,status", [("/no/such/path", None, 404),
                                               ("/v1/me", "", 401)])
def test_a_problem_answer_carries_the_security_headers(stack, path, token, status):
    c = Client(stack)
    try:
        r = c.get(path, token=token)
        assert_problem(r, status)
        assert_security_headers(r.headers)
    finally:
        c.close()


def test_a_405_carries_the_security_headers(admin):
    r = admin.request("PUT", "/v1/me", body={})
    assert_problem(r, 405)
    assert_security_headers(r.headers)


def test_the_http_guards_raw_400_carries_the_security_headers(stack):
    status, headers, body, closed = raw_exchange(
        stack, b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    assert status == 400 and b"Transfer-Encoding" in body, body
    assert headers.get("Content-Type") == "application/problem+json"
    assert_security_headers(headers)
    assert closed


# Each of these got evhttp's own text/html 400 or 501, without the headers.
BAD_REQUEST_LINES = {
    "unknown-method": (b"FOO / HTTP/1.1", "method FOO"),
    "trace": (b"TRACE / HTTP/1.1", "method TRACE"),
    "connect": (b"CONNECT 127.0.0.1:443 HTTP/1.1", "method CONNECT"),
    "lowercase-method": (b"get /healthz HTTP/1.1", "method get"),
    "http2-version": (b"GET /healthz HTTP/2.0", "version"),
    "no-version": (b"GET /healthz", "request line"),
    "extra-part": (b"GET /healthz HTTP/1.1 x", "request line"),
    "two-spaces": (b"GET  /healthz HTTP/1.1", "request line"),
    "not-a-request": (b"R", "request line"),
    "absolute-form": (b"GET https://127.0.0.1/healthz HTTP/1.1", "target"),
    "broken-authority": (b"GET http://[::1 HTTP/1.1", "target"),
    "authority-form-path": (b"GET //[x/healthz HTTP/1.1", "target"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUEST_LINES))
def test_a_request_line_evhttp_would_answer_in_html_gets_our_400(stack, case):
    line, says = BAD_REQUEST_LINES[case]
    status, headers, body, closed = raw_exchange(stack, line + b"\r\nHost: x\r\n\r\n")
    assert status == 400, (status, body)
    assert headers.get("Content-Type") == "application/problem+json", (dict(headers), body)
    assert says.encode() in body, body
    assert_security_headers(headers)
    assert closed


@pytest.mark.parametrize("line,status", [(b"GET /healthz HTTP/1.0", 200),
                                         (b"HEAD /healthz HTTP/1.1", 200),
                                         (b"OPTIONS * HTTP/1.1", 404)])
def test_well_formed_request_lines_still_reach_routing(stack, line, status):
    method = line.split()[0].decode()
    got, headers, _, _ = raw_exchange(stack, line + b"\r\nHost: x\r\nConnection: close\r\n\r\n",
                                      method=method)
    assert got == status
    assert_security_headers(headers)
