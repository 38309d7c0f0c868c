"""
TLS scans of the running stack: sslscan (fast, in make check) proves TLS 1.2
and 1.3 only, Mozilla "intermediate" suites only, the groups X25519, P-256
and P-384 only, no insecure renegotiation, no heartbeat; hand-made
ClientHellos prove that compression is never chosen and that a client with no
shared group is refused; openssl s_client proves a client's renegotiation is
refused; certflowd answers /healthz after each. `make scan` (CERTFLOW_TLS_SCAN
=full) adds testssl.sh's full run, or sslscan's signature algorithms without it.
"""

import os
import shutil
import socket
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from cfclient import Client, slowness, wait_until
from conftest import proc_alive

FULL = os.environ.get("CERTFLOW_TLS_SCAN") == "full"

# Mozilla intermediate (v5.7): TLS 1.3's three suites, and these for TLS 1.2.
MOZILLA_TLS13 = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                 "TLS_CHACHA20_POLY1305_SHA256"}
MOZILLA_TLS12 = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                 "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
                 "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
                 "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
                 "DHE-RSA-CHACHA20-POLY1305"}
GROUPS = {"x25519", "secp256r1", "secp384r1"}


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip("%s is not installed (scripts/bootstrap installs it; CI has it)" % name)
    return path


def assert_alive(stack):
    assert proc_alive(stack.pid), "certflowd died during the scan"
    c = Client(stack, timeout=10)
    try:
        assert c.get("/healthz").status == 200
    finally:
        c.close()


def run(argv, timeout):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, errors="replace",
                          stdin=subprocess.DEVNULL, timeout=timeout * slowness())


# --------------------------------------------------------------- sslscan

@pytest.fixture(scope="module")
def sslscan(stack, tmp_path_factory):
    """sslscan's XML report on the stack (one scan for the module)."""
    exe = tool("sslscan")
    xml = tmp_path_factory.mktemp("sslscan") / "scan.xml"
    p = run([exe, "--no-colour", "--xml=%s" % xml, "%s:%d" % (stack.host, stack.port)], 120)
    assert p.returncode == 0, p.stdout + p.stderr
    test = ET.parse(xml).getroot().find("ssltest")
    assert test is not None, xml.read_text()
    return test


def test_sslscan_sees_tls12_and_tls13_only(stack, sslscan):
    enabled = {"%s%s" % (p.get("type"), p.get("version"))
               for p in sslscan.iter("protocol") if p.get("enabled") == "1"}
    offered = {"%s%s" % (p.get("type"), p.get("version")) for p in sslscan.iter("protocol")}
    assert {"ssl2", "ssl3", "tls1.0", "tls1.1"} <= offered, offered    # all were tried
    assert enabled == {"tls1.2", "tls1.3"}, enabled
    assert_alive(stack)


def test_sslscan_sees_mozilla_intermediate_suites_only(sslscan):
    accepted = [(c.get("sslversion"), c.get("cipher")) for c in sslscan.iter("cipher")
                if c.get("status") in ("accepted", "preferred")]
    assert accepted, "sslscan saw no cipher at all"
    for version, name in accepted:
        allowed = MOZILLA_TLS13 if version == "TLSv1.3" else MOZILLA_TLS12
        assert version in ("TLSv1.2", "TLSv1.3") and name in allowed, (version, name)
    assert {n for v, n in accepted if v == "TLSv1.3"} == MOZILLA_TLS13
    # Every TLS 1.2 suite is forward-secret and AEAD, and the server picks (cipher order).
    assert any(c.get("status") == "preferred" and c.get("sslversion") == "TLSv1.2"
               for c in sslscan.iter("cipher"))


def test_sslscan_sees_x25519_p256_p384_only(sslscan):
    names = {g.get("name").split()[0] for g in sslscan.iter("group")}
    assert names == GROUPS, names


def test_sslscan_sees_no_insecure_renegotiation_and_no_heartbleed(sslscan):
    for r in sslscan.iter("renegotiation"):
        assert not (r.get("supported") == "1" and r.get("secure") != "1"), r.attrib
    for h in sslscan.iter("heartbleed"):
        assert h.get("vulnerable") == "0", h.attrib
    for c in sslscan.iter("compression"):       # absent when sslscan's OpenSSL lacks zlib
        assert c.get("supported") == "0", c.attrib


def test_sslscan_sees_a_valid_certificate(sslscan):
    cert = sslscan.find("certificates/certificate")
    assert cert is not None
    assert cert.findtext("expired") == "false"


# --------------------------------------------------------------- hand-made ClientHellos

def client_hello(groups, compression=(0,), suites=(0xC02B, 0xC02C, 0xCCA9, 0xC02F, 0xC030, 0xCCA8)):
    """A TLS 1.2 ClientHello record offering SUITES, GROUPS and COMPRESSION methods."""
    def ext(kind, body):
        return struct.pack("!HH", kind, len(body)) + body

    group_list = b"".join(struct.pack("!H", g) for g in groups)
    sigalgs = b"".join(struct.pack("!H", a) for a in (0x0403, 0x0503, 0x0804, 0x0805, 0x0401))
    exts = (ext(0x000A, struct.pack("!H", len(group_list)) + group_list) +
            ext(0x000B, b"\x01\x00") +
            ext(0x000D, struct.pack("!H", len(sigalgs)) + sigalgs) +
            ext(0xFF01, b"\x00"))
    suite_bytes = b"".join(struct.pack("!H", s) for s in suites)
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" +
            struct.pack("!H", len(suite_bytes)) + suite_bytes +
            bytes([len(compression)]) + bytes(compression) +
            struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def first_answer(stack, hello):
    """("server_hello", compression method) or ("alert", description) for HELLO."""
    with socket.create_connection((stack.host, stack.port), timeout=10 * slowness()) as s:
        s.sendall(hello)
        buf = b""
        while True:
            while len(buf) >= 5 and len(buf) >= 5 + struct.unpack("!H", buf[3:5])[0]:
                kind, n = buf[0], struct.unpack("!H", buf[3:5])[0]
                rec, buf = buf[5:5 + n], buf[5 + n:]
                if kind == 21:
                    return "alert", rec[1]
                if kind == 22 and rec[0] == 2:          # ServerHello
                    p = 4 + 2 + 32
                    p += 1 + rec[p]                     # session id
                    return "server_hello", rec[p + 2]   # after the cipher suite
            chunk = s.recv(4096)
            if not chunk:
                return "closed", None
            buf += chunk


# With TLS 1.2 the groups also name the curves a client accepts for an ECDSA
# certificate: each hello offers P-256, the development certificate's curve.

def test_compression_is_never_chosen_even_when_the_client_prefers_deflate(stack):
    kind, value = first_answer(stack, client_hello([0x001D, 0x0017], compression=(1, 0)))
    assert (kind, value) == ("server_hello", 0)
    assert_alive(stack)


def test_a_client_offering_only_other_groups_is_refused(stack):
    # secp521r1 and ffdhe2048 only: no group in common, a handshake_failure (40) alert.
    kind, value = first_answer(stack, client_hello([0x0019, 0x0100]))
    assert kind in ("alert", "closed") and value in (40, None), (kind, value)
    assert_alive(stack)


# --------------------------------------------------------------- renegotiation

def test_client_initiated_renegotiation_is_refused(stack):
    exe = tool("openssl")
    # Not -quiet: it would turn the "R" command into data.
    p = subprocess.Popen([exe, "s_client", "-connect", "%s:%d" % (stack.host, stack.port),
                          "-tls1_2", "-CAfile", stack.ca, "-servername", "localhost"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(b"R\n", timeout=20 * slowness())
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    text = out.decode(errors="replace")
    assert "Verification: OK" in text, text[-3000:]
    assert "RENEGOTIATING" in text, text[-3000:]
    assert "no renegotiation" in text, text[-3000:]
    assert_alive(stack)


# --------------------------------------------------------------- make scan

@pytest.mark.skipif(not FULL, reason="the full scans run with make scan")
def test_testssl_full_scan_finds_nothing_to_fix(stack, tmp_path):
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    if exe is None:
        pytest.skip("testssl.sh is not installed: test_sslscan_signature_algorithms covers less")
    report = tmp_path / "testssl.json"
    p = run([exe, "--quiet", "--color", "0", "--warnings", "off", "--add-ca", stack.ca,
             "--jsonfile", report, "%s:%d" % (stack.host, stack.port)], 900)
    assert report.exists(), p.stdout[-3000:] + p.stderr[-3000:]
    import json
    findings = json.loads(report.read_text())
    by_id = {f["id"]: f for f in findings}
    for proto in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert "not offered" in by_id[proto]["finding"], by_id[proto]
    for proto in ("TLS1_2", "TLS1_3"):
        assert by_id[proto]["finding"].startswith("offered"), by_id[proto]
    # The development CA publishes no CRL or OCSP: a property of that CA, not of certflowd.
    ignored = {"cert_revocation", "engine_problem"}
    bad = [f for f in findings if f["severity"] in ("MEDIUM", "HIGH", "CRITICAL")
           and f["id"] not in ignored]
    assert not bad, "\n".join("%s %s: %s" % (f["severity"], f["id"], f["finding"]) for f in bad)
    assert_alive(stack)


@pytest.mark.skipif(not FULL, reason="the full scans run with make scan")
def test_sslscan_signature_algorithms_are_sha2_or_better(stack, tmp_path):
    exe = tool("sslscan")
    xml = tmp_path / "sigs.xml"
    p = run([exe, "--no-colour", "--show-sigs", "--xml=%s" % xml,
             "%s:%d" % (stack.host, stack.port)], 300)
    assert p.returncode == 0, p.stdout + p.stderr
    sigs = [s.get("name") for s in ET.parse(xml).getroot().iter("connection-signature-algorithm")]
    assert sigs, "no signature algorithm accepted"
    for name in sigs:
        assert "sha1" not in name.lower() and "md5" not in name.lower(), name
    assert_alive(stack)
