"""
Faults: PostgreSQL sessions terminated, PostgreSQL stopped abruptly
(pg_ctl -m immediate, SIGKILL of the postmaster), a read-only database,
traffic to PostgreSQL blackholed, certflowd killed or stopped under load.
Requests get 503 in bounded time (never 500), routes without the database
keep answering, certflowd reconnects by itself, and every acknowledged write
is in the database while no failed one left half a transition
(fault_helpers.invariant_problems). Each test runs on an extra certflowd; the
shared PostgreSQL is always started again and left writable.
"""

import re
import signal
import threading
import time
import uuid

import pytest

from cfclient import Client, assert_problem, slowness, wait_until
from conftest import unique_email
from fault_helpers import (Load, TcpProxy, assert_consistent, make_worlds, pg_adopt, pg_kill9, pg_running,
                           pg_start, pg_stop_immediate, psql_as, status_of)
from test_lifecycle import LockHolder


def stack_conninfo(stack):
    return re.search(r"^db_conninfo\s*=\s*(.*)$", stack.conf_text(), re.M).group(1).strip()


def instance_conf(stack, app, conninfo=None, **keys):
    """Config lines for an extra certflowd whose PostgreSQL sessions are named APP."""
    base = {"db_conninfo": "%s application_name=%s" % (conninfo or stack_conninfo(stack), app),
            "review_rate": "0",            # no blind review draws: the load's cycle never runs dry
            "db_reconnect_max_ms": "500"}
    base.update({k: str(v) for k, v in keys.items()})
    return "".join("%s = %s\n" % kv for kv in base.items())


def app_name():
    return "cf-fault-" + uuid.uuid4().hex[:8]


def backend_pids(psql, app):
    return {int(p) for p in psql("select pid from pg_stat_activity where application_name = '%s'"
                                 % app).split()}


def new_user_body():
    return {"name": "Fault", "email": unique_email("fault"), "roles": ["student"]}


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


def wait_stack_healthy(stack):
    wait_until(lambda: status_of(stack) == 200, 60, interval=0.2,
               what="the shared certflowd's /healthz to answer 200 again")


# --------------------------------------------------------------- pg_terminate_backend

def test_terminated_sessions_get_503_never_500_and_the_pool_reconnects(stack, psql,
                                                                       extra_instance):
    app = app_name()
    inst = extra_instance(instance_conf(stack, app, db_statement_timeout_ms=60000))
    c = Client(inst, token=stack.admin_token, timeout=120)
    assert c.get("/v1/me").status == 200
    wait_until(lambda: len(backend_pids(psql, app)) == 4, 15, what="four pooled sessions")
    before = backend_pids(psql, app)

    # Idle sessions terminated: certflowd notices and reconnects, answering 503 at worst.
    psql("select pg_terminate_backend(pid) from pg_stat_activity where application_name = '%s'"
         % app)
    seen = []

    def recovered():
        seen.append(c.get("/v1/me").status)
        now = backend_pids(psql, app)
        return seen[-1] == 200 and len(now) == 4 and not now & before
    wait_until(recovered, 20, interval=0.1, what="four new sessions and /v1/me 200")
    assert set(seen) <= {200, 503}, seen

    # A session terminated while its statement waits on a lock: that request gets 503
    # at once, not after the statement timeout (60 s), and the others go on.
    lock = LockHolder(stack)
    result = {}

    def stuck():
        result["r"], result["t"] = timed(lambda: c.get("/v1/me"))
    t = threading.Thread(target=stuck, daemon=True)
    try:
        wait_until(lambda: psql("select count(*) from pg_locks where relation = "
                                "'api_tokens'::regclass and mode = 'AccessExclusiveLock' "
                                "and granted") == "1", 15, what="psql to hold the lock")
        t.start()
        pid = wait_until(lambda: psql("select pid from pg_stat_activity where application_name"
                                      " = '%s' and wait_event_type = 'Lock'" % app), 15,
                         what="the request's statement to wait on the lock")
        psql("select pg_terminate_backend(%s)" % pid)
        t.join(20 * slowness())
        assert not t.is_alive(), "the request whose session was terminated got no answer"
    finally:
        lock.release()
    assert_problem(result["r"], 503)
    assert result["t"] < 20 * slowness(), result["t"]
    wait_until(lambda: c.get("/v1/me").status == 200, 20, interval=0.1,
               what="/v1/me 200 after the busy session was terminated")
    assert inst.proc.poll() is None
    c.close()


# --------------------------------------------------------------- abrupt stops

@pytest.mark.parametrize("how", ["pg_ctl stop -m immediate", "kill -9 postmaster"])
def test_database_stopped_abruptly_under_load_loses_nothing_acknowledged(
        how, stack, admin, make_user, psql, extra_instance):
    statement_timeout_s = 5
    if how.startswith("kill"):
        pg_adopt(stack)
        wait_stack_healthy(stack)
    inst = extra_instance(instance_conf(stack, app_name(),
                                        db_statement_timeout_ms=statement_timeout_s * 1000))
    worlds = make_worlds(admin, make_user, 6)
    other = Client(inst, token=stack.admin_token)
    stopped = False
    try:
        with Load(worlds, inst) as load:
            load.wait_acked(40)
            if how.startswith("pg_ctl"):
                pg_stop_immediate(stack)
            else:
                pg_kill9(stack)
            stopped = True
            assert not pg_running(stack)
            # Without the database: writes and /healthz get 503 in bounded time, while
            # /metrics and new TLS handshakes answer 200, and the load sees only 503.
            r, took = timed(lambda: other.post("/v1/users", new_user_body()))
            assert_problem(r, 503)
            assert took < (statement_timeout_s + 5) * slowness(), took
            wait_until(lambda: status_of(inst) == 503, 10, what="/healthz 503")
            for _ in range(3):
                assert status_of(inst, "/metrics") == 200
            failed_before = load.statuses()[503]
            wait_until(lambda: load.statuses()[503] > failed_before + 10, 10,
                       what="the load to be refused with 503")
            pg_start(stack)
            stopped = False
            # certflowd reconnects by itself; the load goes on.
            wait_until(lambda: status_of(inst) == 200, 60, interval=0.2,
                       what="/healthz 200 after PostgreSQL restarted")
            load.wait_acked(40)
    finally:
        if stopped:
            pg_start(stack)
        other.close()
        wait_stack_healthy(stack)
    assert load.unexpected() == [], load.unexpected()[:10]
    assert [e for l in load.loads for e in l.exceptions] == []
    assert_consistent(psql, worlds, load.loads)
    assert inst.proc.poll() is None


# --------------------------------------------------------------- read-only database

def test_read_only_database_refuses_writes_with_503_and_writes_resume_without_restart(
        stack, psql, extra_instance):
    app = app_name()
    inst = extra_instance(instance_conf(stack, app))
    c = Client(inst, token=stack.admin_token)
    assert c.post("/v1/users", new_user_body()).status == 201
    try:
        psql("alter database certflow set default_transaction_read_only = on",
             database="postgres")
        psql("select pg_terminate_backend(pid) from pg_stat_activity "
             "where application_name = '%s'" % app)
        # Reads work on the new (read-only) sessions; writes get 503, never 500, and
        # leave nothing behind; /metrics needs no database.
        wait_until(lambda: c.get("/v1/me").status == 200, 20, interval=0.1,
                   what="reads on read-only sessions")
        for _ in range(6):
            body = new_user_body()
            assert_problem(c.post("/v1/users", body), 503)
            assert psql("select count(*) from users where email = '%s'" % body["email"]) == "0"
        assert status_of(inst, "/metrics") == 200
        assert inst.proc.poll() is None

        # Writable again. Nobody terminates certflowd's sessions: a session that
        # refused a write is replaced, so writes succeed again by themselves.
        psql("alter database certflow reset default_transaction_read_only",
             database="postgres")
        wait_until(lambda: c.post("/v1/users", new_user_body()).status == 201, 30,
                   interval=0.2, what="writes to succeed again without a restart")
    finally:
        psql_as(stack, "alter database certflow reset default_transaction_read_only",
                database="postgres")
        c.close()
    assert psql("show default_transaction_read_only") == "off"


# --------------------------------------------------------------- blackholed traffic

def test_blackholed_database_traffic_gives_503_in_bounded_time_and_recovers(
        stack, extra_instance):
    pg_port = int(stack.pg_env["PGPORT"])
    proxy = TcpProxy(pg_port)
    statement_timeout_s = 2
    conninfo = re.sub(r"\bport=\d+", "port=%d" % proxy.port, stack_conninfo(stack))
    try:
        inst = extra_instance(instance_conf(stack, app_name(), conninfo=conninfo,
                                            db_statement_timeout_ms=statement_timeout_s * 1000,
                                            db_connect_timeout_s=2))
        c = Client(inst, token=stack.admin_token, timeout=120)
        assert c.post("/v1/users", new_user_body()).status == 201
        proxy.blackhole()
        bound = (statement_timeout_s + 5) * slowness()
        # The statement is sent and nothing ever comes back: the pool's watchdog
        # answers 503 after statement_timeout plus its grace.
        r, took = timed(lambda: c.post("/v1/users", new_user_body()))
        assert_problem(r, 503)
        assert took < bound, took
        # The other connections went with it: later requests fail as fast (they wait
        # for a connection at most db_queue_timeout_ms), and /healthz says so.
        s, took = timed(lambda: status_of(inst))
        assert s == 503 and took < bound, (s, took)
        # Nothing else waits for the database.
        for _ in range(3):
            s, took = timed(lambda: status_of(inst, "/metrics"))
            assert s == 200 and took < 5 * slowness(), (s, took)
        assert inst.proc.poll() is None
        proxy.restore()
        wait_until(lambda: status_of(inst) == 200, 30, interval=0.2,
                   what="/healthz 200 once traffic flows again")
        assert c.post("/v1/users", new_user_body()).status == 201
        c.close()
    finally:
        proxy.close()


# --------------------------------------------------------------- certflowd killed / stopped

def test_certflowd_killed_under_load_leaves_no_half_made_transition(
        stack, admin, make_user, psql, extra_instance):
    conf = instance_conf(stack, app_name())
    inst = extra_instance(conf)
    worlds = make_worlds(admin, make_user, 6)
    with Load(worlds, inst) as load:
        load.wait_acked(40)
        inst.proc.send_signal(signal.SIGKILL)
        inst.proc.wait(30)
        time.sleep(0.3)
        # The same configuration and port again: the load's connections come back.
        # (extra_instance's own readiness probe would use another port.)
        again = extra_instance(conf + "listen_port = %d\n" % inst.port, wait=False)
        again.port = inst.port
        wait_until(lambda: again.proc.poll() is None and status_of(again) == 200, 30,
                   interval=0.1, what="the restarted certflowd's /healthz 200")
        load.wait_acked(40)
    assert any(l.exceptions for l in load.loads), "the kill interrupted nothing"
    assert load.unexpected() == [], load.unexpected()[:10]
    assert_consistent(psql, worlds, load.loads)


def test_sigterm_twice_under_load_drains_and_exits_0_within_shutdown_timeout(
        stack, admin, make_user, psql, extra_instance):
    shutdown_s = 3
    inst = extra_instance(instance_conf(stack, app_name(), shutdown_timeout_s=shutdown_s,
                                        db_statement_timeout_ms=120000))
    worlds = make_worlds(admin, make_user, 4)
    lock = LockHolder(stack, table="paths")
    stuck = Client(inst, token=stack.admin_token, timeout=120)
    t = None
    try:
        with Load(worlds, inst) as load:
            load.wait_acked(30)
            # One request that cannot finish (its table is locked) while the load writes.
            t = threading.Thread(target=lambda: _swallow(lambda: stuck.get("/v1/paths")),
                                 daemon=True)
            t.start()
            wait_until(lambda: int(psql("select count(*) from pg_stat_activity where "
                                        "wait_event_type = 'Lock'")) >= 1, 15,
                       what="the request to wait on the locked table")
            t0 = time.monotonic()
            inst.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            inst.proc.send_signal(signal.SIGTERM)
            rc = inst.proc.wait((shutdown_s + 15) * slowness())
            took = time.monotonic() - t0
    finally:
        lock.release()
        if t is not None:
            t.join(30)
        stuck.close()
    assert rc == 0, inst.log_text()[-3000:]
    log = inst.log_text()
    assert "already stopping" in log
    assert "shutdown_timeout reached" in log
    assert "certflowd stopped" in log
    # It waited for the stuck request, but no longer than shutdown_timeout_s (plus margin).
    assert shutdown_s - 0.5 <= took < (shutdown_s + 10) * slowness(), took
    assert load.unexpected() == [], load.unexpected()[:10]
    assert_consistent(psql, worlds, load.loads)


def _swallow(fn):
    try:
        fn()
    except Exception:
        pass
