"""TLS and transport: protocol versions, ciphers, trust, plaintext refusal, mTLS, keep-alive, one record per answer."""

import http.client
import re
import socket
import ssl
import struct
import subprocess
import warnings

import pytest

from cfclient import Client, slowness, tls_connect, trusting_context


def test_default_client_negotiates_tls13(stack):
    with tls_connect(stack.host, stack.port, trusting_context(stack.ca)) as s:
        assert s.version() == "TLSv1.3"


def test_tls12_only_client_gets_an_ecdhe_aead_cipher(stack):
    ctx = trusting_context(stack.ca)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with tls_connect(stack.host, stack.port, ctx) as s:
        name, version, _bits = s.cipher()
        assert s.version() == "TLSv1.2"
        assert name.startswith("ECDHE-"), name
        assert "GCM" in name or "CHACHA20-POLY1305" in name, name


def test_tls12_request_is_served(stack):
    ctx = trusting_context(stack.ca)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    c = Client(stack, context=ctx)
    try:
        assert c.get("/healthz").status == 200
    finally:
        c.close()


def test_tls11_client_is_refused_by_the_server(stack):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = trusting_context(stack.ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError) as ei:
        tls_connect(stack.host, stack.port, ctx).close()
    # The refusal must come from the server, not from a client unable to offer TLS 1.1.
    assert ei.value.reason != "NO_PROTOCOLS_AVAILABLE", ei.value


def test_client_without_the_dev_ca_fails_certificate_verification(stack):
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_connect(stack.host, stack.port, ssl.create_default_context()).close()


def test_server_certificate_matches_the_loopback_address(stack):
    ctx = trusting_context(stack.ca)   # check_hostname is on
    with tls_connect("127.0.0.1", stack.port, ctx, server_hostname="127.0.0.1") as s:
        assert s.getpeercert()["subjectAltName"]


def test_plaintext_http_is_not_served_on_the_https_port(stack):
    with socket.create_connection((stack.host, stack.port), timeout=10 * slowness()) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        try:
            while len(reply) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    assert not reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert not reply.startswith(b"HTTP/"), "plaintext HTTP answer: %r" % reply[:200]


def test_keep_alive_reuses_one_connection_for_two_requests(stack, admin):
    conn = http.client.HTTPSConnection(stack.host, stack.port, context=trusting_context(stack.ca),
                                       timeout=30 * slowness())
    try:
        hdrs = {"Authorization": "Bearer " + stack.admin_token}
        conn.request("GET", "/v1/me", headers=hdrs)
        r1 = conn.getresponse()
        r1.read()
        sock = conn.sock
        assert r1.status == 200
        assert not r1.will_close, r1.getheaders()
        conn.request("GET", "/healthz")
        r2 = conn.getresponse()
        r2.read()
        assert r2.status == 200
        assert conn.sock is sock, "http.client had to open a second connection"
    finally:
        conn.close()


def test_keep_alive_connection_survives_an_error_answer(stack):
    c = Client(stack, token=stack.admin_token)
    try:
        assert c.get("/no/such/path").status == 404
        assert c.get("/v1/me", token="").status == 401
        assert c.get("/healthz").status == 200
        assert c.connects == 1
    finally:
        c.close()


class RecordCounter:
    """
    A TLS client over a plain socket that feeds the server's bytes to OpenSSL
    one record at a time, so that it can count the records that carried
    application data (TLS 1.3 session tickets and alerts carry none).
    """

    def __init__(self, stack):
        self.raw = socket.create_connection((stack.host, stack.port), timeout=10 * slowness())
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = trusting_context(stack.ca).wrap_bio(self.incoming, self.outgoing,
                                                       server_hostname=stack.host)
        self.pending = b""
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self.incoming.write(self.raw.recv(65536))
        self._flush()

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.raw.sendall(data)

    def _plaintext_of_next_record(self):
        while len(self.pending) < 5 or \
                len(self.pending) < 5 + struct.unpack("!H", self.pending[3:5])[0]:
            chunk = self.raw.recv(65536)
            assert chunk, "the server closed the connection mid-answer"
            self.pending += chunk
        n = 5 + struct.unpack("!H", self.pending[3:5])[0]
        self.incoming.write(self.pending[:n])
        self.pending = self.pending[n:]
        got = b""
        while True:
            try:
                got += self.tls.read(65536)
            except ssl.SSLWantReadError:
                return got

    def answer(self, request):
        """Sends REQUEST; returns (the whole answer, the records that carried it)."""
        self.tls.write(request)
        self._flush()
        answer, records = b"", 0
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < int(
                re.search(rb"(?i)content-length: *(\d+)", answer).group(1)):
            got = self._plaintext_of_next_record()
            if got:
                answer += got
                records += 1
        return answer, records

    def close(self):
        self.raw.close()


def test_an_answer_that_fits_in_one_tls_record_leaves_as_one(stack):
    # evhttp queues headers and body apart; written as they are, they made two
    # records, two writes and two wake-ups of the client for every answer.
    c = RecordCounter(stack)
    try:
        for path, status in (("/healthz", b" 200 "), ("/no/such/path", b" 404 ")):
            answer, records = c.answer(b"GET %s HTTP/1.1\r\nHost: certflow\r\n\r\n"
                                       % path.encode())
            assert answer.startswith(b"HTTP/1.1") and status in answer.split(b"\r\n")[0], answer
            assert records == 1, "%d records for %r" % (records, answer)
    finally:
        c.close()


# --------------------------------------------------------------- mTLS

@pytest.fixture
def mtls_instance(stack, extra_instance):
    ctx = trusting_context(stack.ca)
    ctx.load_cert_chain(stack.client_cert, stack.client_key)
    inst = extra_instance("tls_client_ca = %s\ntls_verify_client = require\n"
                          % (stack.tls / "ca.pem"), context=ctx)
    return inst, ctx


def test_mtls_instance_refuses_a_client_without_certificate(mtls_instance):
    inst, _ = mtls_instance
    c = Client(inst, timeout=10)
    try:
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            r = c.get("/healthz")
            pytest.fail("got an HTTP answer without a client certificate: %r" % r)
    finally:
        c.close()


def test_mtls_instance_serves_a_client_with_a_certificate_from_the_ca(mtls_instance):
    inst, ctx = mtls_instance
    c = Client(inst, context=ctx)
    try:
        r = c.get("/healthz")
        assert r.status == 200, r
    finally:
        c.close()


def test_mtls_instance_refuses_a_client_certificate_from_another_ca(stack, mtls_instance, tmp_path):
    inst, _ = mtls_instance
    key, cert = tmp_path / "rogue.key", tmp_path / "rogue.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-subj", "/CN=rogue client", "-days", "2"],
                   check=True, capture_output=True)
    ctx = trusting_context(stack.ca)
    ctx.load_cert_chain(str(cert), str(key))
    c = Client(inst, context=ctx, timeout=10)
    try:
        with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
            r = c.get("/healthz")
            pytest.fail("got an HTTP answer with a self-signed client certificate: %r" % r)
    finally:
        c.close()
