"""scripts/devstack: a second `up` on a running stack changes nothing and keeps it serving."""

from cfclient import Client
from conftest import parse_exports, proc_alive, proc_start_time


def test_a_second_devstack_up_is_harmless(stack):
    pid = stack.pid
    started = proc_start_time(pid)
    conf = stack.conf_text()
    # The suite's own stack, with the variable directory of its first `up`.
    rc, out, err = stack.devstack("up", check=False)
    assert rc == 0, err
    assert parse_exports(out) == stack.env, out
    assert "already running (pid %d)" % pid in err, err
    # The same certflowd process, not a restarted one with the same settings.
    assert stack.pid == pid
    assert proc_alive(pid) and proc_start_time(pid) == started
    assert stack.conf_text() == conf
    c = Client(stack, token=stack.admin_token)
    try:
        assert c.get("/healthz").status == 200
        r = c.get("/v1/me")
        assert r.status == 200 and "admin" in r.json()["roles"], r
    finally:
        c.close()
