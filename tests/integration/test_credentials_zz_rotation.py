"""
Rotating the credential signing key (etc/certflowd.conf signing_key_file,
cli/cmd_signing.c): a key appended and certflowd reloaded signs what is
issued next; a credential stored under the old key keeps verifying under
its key id, also once that key is retired to its public form. Changing the
stack's key file is permanent for the session, so this module runs late.
"""

import json
import os
import re
import signal
import stat
import subprocess
from pathlib import Path

from cfclient import wait_until
from loop_helpers import uid
from test_credentials import certificate, credential_of, fetch_credential, keys_file, verify


def signing_file(stack):
    m = re.search(r"^\s*signing_key_file\s*=\s*(.*?)\s*$", stack.conf_text(), re.M)
    assert m, "signing_key_file is not in the configuration"
    return Path(m.group(1))


def cli(stack, *args):
    p = subprocess.run([str(stack.certflow)] + list(args), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def rewrite(path, text):
    """Replaces PATH's contents atomically, mode 600 like the original."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(str(tmp), str(path))


def reload(stack, what):
    start = len(stack.log.read_text(errors="replace"))
    os.kill(stack.pid, signal.SIGHUP)
    wait_until(lambda: what in stack.log.read_text(errors="replace")[start:], 15,
               what="certflowd to reload the signing keys")


def stored(psql, cid):
    return psql("select key_id from credentials where id = '%s' and document is not null" % cid)


def test_an_old_credential_verifies_under_its_old_key_after_rotation(
        stack, admin, make_user, psql, tmp_path):
    path = signing_file(stack)
    old_text = path.read_text()
    old_id = old_text.split()[0]
    eid, _ = certificate(admin, make_user)
    old_cid = credential_of(admin, eid)["credential_id"]
    wait_until(lambda: stored(psql, old_cid) == old_id, 30, what="the signer to store it")
    old_body = fetch_credential(stack, old_cid)

    new_id = "rot-" + uid()
    rewrite(path, old_text + cli(stack, "keys", "new-signing", new_id))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    reload(stack, "%s signs" % new_id)

    eid2, _ = certificate(admin, make_user)
    new_cid = credential_of(admin, eid2)["credential_id"]
    new_doc = json.loads(fetch_credential(stack, new_cid))
    assert new_doc["proof"]["verificationMethod"].endswith("#" + new_id)
    assert fetch_credential(stack, old_cid) == old_body
    keys = keys_file(stack, tmp_path)
    by_id = {m["id"].split("#")[1]: m["status"] for m in json.loads(keys.read_bytes())[
        "verificationMethod"]}
    assert by_id == {old_id: "retired", new_id: "current"}, by_id
    for body in (old_body, json.dumps(new_doc).encode()):
        p = verify(stack, tmp_path, body, "--keys", str(keys))
        assert p.returncode == 0, p.stderr

    # Retire the old key's private part: only its public line stays.
    public = {line.split()[0]: line for line in cli(stack, "keys", "public-signing",
                                                    str(path)).splitlines()}
    lines = [public[old_id] if line.split()[0] == old_id else line
             for line in path.read_text().splitlines() if line.strip()]
    rewrite(path, "\n".join(lines) + "\n")
    reload(stack, "%s signs" % new_id)
    keys = keys_file(stack, tmp_path)
    p = verify(stack, tmp_path, fetch_credential(stack, old_cid), "--keys", str(keys))
    assert p.returncode == 0, p.stderr
    assert "key: %s" % old_id in p.stdout
