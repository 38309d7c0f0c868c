"""
Hostile HTTP: what libevent 2.1's lenient evhttp lets through, and certflowd
refuses anyway. Malformed requests go over raw TLS sockets (http.client would
not send them): framing headers (Transfer-Encoding, repeated Content-Length
or Host), control bytes in headers, non-canonical paths, oversized headers and
bodies; then the connection limits on extra instances: request_deadline_s
against slowloris, max_connections, running out of file descriptors,
max_requests_per_connection; a failing SSL_new never turns into plaintext;
SIGPIPE is ignored.
"""

import http.client
import os
import resource
import select
import shutil
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pytest

from cfclient import (Client, assert_problem, metric_value, metrics, slowness,
                      tls_connect, trusting_context, wait_until)
from conftest import proc_alive


# --------------------------------------------------------------- raw exchanges

def tls_socket(target, timeout=10):
    """A handshaken TLS socket to TARGET (the caller closes it)."""
    return tls_connect(target.host, target.port, trusting_context(target.ca), timeout=timeout)


def raw_request(first_line, headers=(), body=b"", host=True, token=None):
    """The bytes of one request: FIRST_LINE and HEADERS are bytes, sent as they are."""
    lines = [first_line]
    if host:
        lines.append(b"Host: 127.0.0.1")
    if token:
        lines.append(b"Authorization: Bearer " + token.encode())
    lines.extend(headers)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def read_answer(sock, method="GET"):
    """The next answer on SOCK as a cfclient-like Response (will_close set)."""
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    body = resp.read()

    class Answer:
        status = resp.status
        headers = resp.headers
        will_close = resp.will_close

        def __init__(self):
            self.body = body

        @property
        def content_type(self):
            return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

        def json(self):
            import json
            return json.loads(self.body)

        def __repr__(self):
            return "<Answer %d %r>" % (self.status, self.body[:300])

    return Answer()


def closed_by_peer(sock, timeout=5):
    """True when SOCK reads end-of-stream (or a reset) within TIMEOUT seconds."""
    sock.settimeout(timeout * slowness())
    try:
        while sock.recv(4096):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return True
    except TimeoutError:
        return False


def exchange(target, data, method="GET", wait_close=True):
    """Sends DATA on a new TLS connection; (answer, whether the server then closed it)."""
    with tls_socket(target) as s:
        s.sendall(data)
        answer = read_answer(s, method)
        return answer, closed_by_peer(s) if wait_close else None


def plaintext_answer(target, timeout=5):
    """What a plaintext HTTP request to TARGET's TLS port gets back (b"" when nothing)."""
    with socket.create_connection((target.host, target.port), timeout=timeout * slowness()) as s:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            out = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return out
                out += chunk
        except (ConnectionResetError, BrokenPipeError):
            return out


def healthz_status(target):
    c = Client(target, timeout=5)
    try:
        return c.get("/healthz").status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        c.close()


def assert_refused_before_routing(answer, closed, name):
    """A 400 problem naming NAME, with Connection: close, and the connection closed."""
    p = assert_problem(answer, 400)
    assert name in p["detail"], p
    assert (answer.headers.get("Connection") or "").lower() == "close", dict(answer.headers)
    assert closed, "the connection stayed open after %r" % p


# --------------------------------------------------------------- framing headers

CT = b"Content-Type: application/json"

FRAMING = {
    "transfer-encoding-chunked": (b"POST /v1/paths HTTP/1.1",
                                  [b"Transfer-Encoding: chunked", CT], b"2\r\n{}\r\n0\r\n\r\n",
                                  "Transfer-Encoding"),
    "transfer-encoding-gzip": (b"POST /v1/paths HTTP/1.1",
                               [b"Transfer-Encoding: gzip", CT], b"", "Transfer-Encoding"),
    "transfer-encoding-on-get": (b"GET /healthz HTTP/1.1",
                                 [b"Transfer-Encoding: identity"], b"", "Transfer-Encoding"),
    "content-length-and-transfer-encoding": (b"POST /v1/paths HTTP/1.1",
                                             [b"Content-Length: 5", b"Transfer-Encoding: chunked",
                                              CT], b"0\r\n\r\n", "Content-Length"),
    "two-equal-content-lengths": (b"POST /v1/paths HTTP/1.1",
                                  [b"Content-Length: 2", b"Content-Length: 2", CT], b"{}",
                                  "Content-Length"),
    "two-different-content-lengths": (b"POST /v1/paths HTTP/1.1",
                                      [b"Content-Length: 2", b"Content-Length: 5", CT],
                                      b"{}xyz", "Content-Length"),
    "two-hosts": (b"GET /healthz HTTP/1.1", [b"Host: other.example"], b"", "Host"),
    # evhttp cuts a value at NUL: the raw scan of the header bytes sees it.
    "nul-in-a-value": (b"GET /healthz HTTP/1.1", [b"X-Note: a\x00b"], b"", "X-Note"),
    "soh-in-a-value": (b"GET /healthz HTTP/1.1", [b"X-Note: a\x01b"], b"", "X-Note"),
    "escape-in-a-value": (b"GET /healthz HTTP/1.1", [b"X-Note: \x1b[31mred"], b"", "X-Note"),
    "del-in-a-value": (b"GET /healthz HTTP/1.1", [b"X-Note: a\x7fb"], b"", "X-Note"),
    "cr-in-a-value": (b"GET /healthz HTTP/1.1", [b"X-Note: a\r b"], b"", "X-Note"),
    "space-in-a-name": (b"GET /healthz HTTP/1.1", [b"X Note: v"], b"", "Note"),
    "space-before-the-colon": (b"POST /v1/paths HTTP/1.1", [b"Content-Length : 2", CT], b"{}",
                               "Content-Length"),
    "folded-line": (b"GET /healthz HTTP/1.1", [b"X-Note: a", b" continued"], b"", "X-Note"),
    "line-without-colon": (b"GET /healthz HTTP/1.1", [b"X-Note"], b"", "X-Note"),
    # evhttp reads Content-Length with strtoll and answers a bad one in HTML of its own.
    "negative-content-length": (b"POST /v1/paths HTTP/1.1", [b"Content-Length: -1", CT], b"",
                                "Content-Length"),
    "signed-content-length": (b"POST /v1/paths HTTP/1.1", [b"Content-Length: +2", CT], b"{}",
                              "Content-Length"),
    "hex-content-length": (b"POST /v1/paths HTTP/1.1", [b"Content-Length: 0x2", CT], b"{}",
                           "Content-Length"),
    "empty-content-length": (b"POST /v1/paths HTTP/1.1", [b"Content-Length:", CT], b"",
                             "Content-Length"),
    "two-numbers-in-content-length": (b"POST /v1/paths HTTP/1.1", [b"Content-Length: 1 1", CT],
                                      b"{}", "Content-Length"),
    # ... and an expectation other than 100-continue with a 417 in HTML.
    "expect-other-than-100-continue": (b"GET /healthz HTTP/1.1", [b"Expect: 200-ok"], b"",
                                       "Expect"),
    # ... and an empty line before the request line with a 400 in HTML.
    "empty-line-before-the-request-line": (b"\r\nGET /healthz HTTP/1.1", [], b"",
                                           "request line"),
}


@pytest.mark.parametrize("case", sorted(FRAMING))
def test_ambiguous_framing_or_control_bytes_are_400_naming_the_header_and_close(stack, case):
    first, headers, body, name = FRAMING[case]
    # No token: a 400 rather than a 401 shows the check runs before routing and auth.
    answer, closed = exchange(stack, raw_request(first, headers, body), method=first.split()[0].decode())
    assert_refused_before_routing(answer, closed, name)


def test_a_padded_content_length_and_100_continue_are_fine(stack):
    answer, _ = exchange(stack, raw_request(b"POST /v1/users/1/tokens HTTP/1.1", [
        b"Content-Length: \t02 ", b"Expect:  100-Continue ", CT], b"{}"), method="POST",
        wait_close=False)
    # a 401 (no token): past the raw checks, evhttp's parsing and routing
    assert_problem(answer, 401)


def test_a_tab_in_a_header_value_is_fine(stack):
    answer, _ = exchange(stack, raw_request(b"GET /healthz HTTP/1.1", [b"X-Note: a\tb"]),
                         wait_close=False)
    assert answer.status == 200, answer


def test_a_nul_in_the_request_line_is_refused(stack):
    answer, closed = exchange(stack, raw_request(b"GET /healthz\x00x HTTP/1.1"))
    assert_refused_before_routing(answer, closed, "request line")


def test_a_bad_request_pipelined_behind_a_good_one_closes_the_connection(stack):
    good = raw_request(b"GET /healthz HTTP/1.1")
    bad = raw_request(b"GET /healthz HTTP/1.1", [b"Transfer-Encoding: chunked"], b"0\r\n\r\n")
    with tls_socket(stack) as s:
        s.sendall(good + bad)
        first = read_answer(s)
        assert first.status == 200, first
        assert (first.headers.get("Connection") or "").lower() == "close"
        assert closed_by_peer(s), "evhttp went on to read the pipelined request"


def test_refusals_are_logged_and_counted(stack):
    before = metric_value(metrics(stack), "certflow_http_requests_total",
                          route="unmatched", status="400")
    answer, _ = exchange(stack, raw_request(b"GET /healthz HTTP/1.1", [b"Transfer-Encoding: chunked"]))
    assert answer.status == 400
    rid = answer.headers.get("X-Request-Id")
    assert rid and assert_problem(answer, 400).get("request_id") == rid
    after = metric_value(metrics(stack), "certflow_http_requests_total",
                         route="unmatched", status="400")
    assert after >= before + 1
    wait_until(lambda: any("refused before routing" in l and rid in l and "Transfer-Encoding" in l
                           for l in stack.log.read_text(errors="replace").splitlines()),
               10, what="the refusal's log line")


# --------------------------------------------------------------- request targets

NON_CANONICAL = ["/v1//me", "//v1/me", "/v1/./me", "/v1/../v1/me", "/v1/me/.", "/v1/me/..",
                 "/./healthz", "/v1/%6De", "/v1/M%45", "/v1%2Fme", "/v1/me%2f", "/v1/users/%31",
                 "/v1/%7Eme", "/v1\\me", "/v1/%5Cme", "/v1/me%00", "/v1/me?x=%00",
                 "/v1/paths?mine=1%00", "/v1/%zz", "/v1/me%4"]


@pytest.mark.parametrize("target", NON_CANONICAL)
def test_non_canonical_paths_and_nul_are_400_before_auth(stack, target):
    answer, closed = exchange(stack, raw_request(b"GET " + target.encode() + b" HTTP/1.1"))
    p = assert_problem(answer, 400)
    assert "%00" in p["detail"] or "path" in p["detail"], p
    assert closed


@pytest.mark.parametrize("target,status", [("/v1/me", 200), ("/v1/paths", 200),
                                           ("/v1/a%20b", 404), ("/nope/", 404)])
def test_canonical_targets_go_on_to_routing(stack, target, status):
    answer, _ = exchange(stack, raw_request(b"GET " + target.encode() + b" HTTP/1.1",
                                            token=stack.admin_token), wait_close=False)
    assert answer.status == status, answer


# --------------------------------------------------------------- sizes

def test_max_header_size_applies(stack):
    big = b"X-Big: " + b"a" * 17000
    answer, closed = exchange(stack, raw_request(b"GET /healthz HTTP/1.1", [big]))
    assert_refused_before_routing(answer, closed, "max_header_size")
    many = [b"X-H%d: %s" % (i, b"v" * 100) for i in range(200)]
    answer, closed = exchange(stack, raw_request(b"GET /healthz HTTP/1.1", many))
    assert_refused_before_routing(answer, closed, "max_header_size")
    fine = b"X-Big: " + b"a" * 8000
    answer, _ = exchange(stack, raw_request(b"GET /healthz HTTP/1.1", [fine]), wait_close=False)
    assert answer.status == 200, answer


def test_a_huge_content_length_is_413_before_any_byte_of_body(stack):
    answer, closed = exchange(stack, raw_request(b"POST /v1/paths HTTP/1.1", [
        b"Content-Length: 1073741824", CT], token=stack.admin_token), method="POST")
    p = assert_problem(answer, 413)
    assert "Content-Length" in p["detail"], p
    assert closed
    # more digits than any integer holds: still ours, still 413
    answer, closed = exchange(stack, raw_request(b"POST /v1/paths HTTP/1.1", [
        b"Content-Length: " + b"9" * 40, CT]), method="POST")
    assert_problem(answer, 413)
    assert closed


# --------------------------------------------------------------- request_deadline_s

class Slow:
    """One slow client: PREFIX at once, then one byte of DRIP per tick; told 408 or not."""

    def __init__(self, sock, prefix, drip=b"a", told_408=True):
        self.sock = sock
        self.drip = drip
        self.told_408 = told_408
        self.received = b""
        self.closed = False
        if prefix:
            sock.sendall(prefix)

    def tick(self):
        if self.closed or not self.drip:
            return
        try:
            self.sock.send(self.drip)
        except OSError:
            self.closed = True

    def read(self):
        try:
            data = self.sock.recv(4096)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        except (OSError, ssl.SSLError):
            data = b""
        if data:
            self.received += data
        else:
            self.closed = True


def drive(slows, bound, meanwhile):
    """Drips one byte a second into each of SLOWS until all are closed or BOUND seconds pass."""
    start = time.monotonic()
    while not all(s.closed for s in slows) and time.monotonic() - start < bound:
        for s in slows:
            s.tick()
        meanwhile()
        tick_end = time.monotonic() + 1
        while time.monotonic() < tick_end:
            live = [s for s in slows if not s.closed]
            if not live:
                break
            ready, _, _ = select.select([s.sock for s in live], [], [],
                                        max(0, tick_end - time.monotonic()))
            for s in live:
                if s.sock in ready or (isinstance(s.sock, ssl.SSLSocket) and s.sock.pending()):
                    s.read()


def deadline_s():
    """A request_deadline_s that a sound request meets even under valgrind."""
    return max(2, int(2 * slowness()))


def test_slowloris_is_closed_at_the_deadline_while_others_are_served(extra_instance):
    deadline = deadline_s()
    inst = extra_instance("request_deadline_s = %d\nhttp_idle_timeout_s = 600\n" % deadline)
    keepalive = tls_socket(inst)
    keepalive.sendall(raw_request(b"GET /healthz HTTP/1.1"))
    assert read_answer(keepalive).status == 200
    slows = [
        Slow(tls_socket(inst), b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "),
        Slow(tls_socket(inst), b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "),
        Slow(tls_socket(inst), b"POST /v1/paths HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"),
        # A second request on a connection that already had one.
        Slow(keepalive, b"GET /healthz HTTP/1.1\r\nX-Slow: "),
        # TLS, then not a byte of request: closed without a word.
        Slow(tls_socket(inst), b"", drip=b"", told_408=False),
        # TCP only: no TLS handshake ever starts.
        Slow(socket.create_connection((inst.host, inst.port)), b"", drip=b"", told_408=False),
    ]
    for s in slows:
        s.sock.setblocking(False)
    served = []

    def normal_request():
        if not served:
            served.append(healthz_status(inst))

    # Without the deadline these would live for ever: each byte resets the idle timeout.
    drive(slows, deadline + 10 * slowness(), normal_request)
    assert served == [200]
    assert all(s.closed for s in slows), [(s.closed, s.received[:80]) for s in slows]
    for s in slows:
        if not s.told_408:
            assert s.received == b"", s.received[:200]
            continue
        assert s.received.startswith(b"HTTP/1.1 408 "), s.received[:200]
        assert b"application/problem+json" in s.received and b'"status":408' in s.received
    assert metric_value(metrics(inst), "certflow_http_request_deadline_total") >= len(slows)
    assert "request_deadline_s (%d s)" % deadline in inst.log_text()
    for s in slows:
        s.sock.close()


def test_an_idle_keepalive_connection_outlives_the_deadline(extra_instance):
    deadline = deadline_s()
    inst = extra_instance("request_deadline_s = %d\nhttp_idle_timeout_s = 600\n" % deadline)
    c = Client(inst)
    try:
        assert c.get("/healthz").status == 200
        time.sleep(deadline + 1.5)  # idle between requests: only http_idle_timeout_s applies
        assert c.get("/healthz").status == 200
        assert c.connects == 1, "the idle connection was closed"
    finally:
        c.close()


# --------------------------------------------------------------- max_connections

def hold_connection(inst):
    """A TLS connection that has been served once (so surely counted), or None when refused."""
    try:
        s = tls_socket(inst, timeout=5)
        s.sendall(raw_request(b"GET /healthz HTTP/1.1"))
        if read_answer(s).status == 200:
            return s
        s.close()
    except (OSError, http.client.HTTPException):
        pass
    return None


def test_max_connections_closes_new_connections_at_once_until_some_close(extra_instance):
    inst = extra_instance("max_connections = 4\n")
    held = []

    def fill():
        s = hold_connection(inst)
        if s is not None:
            held.append(s)
        return len(held) == 4

    wait_until(fill, 20, interval=0.1, what="4 connections held")
    with pytest.raises(OSError):            # ssl.SSLError, reset or EOF in the handshake
        tls_socket(inst, timeout=5).close()
    # The refused connection never speaks HTTP, let alone plaintext.
    assert not plaintext_answer(inst).startswith(b"HTTP/")
    assert inst.proc.poll() is None
    for s in held[:2]:
        s.close()
    wait_until(lambda: healthz_status(inst) == 200, 20, what="a new connection served")
    assert metric_value(metrics(inst), "certflow_http_connections_refused_total") >= 2
    assert "max_connections (4) reached" in inst.log_text()
    for s in held[2:]:
        s.close()


# --------------------------------------------------------------- out of descriptors

HEADROOM = 64       # descriptors left to certflowd beyond those it holds once started
FREED_LATE = 1      # it may close one after they are counted: the start-up probe's connection


def cpu_seconds(pid):
    """User plus system CPU time PID has used so far (/proc/PID/stat)."""
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peer_closed(sock):
    """True when the peer has closed the non-blocking SOCK (EOF or reset)."""
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except BlockingIOError:
        return False


def exhaustion_lines(inst):
    return [l for l in inst.log_text().splitlines()
            if "accept: Too many open files" in l and "closed at once" in l]


def test_out_of_descriptors_refuses_waiting_connections_without_spinning(extra_instance):
    # Held connections never start TLS: no deadline may free their descriptors.
    inst = extra_instance("request_deadline_s = 3600\nhttp_idle_timeout_s = 3600\n")
    pid = inst.proc.pid
    fds = [int(fd) for fd in os.listdir("/proc/%d/fd" % pid)]
    limit = len(fds) + HEADROOM
    # New descriptors take the lowest numbers free below the limit: HEADROOM, plus
    # those above it that are not certflowd's (valgrind keeps its own up there).
    free = limit - sum(fd < limit for fd in fds)
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))
    socks = []

    def connect():
        s = socket.create_connection((inst.host, inst.port), timeout=10 * slowness())
        s.setblocking(False)
        socks.append(s)
        return s

    try:
        started = time.monotonic()
        for _ in range(free + HEADROOM):
            connect()
        # FREE (+ FREED_LATE) are accepted and held; the others, instead of waiting
        # in the backlog, are accepted on the reserve descriptor and closed at once.
        wait_until(lambda: sum(map(peer_closed, socks)) >= HEADROOM - FREED_LATE, 20,
                   what="the connections beyond the descriptor limit to be closed")
        wait_until(lambda: exhaustion_lines(inst), 10, what="the out-of-descriptors warning")
        # Exhausted, with newcomers arriving: no busy loop on the listener.
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        late = 20
        for _ in range(late):
            time.sleep(0.1)
            connect()
        wait_until(lambda: sum(map(peer_closed, socks)) >= HEADROOM + late - FREED_LATE,
                   20, what="connections arriving while exhausted to be closed")
        cpu, elapsed = cpu_seconds(pid) - cpu0, time.monotonic() - t0
        assert cpu < 0.5 * elapsed, "certflowd used %.2f s of CPU in %.2f s" % (cpu, elapsed)
        assert inst.proc.poll() is None
    finally:
        for s in socks:
            s.close()
    exhausted = time.monotonic() - started
    # One warning at most every 10 s, not one per failed accept() or per pause.
    assert len(exhaustion_lines(inst)) <= 1 + exhausted // 10, exhaustion_lines(inst)
    wait_until(lambda: healthz_status(inst) == 200, 20, what="/healthz served again")
    refused = metric_value(metrics(inst), "certflow_http_connections_refused_total")
    assert refused >= HEADROOM + late - FREED_LATE


# --------------------------------------------------------------- max_requests_per_connection

def test_the_last_request_of_a_connection_says_connection_close(extra_instance):
    inst = extra_instance("max_requests_per_connection = 3\n")
    with tls_socket(inst) as s:
        said = []
        for _ in range(3):
            s.sendall(raw_request(b"GET /healthz HTTP/1.1"))
            a = read_answer(s)
            assert a.status == 200, a
            said.append((a.headers.get("Connection") or "").lower())
        assert said == ["", "", "close"], said
        assert closed_by_peer(s)


# --------------------------------------------------------------- SSL_new failure

SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
/* SSL_new, failing while the file named by CERTFLOW_TEST_SSL_NEW_FAILS exists. */
void *SSL_new(void *ctx)
{
    static void *(*real)(void *);
    const char *flag = getenv("CERTFLOW_TEST_SSL_NEW_FAILS");

    if (flag != NULL && access(flag, F_OK) == 0)
        return NULL;
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "SSL_new");
    return real(ctx);
}
"""


def build_shim(tmp_path):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build the SSL_new shim")
    src, lib = tmp_path / "ssl_new_fails.c", tmp_path / "ssl_new_fails.so"
    src.write_text(SHIM)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src), "-ldl"], check=True,
                   capture_output=True, timeout=60)
    return lib


def test_a_failing_ssl_new_refuses_the_connection_never_plaintext(extra_instance, tmp_path,
                                                                  monkeypatch):
    import os
    if os.environ.get("CERTFLOWD_WRAPPER"):
        pytest.skip("LD_PRELOAD under valgrind: covered by the plain and sanitizer runs")
    lib, flag = build_shim(tmp_path), tmp_path / "ssl-new-fails"
    monkeypatch.setenv("LD_PRELOAD", str(lib))
    monkeypatch.setenv("CERTFLOW_TEST_SSL_NEW_FAILS", str(flag))
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") +
                       ":verify_asan_link_order=0")
    inst = extra_instance("")
    monkeypatch.undo()
    flag.touch()
    with pytest.raises(OSError):
        tls_socket(inst, timeout=5).close()
    assert not plaintext_answer(inst).startswith(b"HTTP/")
    assert inst.proc.poll() is None, "certflowd died on a failing SSL_new"
    flag.unlink()
    wait_until(lambda: healthz_status(inst) == 200, 20, what="TLS served again")
    assert "SSL_new" in inst.log_text() and "refusing the connection" in inst.log_text()


# --------------------------------------------------------------- SIGPIPE

def test_sigpipe_is_ignored_and_resets_mid_answer_are_harmless(stack):
    status = Path("/proc/%d/status" % stack.pid).read_text()
    ignored = int(next(l for l in status.splitlines() if l.startswith("SigIgn:")).split()[1], 16)
    assert ignored & (1 << (13 - 1)), "SIGPIPE (13) is not ignored: SigIgn=%x" % ignored
    for _ in range(20):
        s = tls_socket(stack)
        s.sendall(raw_request(b"GET /metrics HTTP/1.1"))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()               # RST while the answer is on its way
    assert healthz_status(stack) == 200
    assert proc_alive(stack.pid)
