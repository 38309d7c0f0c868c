"""
Dropping root (daemon/privdrop.c): with `user = nobody`, certflowd started as
root binds its port (even a privileged one) and reads its keys as root, then
runs as nobody with no capability left; SIGHUP then reads files as nobody: a
certificate nobody may read is reloaded, one only root may read is refused
with the path and EACCES while the running one stays. An unknown user, or
root itself, stops certflowd before it serves.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from cfclient import Client, peer_cert, slowness, wait_until
from conftest import certflowd_argv, conf_with, free_port, log_problems
from tls_helpers import new_pair

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")


def status_fields(pid):
    """/proc/PID/status as {name: value}."""
    out = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def free_privileged_port():
    """A loopback port below 1024 that nothing listens on (only root may bind it)."""
    for port in range(1023, 900, -1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.skip("no free port below 1024 on 127.0.0.1")


@pytest.fixture
def nobody():
    return pwd.getpwnam("nobody")


@pytest.fixture
def public_dir():
    """A directory any user may traverse (pytest's tmp_path is root's alone)."""
    d = Path(tempfile.mkdtemp(prefix="certflow-privdrop-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_certflowd_binds_a_privileged_port_then_runs_as_nobody(stack, extra_instance, nobody):
    port = free_privileged_port()
    inst = extra_instance("user = nobody\nlisten_port = %d\n" % port)
    assert inst.port == port
    st = status_fields(inst.proc.pid)
    assert st["Uid"] == [str(nobody.pw_uid)] * 4, st["Uid"]
    assert st["Gid"] == [str(nobody.pw_gid)] * 4, st["Gid"]
    assert "0" not in st.get("Groups", []), st.get("Groups")
    assert int(st["CapEff"][0], 16) == 0 and int(st["CapPrm"][0], 16) == 0, st["CapEff"]
    assert "dropped privileges to user nobody (uid %d, gid %d)" % (
        nobody.pw_uid, nobody.pw_gid) in inst.log_text()
    assert "running as root" not in inst.log_text()
    # The database, the keys read at start and the routes all work as nobody.
    c = Client(inst, token=stack.admin_token)
    try:
        assert c.get("/healthz").status == 200
        r = c.get("/v1/me")
        assert r.status == 200, r
    finally:
        c.close()


def test_sighup_as_nobody_reloads_a_certificate_nobody_may_read(stack, extra_instance, nobody,
                                                                public_dir):
    key, cert = public_dir / "server.key", public_dir / "server.pem"
    shutil.copy(stack.tls / "server.key", key)
    shutil.copy(stack.tls / "server.pem", cert)
    for f in (key, cert):
        os.chown(f, nobody.pw_uid, nobody.pw_gid)
    inst = extra_instance("user = nobody\ntls_cert = %s\ntls_key = %s\n" % (cert, key),
                          conf_dir=public_dir)
    inst.conf.chmod(0o644)
    old = peer_cert(inst)
    k, c = new_pair(stack, public_dir, "new")
    for f in (k, c):
        os.chown(f, nobody.pw_uid, nobody.pw_gid)
    os.replace(k, key)
    os.replace(c, cert)
    before = len(inst.log_text())
    inst.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reloaded the TLS certificate" in inst.log_text()[before:], 15,
               what="certflowd (as nobody) to reload its certificate")
    assert peer_cert(inst) != old
    assert inst.proc.poll() is None


def test_sighup_as_nobody_refuses_a_key_only_root_may_read_and_keeps_serving(
        stack, extra_instance, public_dir):
    key, cert = public_dir / "server.key", public_dir / "server.pem"
    shutil.copy(stack.tls / "server.key", key)
    shutil.copy(stack.tls / "server.pem", cert)
    key.chmod(0o600)            # root's: read at start, before the drop
    cert.chmod(0o644)
    inst = extra_instance("user = nobody\ntls_cert = %s\ntls_key = %s\n" % (cert, key),
                          conf_dir=public_dir)
    inst.conf.chmod(0o644)
    old = peer_cert(inst)
    before = len(inst.log_text())
    inst.proc.send_signal(signal.SIGHUP)
    line = wait_until(lambda: next((l for l in inst.log_text()[before:].splitlines()
                                    if "reload refused" in l), None),
                      15, what="certflowd to log the refused reload")
    assert "keeping the running certificate" in line, line
    assert "cannot read private key %s: Permission denied" % key in line, line
    assert inst.proc.poll() is None, "certflowd exited on a refused reload"
    assert peer_cert(inst) == old
    c = Client(inst)
    try:
        assert c.get("/healthz").status == 200
    finally:
        c.close()


def run(argv, timeout=60):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, errors="replace",
                          stdin=subprocess.DEVNULL, timeout=timeout * slowness())


@pytest.mark.parametrize("user,says", [("certflow-no-such-user", "no such user"),
                                       ("root", "is root")])
def test_an_unusable_user_stops_certflowd_before_it_serves(stack, tmp_path, user, says):
    conf = tmp_path / "c.conf"
    conf.write_text(conf_with(stack.conf_text(), user=user, listen_port=str(free_port())))
    for argv in (certflowd_argv(stack, "--check-config", "-c", conf),
                 certflowd_argv(stack, "-c", conf)):
        p = run(argv)
        out = p.stdout + p.stderr
        assert p.returncode != 0, out
        assert "user '%s'" % user in out and says in out, out
        assert "listening on" not in out and "configuration OK" not in out, out
        assert not log_problems(out, "certflowd"), log_problems(out, "certflowd")


def test_root_without_user_is_warned_about(stack):
    assert "WARN running as root: set `user`" in stack.log.read_text(errors="replace")
