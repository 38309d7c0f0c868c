"""
tls_helpers.py - server certificates for TLS tests, made with the openssl
command line from the stack's development CA: valid, expired, not yet valid,
about to expire, or from another key. Dated certificates go through
`openssl ca -startdate/-enddate` (OpenSSL 3.0's x509 cannot backdate).
"""

import datetime
import os
import subprocess
from pathlib import Path

SERVER_EXT = ("basicConstraints = critical, CA:FALSE\n"
              "keyUsage = critical, digitalSignature\n"
              "extendedKeyUsage = serverAuth\n"
              "subjectAltName = DNS:localhost, IP:127.0.0.1\n")


def openssl(*argv):
    p = subprocess.run(["openssl"] + [str(a) for a in argv], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s failed (%d):\n%s" % (argv[0], p.returncode, p.stderr))
    return p.stdout


def new_key(path, kind="ec"):
    """A new private key at PATH: "ec" (P-256) or "rsa" (2048 bits)."""
    if kind == "rsa":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path)
    else:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    return Path(path)


def asn1_time(when):
    return when.astimezone(datetime.timezone.utc).strftime("%Y%m%d%H%M%SZ")


def issue_cert(stack, key, cert, cn="localhost", not_before=None, not_after=None):
    """
    CERT for KEY, signed by the stack's CA, valid from NOT_BEFORE to NOT_AFTER
    (aware datetimes; default: from an hour ago for two days). Returns CERT.
    """
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before = not_before or now - datetime.timedelta(hours=1)
    not_after = not_after or now + datetime.timedelta(days=2)
    d = Path(cert).parent / (".ca-%s" % os.urandom(4).hex())
    d.mkdir()
    (d / "index.txt").write_text("")
    (d / "serial").write_text(os.urandom(16).hex() + "\n")
    cnf = d / "ca.cnf"
    cnf.write_text("[ca]\ndefault_ca = dev\n"
                   "[dev]\ndatabase = %s/index.txt\nnew_certs_dir = %s\nserial = %s/serial\n"
                   "default_md = sha256\npolicy = any\nunique_subject = no\n"
                   "x509_extensions = ext\ncopy_extensions = none\n"
                   "[any]\ncommonName = supplied\n"
                   "[ext]\n%s" % (d, d, d, SERVER_EXT))
    csr = d / "req.csr"
    openssl("req", "-new", "-key", key, "-subj", "/CN=%s" % cn, "-out", csr)
    openssl("ca", "-batch", "-notext", "-config", cnf, "-cert", stack.tls / "ca.pem",
            "-keyfile", stack.tls / "ca.key", "-in", csr, "-out", cert,
            "-startdate", asn1_time(not_before), "-enddate", asn1_time(not_after))
    return Path(cert)


def new_pair(stack, directory, name, kind="ec", **dates):
    """(key, cert) under DIRECTORY, NAME.key and NAME.pem; DATES as for issue_cert."""
    key = new_key(Path(directory) / ("%s.key" % name), kind)
    cert = issue_cert(stack, key, Path(directory) / ("%s.pem" % name), **dates)
    return key, cert
