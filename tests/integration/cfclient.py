"""
cfclient.py - the integration suite's HTTPS client for certflowd, and the
small helpers the tests share (waiting, Prometheus parsing, problem checks).
Standard library only: http.client over an ssl context that trusts the dev CA.
Never prints a token.
"""

import http.client
import io
import json
import os
import re
import select
import socket
import ssl
import time

TOKEN_RE = re.compile(r"^cf_[A-Za-z0-9_-]{43}$")
TOKEN_ANYWHERE_RE = re.compile(r"cf_[A-Za-z0-9_-]{43}")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PROBLEM_TYPE_PREFIX = "urn:certflow:problem:"

# Bodies bigger than this are streamed in chunks so that an early answer
# (413 before the whole body was read) can still be read.
_STREAM_THRESHOLD = 64 * 1024
_CHUNK = 16 * 1024


def slowness():
    """Factor for bounded waits: sanitizers and valgrind make certflowd slower."""
    if os.environ.get("CERTFLOWD_WRAPPER"):
        return 10.0
    if os.environ.get("SANITIZE") == "1":
        return 3.0
    return 1.0


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls PREDICATE until it returns a truthy value (returned) or TIMEOUT seconds pass."""
    deadline = time.monotonic() + timeout * slowness()
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout * slowness(), what))
        time.sleep(interval)


def trusting_context(ca):
    """A client context that trusts only the dev CA (hostname checked)."""
    return ssl.create_default_context(cafile=ca)


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # http.client.HTTPMessage: case-insensitive .get()
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def __repr__(self):
        body = self.body[:300]
        return "<Response %d %r>" % (self.status, body)


def _read_nonblocking(sock):
    """One byte of application data from SOCK, b"" at its end, None when there is none yet."""
    sock.setblocking(False)
    try:
        return sock.recv(1)
    except (ssl.SSLWantReadError, BlockingIOError):
        return None
    finally:
        sock.setblocking(True)


class _Prefixed:
    """A socket whose stream starts with bytes already read (for http.client.HTTPResponse)."""

    def __init__(self, prefix, sock):
        self.prefix, self.sock = prefix, sock

    def makefile(self, mode):
        return io.BufferedReader(_PrefixedRaw(self.prefix, self.sock.makefile("rb", buffering=0)))


class _PrefixedRaw(io.RawIOBase):
    def __init__(self, prefix, raw):
        self.prefix, self.raw = prefix, raw

    def readable(self):
        return True

    def readinto(self, b):
        if self.prefix:
            n = min(len(b), len(self.prefix))
            b[:n], self.prefix = self.prefix[:n], self.prefix[n:]
            return n
        return self.raw.readinto(b)


class Client:
    """
    One keep-alive HTTPS connection to a certflowd (the stack or an extra
    instance: anything with .host, .port and .ca). Reconnects when the server
    closed the idle connection.
    """

    def __init__(self, target, token=None, context=None, timeout=30):
        self.host = target.host
        self.port = target.port
        self.token = token
        self.context = context or trusting_context(target.ca)
        self.timeout = timeout * slowness()
        self.conn = None
        self.connects = 0

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _connect(self):
        self.close()
        self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                context=self.context)
        self.conn.connect()
        self.connects += 1

    def request(self, method, path, body=None, headers=None, raw_body=None,
                content_type="application/json", token=None):
        """
        BODY is serialised as JSON; RAW_BODY (bytes) is sent as is. TOKEN
        overrides the client's token for this call (pass "" for none).
        """
        hdrs = {}
        tok = self.token if token is None else token
        if tok:
            hdrs["Authorization"] = "Bearer " + tok
        payload = None
        if raw_body is not None:
            payload = raw_body
        elif body is not None:
            payload = json.dumps(body).encode("utf-8")
        if payload is not None and content_type is not None:
            hdrs["Content-Type"] = content_type
        for k, v in (headers or {}).items():
            if v is None:
                hdrs.pop(k, None)
            else:
                hdrs[k] = v
        reused = self.conn is not None and self.conn.sock is not None
        if not reused:
            self._connect()
        try:
            return self._exchange(method, path, payload, hdrs)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                ssl.SSLEOFError, http.client.CannotSendRequest):
            if not reused:
                raise
            # The server closed the idle keep-alive connection: one retry on a new one.
            self._connect()
            return self._exchange(method, path, payload, hdrs)

    def _exchange(self, method, path, payload, hdrs):
        conn = self.conn
        early = b""
        if payload is None or len(payload) <= _STREAM_THRESHOLD:
            conn.request(method, path, body=payload, headers=hdrs)
        else:
            early = self._stream(conn, method, path, payload, hdrs)
        if early:
            # the answer began before the body was all sent: read it with its first byte
            resp = http.client.HTTPResponse(_Prefixed(early, conn.sock), method=method)
            resp.begin()
            resp.will_close = True
        else:
            resp = conn.getresponse()
        body = resp.read()
        out = Response(resp.status, resp.reason, resp.headers, body)
        if resp.will_close:
            self.close()
        return out

    @staticmethod
    def _stream(conn, method, path, payload, hdrs):
        """
        Sends a big body in chunks, stopping early if the server already
        answered; returns the answer's first byte then, else b"". A readable
        socket is not yet an answer: TLS 1.3 session tickets arrive after the
        handshake too, and reading them yields no application data.
        """
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(payload)))
        conn.endheaders()
        sent = 0
        while sent < len(payload):
            readable, _, _ = select.select([conn.sock], [], [], 0)
            if readable:
                first = _read_nonblocking(conn.sock)
                if first is None:
                    continue        # session tickets only
                return first        # an answer, or b"" when the server closed
            try:
                conn.send(payload[sent:sent + _CHUNK])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += _CHUNK
        return b""

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def assert_problem(resp, status, field=None):
    """Checks RESP is an RFC 9457 problem with STATUS (and FIELD when given); returns the body."""
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    assert resp.content_type == "application/problem+json", \
        "problem Content-Type is %r" % resp.headers.get("Content-Type")
    p = resp.json()
    assert isinstance(p, dict), p
    assert isinstance(p.get("type"), str) and p["type"].startswith(PROBLEM_TYPE_PREFIX), p
    assert len(p["type"]) > len(PROBLEM_TYPE_PREFIX), p
    assert p.get("status") == status, p
    assert isinstance(p.get("title"), str) and p["title"], p
    assert isinstance(p.get("detail"), str) and p["detail"], p
    if field is not None:
        assert p.get("field") == field, "expected field %r in %r" % (field, p)
    if "request_id" in p:
        assert p["request_id"] == resp.headers.get("X-Request-Id"), p
    return p


def tls_connect(host, port, context, server_hostname=None, timeout=10):
    """Returns a connected, handshaken SSLSocket (caller closes)."""
    raw = socket.create_connection((host, port), timeout=timeout * slowness())
    try:
        return context.wrap_socket(raw, server_hostname=server_hostname or host)
    except BaseException:
        raw.close()
        raise


def peer_cert(target, context=None):
    """DER bytes of the certificate a NEW connection to TARGET is shown."""
    ctx = context or trusting_context(target.ca)
    with tls_connect(target.host, target.port, ctx) as s:
        return s.getpeercert(binary_form=True)


# --- Prometheus text format -------------------------------------------------

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_labels(text):
    labels = {}
    pos = 0
    text = text or ""
    while pos < len(text):
        m = _LABEL_RE.match(text, pos)
        if not m:
            raise AssertionError("bad label set %r" % text)
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


def parse_metrics(text):
    """Returns (samples, types): samples = [(name, labels dict, float)], types = {family: type}."""
    samples = []
    types = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip()
            continue
        m = _SAMPLE_RE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        value = m.group(3)
        samples.append((m.group(1), parse_labels(m.group(2)), float(value)))
    return samples, types


def metrics(target):
    """The samples of TARGET's /metrics, read without a token."""
    c = Client(target)
    try:
        r = c.get("/metrics")
        assert r.status == 200, r
        return parse_metrics(r.body.decode())[0]
    finally:
        c.close()


def metric_value(samples, name, **labels):
    """Sum of the samples named NAME whose labels include LABELS (0 when none)."""
    total = 0.0
    for n, l, v in samples:
        if n == name and all(l.get(k) == val for k, val in labels.items()):
            total += v
    return total


def metric_present(samples, name):
    return any(n == name for n, _, _ in samples)
