"""Many clients at once: every request is answered, and the pool drains back to idle."""

import threading

from cfclient import Client, metric_value, parse_metrics, wait_until
from conftest import unique_email

THREADS = 16
READS = 10
WRITES = 2


def test_concurrent_clients_are_all_served_and_the_pool_returns_to_idle(stack, anon):
    statuses = []
    errors = []
    lock = threading.Lock()

    def worker():
        c = Client(stack, token=stack.admin_token)
        try:
            got = []
            for _ in range(READS):
                got.append(c.get("/v1/me").status)
            for _ in range(WRITES):
                got.append(c.post("/v1/users", {"name": "Concurrent", "email": unique_email("conc"),
                                                "roles": ["student"]}).status)
            with lock:
                statuses.extend(got)
        except Exception as e:
            with lock:
                errors.append(repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "some clients never got their answers"
    assert errors == []
    assert statuses.count(200) == THREADS * READS, sorted(set(statuses))
    assert statuses.count(201) == THREADS * WRITES, sorted(set(statuses))

    def idle():
        samples, _ = parse_metrics(anon.get("/metrics").body.decode())
        return (metric_value(samples, "certflow_db_pool_busy") == 0
                and metric_value(samples, "certflow_db_pool_waiting") == 0)
    wait_until(idle, 10, interval=0.1, what="the pool to be idle again")


def test_distinct_users_created_concurrently_get_distinct_ids_and_tokens(stack):
    results = []
    lock = threading.Lock()

    def worker():
        c = Client(stack, token=stack.admin_token)
        try:
            r = c.post("/v1/users", {"name": "Par", "email": unique_email("par"), "roles": ["mentor"]})
            with lock:
                results.append(r)
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status for r in results] == [201] * 8
    bodies = [r.json() for r in results]
    assert len({b["id"] for b in bodies}) == 8
    assert len({b["token"] for b in bodies}) == 8


def test_same_email_created_concurrently_succeeds_exactly_once(stack):
    email = unique_email("race")
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker():
        c = Client(stack, token=stack.admin_token)
        try:
            c.get("/healthz")           # connect before the barrier
            barrier.wait(30)
            r = c.post("/v1/users", {"name": "Race", "email": email, "roles": ["student"]})
            with lock:
                results.append(r.status)
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [201] + [409] * 5, results
