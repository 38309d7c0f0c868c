"""
Signals: SIGHUP reloads the TLS certificate; SIGTERM, and SIGINT alike, drain
in-flight requests and exit 0.
"""

import http.client
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import threading

import pytest

from cfclient import Client, peer_cert, slowness, trusting_context, wait_until
from conftest import pg_environ


def issue_server_cert(stack, key_out, cert_out, cn):
    """A new server key and certificate signed by the dev CA (SAN localhost, 127.0.0.1)."""
    d = key_out.parent
    ext = d / ("%s.ext" % cn)
    ext.write_text("basicConstraints = critical, CA:FALSE\n"
                   "keyUsage = critical, digitalSignature\n"
                   "extendedKeyUsage = serverAuth\n"
                   "subjectAltName = DNS:localhost, IP:127.0.0.1\n")
    csr = d / ("%s.csr" % cn)

    def run(*argv):
        subprocess.run(argv, check=True, capture_output=True)

    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-out", str(key_out))
    run("openssl", "req", "-new", "-key", str(key_out), "-subj", "/CN=%s" % cn, "-out", str(csr))
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(stack.tls / "ca.pem"),
        "-CAkey", str(stack.tls / "ca.key"), "-set_serial", "0x" + os.urandom(16).hex(),
        "-days", "2", "-sha256", "-extfile", str(ext), "-out", str(cert_out))


@pytest.fixture
def own_cert_instance(stack, extra_instance, tmp_path):
    """An extra instance whose certificate files are private copies (the stack's stay untouched)."""
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    shutil.copy(stack.tls / "server.pem", cert)
    shutil.copy(stack.tls / "server.key", key)
    inst = extra_instance("tls_cert = %s\ntls_key = %s\n" % (cert, key))
    return inst, cert, key, tmp_path


def get_on(conn, path, headers=None):
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    r.read()
    return r


def test_sighup_reloads_the_certificate_and_keeps_open_connections(own_cert_instance):
    inst, cert, key, d = own_cert_instance
    old = peer_cert(inst)
    conn = http.client.HTTPSConnection(inst.host, inst.port, context=trusting_context(inst.ca),
                                       timeout=30 * slowness())
    try:
        assert get_on(conn, "/healthz").status == 200
        sock = conn.sock
        assert sock.getpeercert(binary_form=True) == old

        issue_server_cert(inst.stack, d / "new.key", d / "new.pem", "certflow-reloaded")
        # Key first then certificate, each replaced atomically.
        os.replace(d / "new.key", key)
        os.replace(d / "new.pem", cert)
        inst.proc.send_signal(signal.SIGHUP)

        new = wait_until(lambda: (lambda c: c if c != old else None)(peer_cert(inst)), 15,
                         interval=0.1, what="a new connection to see the new certificate")
        assert new == ssl.PEM_cert_to_DER_cert(cert.read_text())
        assert inst.proc.poll() is None, "certflowd exited on SIGHUP"

        # The connection opened before the reload still works, on the same socket.
        r = get_on(conn, "/healthz")
        assert r.status == 200
        assert conn.sock is sock, "the pre-reload connection was closed"
        assert sock.getpeercert(binary_form=True) == old

        c = Client(inst)
        try:
            assert c.get("/healthz").status == 200
        finally:
            c.close()
    finally:
        conn.close()


def test_sighup_with_a_broken_certificate_keeps_serving_the_old_one(own_cert_instance):
    inst, cert, key, d = own_cert_instance
    old = peer_cert(inst)
    log_before = len(inst.log_text())
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    inst.proc.send_signal(signal.SIGHUP)
    # The failed reload must be reported (a log line); wait for it so we know it was handled.
    wait_until(lambda: len(inst.log_text()) > log_before, 15,
               what="certflowd to log the failed reload")
    assert inst.proc.poll() is None, "certflowd exited on a bad reload:\n" + inst.log_text()[-2000:]
    assert peer_cert(inst) == old
    c = Client(inst)
    try:
        assert c.get("/healthz").status == 200
    finally:
        c.close()


# --------------------------------------------------------------- SIGTERM, SIGINT

# The signals that stop certflowd: SIGINT (a ^C in a foreground run) as SIGTERM.
STOP_SIGNALS = pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT],
                                       ids=["SIGTERM", "SIGINT"])

class LockHolder:
    """
    A psql session holding a lock until release(): ACCESS EXCLUSIVE on TABLE
    (api_tokens), or what the statement LOCK_SQL takes (a row's FOR UPDATE);
    APP names the session (application_name).
    """

    def __init__(self, stack, table="api_tokens", lock_sql=None, app=None):
        env = pg_environ(stack, PGAPPNAME=app) if app else pg_environ(stack)
        self.proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env, text=True)
        lock_sql = lock_sql or "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE" % table
        self.proc.stdin.write("BEGIN;\n%s;\n" % lock_sql)
        self.proc.stdin.flush()

    def release(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("COMMIT;\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def connect_refused(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    s.close()
    return False


@STOP_SIGNALS
def test_a_stop_signal_drains_an_in_flight_request_and_exits_0(stack, extra_instance, psql,
                                                               stop_signal):
    inst = extra_instance("db_statement_timeout_ms = 120000\nshutdown_timeout_s = 120\n")
    c = Client(inst, token=stack.admin_token, timeout=120)
    assert c.get("/v1/me").status == 200     # warm: pool connected
    lock = LockHolder(stack)
    result = {}

    def inflight():
        try:
            result["response"] = c.get("/v1/me")
        except Exception as e:      # reported by the main thread
            result["error"] = e

    t = threading.Thread(target=inflight, daemon=True)
    try:
        wait_until(lambda: psql("select count(*) from pg_locks where relation = 'api_tokens'::regclass"
                                " and mode = 'AccessExclusiveLock' and granted") == "1",
                   15, what="psql to hold the lock")
        t.start()
        wait_until(lambda: int(psql("select count(*) from pg_stat_activity "
                                    "where wait_event_type = 'Lock'")) >= 1,
                   15, what="the request's query to wait on the lock")
        assert t.is_alive()
        inst.proc.send_signal(stop_signal)
        wait_until(lambda: connect_refused(inst.port), 15, interval=0.1,
                   what="the listener to close after %s" % stop_signal.name)
        assert t.is_alive(), "the in-flight request ended before the lock was released: %r" % result
        assert inst.proc.poll() is None, "certflowd exited with a request in flight"
    finally:
        lock.release()
    t.join(60 * slowness())
    assert not t.is_alive(), "the in-flight request never completed"
    assert "error" not in result, result.get("error")
    r = result["response"]
    assert r.status == 200, r
    assert r.json()["roles"] and "admin" in r.json()["roles"]
    rc = inst.proc.wait(timeout=30 * slowness())
    assert rc == 0, inst.log_text()[-3000:]
    assert "certflowd stopped" in inst.log_text()
    c.close()


@STOP_SIGNALS
def test_a_stop_signal_on_an_idle_instance_exits_0_and_logs_the_stop(extra_instance,
                                                                     stop_signal):
    inst = extra_instance()
    c = Client(inst)
    assert c.get("/healthz").status == 200     # leaves an idle keep-alive connection open
    inst.proc.send_signal(stop_signal)
    rc = inst.proc.wait(timeout=30 * slowness())
    c.close()
    assert rc == 0, inst.log_text()[-3000:]
    assert "certflowd stopped" in inst.log_text()


def test_sigpipe_from_a_vanished_client_does_not_kill_the_daemon(extra_instance, stack):
    inst = extra_instance()
    # Many requests whose clients disappear without reading the answer.
    for _ in range(20):
        s = socket.create_connection((inst.host, inst.port), timeout=10)
        ctx = trusting_context(inst.ca)
        ss = ctx.wrap_socket(s, server_hostname=inst.host)
        ss.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        ss.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
        ss.close()
    c = Client(inst)
    try:
        assert wait_until(lambda: c.get("/healthz").status == 200, 10, what="/healthz")
    finally:
        c.close()
    assert inst.proc.poll() is None
