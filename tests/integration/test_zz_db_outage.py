"""
PostgreSQL outage: certflowd answers 503 while the database is down and
recovers by itself when it is back, without a restart. Named test_zz_ so it
runs last; PostgreSQL is always restarted, even when an assertion fails.
"""

import contextlib

from cfclient import Client, assert_problem, metric_value, parse_metrics, wait_until
from conftest import proc_alive, proc_start_time


@contextlib.contextmanager
def pg_down(stack):
    """Stops PostgreSQL; yields a restart function; always restarts it on the way out."""
    state = {"stopped": False}

    def restart():
        stack.devstack("pg-start")
        state["stopped"] = False

    stack.devstack("pg-stop")
    state["stopped"] = True
    try:
        yield restart
    finally:
        if state["stopped"]:
            stack.devstack("pg-start", check=False)
        # Leave the stack healthy for whatever runs after.
        c = Client(stack)
        try:
            wait_until(lambda: _status(c, "/healthz") == 200, 60, interval=0.2,
                       what="/healthz to recover after the outage test")
        finally:
            c.close()


def _status(client, path):
    try:
        return client.get(path).status
    except OSError:
        return None


def test_database_outage_gives_503_and_recovery_needs_no_restart(stack, admin, anon):
    pid = stack.pid
    started = proc_start_time(pid)
    assert admin.get("/v1/me").status == 200
    samples, _ = parse_metrics(anon.get("/metrics").body.decode())
    errors_before = metric_value(samples, "certflow_db_errors_total")

    with pg_down(stack) as restart:
        for _ in range(3):
            assert_problem(admin.get("/v1/me"), 503)
        assert_problem(anon.get("/healthz"), 503)
        assert proc_alive(pid), "certflowd died when PostgreSQL stopped"

        # /metrics needs no database and still answers; the failures were counted.
        m = anon.get("/metrics")
        assert m.status == 200, m
        samples, _ = parse_metrics(m.body.decode())
        assert metric_value(samples, "certflow_db_errors_total") > errors_before

        restart()
        wait_until(lambda: _status(anon, "/healthz") == 200, 30, interval=0.2,
                   what="/healthz 200 after PostgreSQL restarted")
        r = admin.get("/v1/me")
        assert r.status == 200, r
        assert r.json()["id"] > 0
        assert stack.pid == pid
        assert proc_alive(pid) and proc_start_time(pid) == started, "certflowd was restarted"


def test_writes_work_again_after_the_outage(stack, admin, psql):
    r = admin.post("/v1/users", {"name": "After Outage", "email": "after-outage@example.test",
                                 "roles": ["student"]})
    assert r.status == 201, r
    assert psql("select count(*) from audit_log where action = 'user.create' and entity_id = %d"
                % r.json()["id"]) == "1"
