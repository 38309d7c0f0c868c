"""
TLS files checked at start, by --check-config and on SIGHUP (daemon/tls.c):
a certificate or key that cannot be read, does not load, does not match, has
expired or is not valid yet stops certflowd with a message naming the file
and the problem (and the dates); a reload with such files is refused and the
running certificate kept; a certificate expiring within 14 days is a warning.
"""

import datetime
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from cfclient import Client, peer_cert, slowness, wait_until
from conftest import certflowd_argv, conf_with, free_port, log_problems
from tls_helpers import new_key, new_pair

UTC = datetime.timezone.utc


def now():
    return datetime.datetime.now(UTC)


def day(when):
    """The date as certflowd prints it ("2026-11-22 ...")."""
    return when.astimezone(UTC).strftime("%Y-%m-%d")


def run(argv, timeout=60, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, errors="replace",
                          stdin=subprocess.DEVNULL, timeout=timeout * slowness(), **kw)


def write_conf(stack, path, **keys):
    keys.setdefault("listen_port", str(free_port()))
    Path(path).write_text(conf_with(stack.conf_text(), **keys))
    return Path(path)


def assert_refused(stack, conf, expected):
    """--check-config and a real start both fail, saying every string of EXPECTED."""
    check = run(certflowd_argv(stack, "--check-config", "-c", conf))
    out = check.stdout + check.stderr
    assert check.returncode != 0, out
    for s in expected:
        assert s in out, "--check-config does not say %r:\n%s" % (s, out)
    assert "configuration OK" not in out
    start = run(certflowd_argv(stack, "-c", conf), timeout=60)
    out = start.stdout + start.stderr
    assert start.returncode != 0, out
    for s in expected:
        assert s in out, "certflowd's start does not say %r:\n%s" % (s, out)
    assert "certflowd started" not in out and "listening on" not in out, out
    assert not log_problems(out, "certflowd refusing to start"), log_problems(out, "start")


# --------------------------------------------------------------- refusals at start

def test_a_missing_certificate_is_named_with_the_errno_text(stack, tmp_path):
    cert = tmp_path / "nope.pem"
    conf = write_conf(stack, tmp_path / "c.conf", tls_cert=str(cert))
    assert_refused(stack, conf, ["cannot read certificate %s" % cert, "No such file or directory"])


def test_a_missing_key_is_named_with_the_errno_text(stack, tmp_path):
    key = tmp_path / "nope.key"
    conf = write_conf(stack, tmp_path / "c.conf", tls_key=str(key))
    assert_refused(stack, conf, ["cannot read private key %s" % key, "No such file or directory"])


def test_a_directory_as_certificate_is_refused(stack, tmp_path):
    conf = write_conf(stack, tmp_path / "c.conf", tls_cert=str(tmp_path))
    assert_refused(stack, conf, ["cannot read certificate %s: Is a directory" % tmp_path])


def test_a_file_that_is_no_certificate_is_refused(stack, tmp_path):
    cert = tmp_path / "junk.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    conf = write_conf(stack, tmp_path / "c.conf", tls_cert=str(cert))
    assert_refused(stack, conf, ["cannot load certificate %s" % cert])


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_a_key_that_does_not_match_the_certificate_is_refused(stack, tmp_path, kind):
    other = new_key(tmp_path / "other.key", kind)
    cert = stack.tls / "server.pem"
    conf = write_conf(stack, tmp_path / "c.conf", tls_key=str(other))
    assert_refused(stack, conf, ["private key %s does not match certificate %s" % (other, cert)])


def test_an_expired_certificate_is_refused_with_its_dates(stack, tmp_path):
    start, end = now() - datetime.timedelta(days=40), now() - datetime.timedelta(days=3)
    key, cert = new_pair(stack, tmp_path, "expired", not_before=start, not_after=end)
    conf = write_conf(stack, tmp_path / "c.conf", tls_cert=str(cert), tls_key=str(key))
    assert_refused(stack, conf, ["certificate %s has expired" % cert, day(start), day(end)])


def test_a_certificate_not_valid_yet_is_refused_with_its_dates(stack, tmp_path):
    start, end = now() + datetime.timedelta(days=3), now() + datetime.timedelta(days=90)
    key, cert = new_pair(stack, tmp_path, "future", not_before=start, not_after=end)
    conf = write_conf(stack, tmp_path / "c.conf", tls_cert=str(cert), tls_key=str(key))
    assert_refused(stack, conf, ["certificate %s is not valid yet" % cert, day(start), day(end)])


def test_a_key_only_root_can_read_is_named_with_permission_denied(stack):
    """As another user (root reads everything): --check-config names the key and EACCES."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a file another user cannot read")
    nobody = pwd.getpwnam("nobody")
    d = Path(tempfile.mkdtemp(prefix="certflow-tls-"))
    try:
        d.chmod(0o755)
        cert, key = d / "server.pem", d / "server.key"
        shutil.copy(stack.tls / "server.pem", cert)
        shutil.copy(stack.tls / "server.key", key)
        cert.chmod(0o644)
        key.chmod(0o600)
        conf = write_conf(stack, d / "c.conf", tls_cert=str(cert), tls_key=str(key))
        conf.chmod(0o644)
        p = run(certflowd_argv(stack, "--check-config", "-c", conf),
                user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], cwd="/")
        out = p.stdout + p.stderr
        assert p.returncode != 0, out
        assert "cannot read private key %s: Permission denied" % key in out, out
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------- warnings

def test_a_certificate_expiring_within_14_days_is_a_warning_not_a_refusal(stack, tmp_path,
                                                                          extra_instance):
    end = now() + datetime.timedelta(days=5, hours=1)
    key, cert = new_pair(stack, tmp_path, "soon", not_after=end)
    conf = write_conf(stack, tmp_path / "c.conf", tls_cert=str(cert), tls_key=str(key))
    p = run(certflowd_argv(stack, "--check-config", "-c", conf))
    assert p.returncode == 0, p.stderr
    assert "certificate %s expires in 5 days, on %s" % (cert, day(end)) in p.stderr, p.stderr
    inst = extra_instance("tls_cert = %s\ntls_key = %s\n" % (cert, key))
    assert "WARN certificate %s expires in 5 days" % cert in inst.log_text()


def test_a_certificate_valid_for_months_gives_no_warning(stack):
    p = run(certflowd_argv(stack, "--check-config", "-c", stack.conf))
    assert p.returncode == 0, p.stderr
    assert "expires in" not in p.stderr, p.stderr


# --------------------------------------------------------------- SIGHUP

@pytest.fixture
def own_files_instance(stack, extra_instance, tmp_path):
    """An extra instance serving private copies of the stack's certificate and key."""
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    shutil.copy(stack.tls / "server.pem", cert)
    shutil.copy(stack.tls / "server.key", key)
    inst = extra_instance("tls_cert = %s\ntls_key = %s\n" % (cert, key))
    return inst, cert, key


def break_files(stack, d, cert, key, how):
    """Replaces CERT and KEY the HOW way; returns what the refusal must say."""
    if how == "expired":
        start, end = now() - datetime.timedelta(days=10), now() - datetime.timedelta(days=1)
        k, c = new_pair(stack, d, "expired", not_before=start, not_after=end)
        os.replace(k, key)
        os.replace(c, cert)
        return ["certificate %s has expired" % cert, day(end)]
    if how == "not-yet-valid":
        start = now() + datetime.timedelta(days=2)
        k, c = new_pair(stack, d, "future", not_before=start,
                        not_after=start + datetime.timedelta(days=30))
        os.replace(k, key)
        os.replace(c, cert)
        return ["certificate %s is not valid yet" % cert, day(start)]
    if how == "mismatch":
        os.replace(new_key(d / "other.key"), key)
        return ["private key %s does not match certificate %s" % (key, cert)]
    if how == "missing-key":
        key.unlink()
        return ["cannot read private key %s: No such file or directory" % key]
    raise ValueError(how)


@pytest.mark.parametrize("how", ["expired", "not-yet-valid", "mismatch", "missing-key"])
def test_sighup_with_bad_files_is_refused_and_the_running_certificate_kept(stack, tmp_path,
                                                                          own_files_instance, how):
    inst, cert, key = own_files_instance
    old = peer_cert(inst)
    expected = break_files(stack, tmp_path, cert, key, how)
    before = len(inst.log_text())
    inst.proc.send_signal(signal.SIGHUP)
    line = wait_until(lambda: next((l for l in inst.log_text()[before:].splitlines()
                                    if "reload refused" in l), None),
                      15, what="certflowd to log the refused reload")
    assert "keeping the running certificate" in line, line
    for s in expected:
        assert s in line, "the refusal does not say %r: %s" % (s, line)
    assert inst.proc.poll() is None, "certflowd exited on a bad reload"
    assert peer_cert(inst) == old
    c = Client(inst)
    try:
        assert c.get("/healthz").status == 200
    finally:
        c.close()


def test_sighup_with_a_certificate_expiring_soon_reloads_it_and_warns(stack, tmp_path,
                                                                     own_files_instance):
    inst, cert, key = own_files_instance
    old = peer_cert(inst)
    end = now() + datetime.timedelta(days=3, hours=1)
    k, c = new_pair(stack, tmp_path, "soon", not_after=end)
    os.replace(k, key)
    os.replace(c, cert)
    before = len(inst.log_text())
    inst.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reloaded the TLS certificate" in inst.log_text()[before:], 15,
               what="certflowd to reload")
    assert "certificate %s expires in 3 days" % cert in inst.log_text()[before:]
    assert peer_cert(inst) != old
