"""
The pool's pipeline mode (daemon/db_pool.c, db_pipeline_depth): one pooled
connection carries several requests' statements at once and answers each
request with its own result; a statement stuck on a lock gets nothing more
pipelined behind it, so requests sent meanwhile go to another connection;
db_pipeline_depth = 1 keeps one statement per connection; losing a
connection with several statements in flight answers every one of them 503;
and a request that finds no connection free waits in the queue at most
db_queue_timeout_ms, or not at all past db_queue_max, then gets 503.
Each test runs on an extra certflowd whose PostgreSQL sessions carry their
own application_name.
"""

import threading
import time

from cfclient import Client, assert_problem, metric_value, parse_metrics, slowness, wait_until
from loop_helpers import World
from test_faults import app_name, backend_pids, instance_conf, timed
from test_lifecycle import LockHolder


def pool_metrics(inst):
    with Client(inst) as anon:
        r = anon.get("/metrics")
        assert r.status == 200, r
        samples, _ = parse_metrics(r.body.decode())
    return {name: metric_value(samples, "certflow_db_" + name)
            for name in ("pool_size", "pipeline_depth", "inflight", "inflight_max",
                         "pool_connected", "pool_waiting")}


def hammer(inst, token, threads, per_thread, path="/v1/me"):
    """THREADS clients each sending PER_THREAD GETs at once: {status: count}, [me ids]."""
    statuses, ids, errors = {}, [], []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run():
        try:
            with Client(inst, token=token, timeout=60) as c:
                c.get("/healthz")       # TLS handshake before the barrier
                start.wait(30)
                for _ in range(per_thread):
                    r = c.get(path)
                    with lock:
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                        if r.status == 200 and path == "/v1/me":
                            ids.append(r.json()["id"])
        except Exception as e:      # reported by the caller
            with lock:
                errors.append(repr(e))
    ts = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120 * slowness())
    assert not any(t.is_alive() for t in ts), "a client never finished"
    assert errors == [], errors
    return statuses, ids


def test_one_connection_carries_several_requests_statements_at_once(stack, psql, admin_me,
                                                                     extra_instance):
    app = app_name()
    inst = extra_instance(instance_conf(stack, app, db_pool_size=1, db_pipeline_depth=4))
    m = pool_metrics(inst)
    assert (m["pool_size"], m["pipeline_depth"], m["pool_connected"]) == (1, 4, 1), m
    statuses, ids = hammer(inst, stack.admin_token, threads=8, per_thread=30)
    assert statuses == {200: 240}, statuses
    # Each request got its own statement's answer, in order: the admin, every time.
    assert set(ids) == {admin_me["id"]}
    assert len(backend_pids(psql, app)) == 1, "more than one PostgreSQL session"
    m = pool_metrics(inst)
    assert 2 <= m["inflight_max"] <= 4, m
    assert m["inflight"] == 0, m


def test_depth_1_keeps_one_statement_per_connection(stack, extra_instance):
    inst = extra_instance(instance_conf(stack, app_name(), db_pool_size=1, db_pipeline_depth=1))
    statuses, _ = hammer(inst, stack.admin_token, threads=8, per_thread=15)
    assert statuses == {200: 120}, statuses
    m = pool_metrics(inst)
    assert (m["pipeline_depth"], m["inflight_max"]) == (1, 1), m


def test_nothing_is_pipelined_behind_a_statement_stuck_on_a_lock(stack, psql, admin, make_user,
                                                                 extra_instance):
    app = app_name()
    inst = extra_instance(instance_conf(stack, app, db_pool_size=2, db_pipeline_depth=8,
                                        db_statement_timeout_ms=60000))
    w = World(admin, make_user)
    stuck = Client(inst, token=w.mentor_c.token, timeout=120)
    assert stuck.get("/v1/enrollments/%d" % w.eid).status == 200
    wait_until(lambda: len(backend_pids(psql, app)) == 2, 15, what="two pooled sessions")
    # Only a note on this enrollment waits for the row: nothing else certflowd runs
    # (background work included) touches it.
    lock = LockHolder(stack, lock_sql="SELECT 1 FROM enrollments WHERE id = %d FOR UPDATE"
                      % w.eid, app=app + "-lock")
    result = {}

    def wait_on_lock():
        result["r"] = stuck.post("/v1/enrollments/%d/notes" % w.eid,
                                 {"week": "2026-W07", "progress": 10, "at_risk": False,
                                  "body": "written while the row is locked"})
    t = threading.Thread(target=wait_on_lock, daemon=True)
    try:
        wait_until(lambda: psql("select count(*) from pg_stat_activity where application_name"
                                " = '%s-lock' and state = 'idle in transaction'" % app) == "1",
                   15, what="psql to lock the row")
        t.start()
        wait_until(lambda: psql("select count(*) from pg_stat_activity where application_name"
                                " = '%s' and wait_event_type = 'Lock'" % app) == "1", 15,
                   what="the note's statement to wait on the row lock")
        # A statement sent less than PIPELINE_BEHIND_MAX_MS (50 ms) after the head may
        # still join its pipeline (the head does not look stuck yet): let that pass.
        time.sleep(0.2)
        # Concurrent requests on the other connection: pipelined behind each other,
        # never behind the stuck one (each would then wait for the lock).
        (statuses, _), took = timed(lambda: hammer(inst, stack.admin_token, threads=6,
                                                   per_thread=20))
        assert statuses == {200: 120}, statuses
        assert took < 30 * slowness(), took
        assert t.is_alive(), "the stuck request finished while the lock was held: %r" % result
        assert pool_metrics(inst)["inflight_max"] >= 2
    finally:
        lock.release()
    t.join(60 * slowness())
    assert not t.is_alive(), "the stuck request never completed"
    assert result["r"].status == 201, result["r"]
    stuck.close()


def test_no_request_is_pipelined_behind_a_background_batch(stack, psql, admin, make_user,
                                                           extra_instance):
    """
    The audit sealer's batch (like every background job's statement) runs alone
    at the end of its connection's pipeline: requests arriving while it runs,
    even in its first PIPELINE_BEHIND_MAX_MS, go to the other connection. Here
    the batch waits on a table lock for HOLD seconds while six clients keep
    asking; before, those sent in its first 50 ms waited for the lock with it.
    """
    app = app_name()
    inst = extra_instance(instance_conf(stack, app, db_pool_size=2, db_pipeline_depth=8,
                                        db_statement_timeout_ms=120000, audit_seal_interval_s=1,
                                        credential_sign_interval_s=3600,
                                        deadline_scan_interval_s=86400))
    hold = 3 * slowness()
    latencies, errors, stop = [], [], threading.Event()
    lock = threading.Lock()

    def ask():
        try:
            with Client(inst, token=stack.admin_token, timeout=120) as c:
                while not stop.is_set():
                    t0 = time.monotonic()
                    r = c.get("/v1/me")
                    with lock:
                        latencies.append(time.monotonic() - t0)
                        if r.status != 200:
                            errors.append(r.status)
        except Exception as e:      # reported below
            with lock:
                errors.append(repr(e))
    askers = [threading.Thread(target=ask, daemon=True) for _ in range(6)]
    for t in askers:
        t.start()
    blocked = None
    try:
        # The sealer of either instance may take the batch (an advisory lock):
        # try until this instance's batch is the one waiting on the lock.
        for _ in range(10):
            make_user(["student"])          # an unsealed audit row, committed
            holder = LockHolder(stack, lock_sql="LOCK TABLE audit_log IN EXCLUSIVE MODE",
                                app=app + "-lock")
            deadline = time.monotonic() + 5 * slowness()
            while time.monotonic() < deadline and blocked is None:
                if psql("select count(*) from pg_stat_activity where application_name = '%s' "
                        "and wait_event_type = 'Lock' and query like '%%audit_seal_batch%%'"
                        % app) == "1":
                    blocked = holder
                time.sleep(0.05)
            if blocked is not None:
                break
            holder.release()
        assert blocked is not None, "this instance's audit sealer never waited on the lock"
        time.sleep(hold)
    finally:
        if blocked is not None:
            blocked.release()
        stop.set()
        for t in askers:
            t.join(60 * slowness())
    assert errors == [], errors
    assert len(latencies) > 20, latencies
    assert max(latencies) < hold / 2, "a request waited behind the batch: %.2f s" % max(latencies)


def test_a_lost_connection_answers_503_to_every_statement_in_flight_on_it(stack, psql,
                                                                          extra_instance):
    app = app_name()
    inst = extra_instance(instance_conf(stack, app, db_pool_size=1, db_pipeline_depth=8,
                                        db_statement_timeout_ms=60000))
    clients = [Client(inst, token=stack.admin_token, timeout=120) for _ in range(4)]
    for c in clients:
        assert c.get("/healthz").status == 200      # connected: the requests leave at once
    lock = LockHolder(stack)        # api_tokens: every authenticated statement waits
    start = threading.Barrier(len(clients))
    results = []

    def one(c):
        start.wait(30)
        results.append(timed(lambda: c.get("/v1/me")))
    threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in clients]
    try:
        wait_until(lambda: psql("select count(*) from pg_locks where relation = "
                                "'api_tokens'::regclass and mode = 'AccessExclusiveLock' "
                                "and granted") == "1", 15, what="psql to hold the lock")
        for t in threads:
            t.start()
        pid = wait_until(lambda: psql("select pid from pg_stat_activity where application_name"
                                      " = '%s' and wait_event_type = 'Lock'" % app), 15,
                         what="the head statement to wait on the lock")
        # Those sent within PIPELINE_BEHIND_MAX_MS of it are in flight behind it on the
        # one connection, the others wait in the queue.
        wait_until(lambda: (lambda m: m["inflight"] + m["pool_waiting"])(pool_metrics(inst))
                   == len(clients), 15, what="every request in flight or queued")
        in_flight = pool_metrics(inst)["inflight"]
        psql("select pg_terminate_backend(%s)" % pid)
        for t in threads:
            t.join(20 * slowness())
        assert not any(t.is_alive() for t in threads), \
            "a request in flight on the terminated session got no answer"
    finally:
        lock.release()
        for c in clients:
            c.close()
    # All of them answer 503 at once (the one session is gone: nothing else can run
    # the queued ones), not after the lock or the statement timeout.
    assert len(results) == len(clients)
    for r, took in results:
        assert_problem(r, 503)
        assert took < 20 * slowness(), took
    assert in_flight >= 1
    with Client(inst, token=stack.admin_token) as c:
        wait_until(lambda: c.get("/v1/me").status == 200, 20, interval=0.1,
                   what="/v1/me 200 after the session was terminated")
    assert inst.proc.poll() is None


# --------------------------------------------------------------- the queue: timeout and overflow

# No background step may take a queue place or the connection during the test.
QUIET_JOBS = dict(credential_sign_interval_s=3600, audit_seal_interval_s=0,
                  deadline_scan_interval_s=86400)


class StuckPool:
    """
    An extra certflowd with one pooled connection taking one statement at a
    time (APP names its session), held busy by a GET /v1/me waiting on
    LockHolder's lock on api_tokens until release(); KEYS go to its config.
    """

    def __init__(self, stack, psql, extra_instance, **keys):
        self.app = app_name()
        self.inst = extra_instance(instance_conf(stack, self.app, db_pool_size=1,
                                                 db_pipeline_depth=1,
                                                 db_statement_timeout_ms=120000,
                                                 **QUIET_JOBS, **keys))
        self.client = Client(self.inst, token=stack.admin_token, timeout=180)
        assert self.client.get("/healthz").status == 200    # connected before the lock
        self.lock = LockHolder(stack)
        self.result = {}
        self.thread = threading.Thread(target=self._wait_on_lock, daemon=True)
        try:
            wait_until(lambda: psql("select count(*) from pg_locks where relation = "
                                    "'api_tokens'::regclass and mode = 'AccessExclusiveLock' "
                                    "and granted") == "1", 15, what="psql to hold the lock")
            self.thread.start()
            wait_until(lambda: psql("select count(*) from pg_stat_activity where "
                                    "application_name = '%s' and wait_event_type = 'Lock'"
                                    % self.app) == "1", 15,
                       what="the pool's one statement to wait on the lock")
        except BaseException:
            self.release()
            raise

    def _wait_on_lock(self):
        self.result["r"] = self.client.get("/v1/me")

    def release(self):
        """Lets the stuck request finish; returns its answer."""
        self.lock.release()
        self.thread.join(60 * slowness())
        assert not self.thread.is_alive(), "the stuck request never completed"
        self.client.close()
        return self.result.get("r")


def assert_unavailable(r):
    assert_problem(r, 503)
    assert r.headers.get("Retry-After") == "1", r.headers.items()


def test_a_request_waiting_longer_than_db_queue_timeout_ms_gets_503(stack, psql,
                                                                     extra_instance):
    timeout_ms = 500
    pool = StuckPool(stack, psql, extra_instance, db_queue_timeout_ms=timeout_ms)
    try:
        with Client(pool.inst, token=stack.admin_token, timeout=60) as c:
            for path in ("/v1/me", "/healthz"):     # both need the one connection
                r, took = timed(lambda: c.get(path))
                assert_unavailable(r)
                # Answered by the queue's timeout (counted in whole ms), not by the
                # stuck statement, nor before the timeout.
                assert took >= (timeout_ms - 1) / 1000, (path, took)
            assert pool.thread.is_alive(), "the stuck request finished while the lock was held"
            with Client(pool.inst) as anon:         # no database: served meanwhile
                assert anon.get("/metrics").status == 200
            assert pool_metrics(pool.inst)["pool_waiting"] == 0
    finally:
        stuck = pool.release()
    assert stuck.status == 200, stuck
    with Client(pool.inst, token=stack.admin_token) as c:
        assert c.get("/v1/me").status == 200
        assert c.get("/healthz").status == 200


def test_past_db_queue_max_a_request_gets_503_without_waiting(stack, psql, extra_instance):
    queue_max = 2
    pool = StuckPool(stack, psql, extra_instance, db_queue_max=queue_max,
                     db_queue_timeout_ms=120000)
    queued = [Client(pool.inst, token=stack.admin_token, timeout=180) for _ in range(queue_max)]
    answers = []
    threads = [threading.Thread(target=lambda c=c: answers.append(c.get("/v1/me")), daemon=True)
               for c in queued]
    try:
        for c in queued:
            assert c.get("/metrics").status == 200      # connected: the request leaves at once
        for t in threads:
            t.start()
        wait_until(lambda: pool_metrics(pool.inst)["pool_waiting"] == queue_max, 15,
                   what="%d requests in the queue" % queue_max)
        with Client(pool.inst, token=stack.admin_token, timeout=60) as c:
            for path in ("/v1/me", "/healthz"):
                assert_unavailable(c.get(path))
        # The overflow was answered while the queue still waited: it never queued.
        assert all(t.is_alive() for t in threads) and answers == [], answers
        assert pool_metrics(pool.inst)["pool_waiting"] == queue_max
    finally:
        stuck = pool.release()
        for t in threads:
            t.join(60 * slowness())
        for c in queued:
            c.close()
    assert stuck.status == 200, stuck
    # Once the lock is gone the queued requests are served, not dropped.
    assert [r.status for r in answers] == [200] * queue_max, answers
    with Client(pool.inst, token=stack.admin_token) as c:
        assert c.get("/v1/me").status == 200
