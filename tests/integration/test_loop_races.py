"""
Concurrent transitions of one attempt, from two certflowd processes sharing
the database: exactly one wins, the others get 409, one set of rows is written.
"""

import threading

import pytest

from cfclient import Client
from loop_helpers import World, count, enroll, handover_body, qualify, verdict_body


def race(targets, token, method_path, bodies):
    """Sends one request per body at once (each thread its own Client); returns the responses."""
    n = len(bodies)
    barrier = threading.Barrier(n)
    results = [None] * n
    errors = []

    def worker(i):
        c = Client(targets[i % len(targets)], token=token)
        try:
            c.get("/healthz")           # connected before the start line
            barrier.wait(30)
            results[i] = c.post(method_path, bodies[i])
        except Exception as e:          # reported below, never swallowed
            errors.append(repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "some requests never got an answer"
    assert errors == []
    return results


def test_parallel_handovers_of_one_attempt_on_two_instances_succeed_exactly_once(
        stack, admin, make_user, extra_instance, psql):
    other = extra_instance()
    w = World(admin, make_user, n_evaluators=3)
    attempt = w.enrollment["attempts"][0]["id"]
    bodies = [handover_body(tag="racer%d" % i, n=2) for i in range(20)]
    results = race([stack, other], w.mentor["token"], "/v1/attempts/%d/handover" % attempt, bodies)
    statuses = [r.status for r in results]
    assert sorted(statuses) == [200] + [409] * 19, statuses
    for r in results:
        if r.status == 409:
            assert "awaiting_defense" in r.json()["detail"], r
    winner = next(i for i, r in enumerate(results) if r.status == 200)
    won = results[winner].json()
    assert won["round"] == 1
    assert count(psql, "select count(*) from defenses where attempt_id = %d" % attempt) == 1
    assert count(psql, "select count(distinct round) from deliverables where attempt_id = %d"
                 % attempt) == 1
    uris = psql("select uri from deliverables where attempt_id = %d order by id" % attempt)
    assert uris.splitlines() == ["https://git.example.test/racer%d/%d" % (winner, i)
                                 for i in range(2)]
    assert count(psql, "select count(*) from audit_log where action = 'attempt.handover' "
                       "and entity_id = %d" % attempt) == 1
    # Only the winner's draw was kept: no orphan draw with one of these evaluators.
    ev = ",".join(str(u["id"]) for u in w.evaluators)
    assert count(psql, "select count(*) from draws where pick in (%s)" % ev) == 1


def test_parallel_verdicts_on_one_defense_on_two_instances_succeed_exactly_once(
        stack, admin, make_user, extra_instance, psql):
    other = extra_instance()
    w = World(admin, make_user, n_evaluators=2)
    attempt = w.enrollment["attempts"][0]["id"]
    d = w.handover(attempt)["defense"]
    evaluator = next(u for u in w.evaluators if u["id"] == d["evaluator_id"])
    p1 = w.projects["p1"]
    # Half want it validated, half want another round: one of them decides.
    bodies = [verdict_body(p1, tag="v%d" % i) if i % 2 == 0 else
              verdict_body(p1, "needs_improvement", not_acquired=("p1-s2",), tag="v%d" % i)
              for i in range(10)]
    results = race([stack, other], evaluator["token"], "/v1/defenses/%d/verdict" % d["id"], bodies)
    statuses = [r.status for r in results]
    assert sorted(statuses) == [200] + [409] * 9, statuses
    winner = next(i for i, r in enumerate(results) if r.status == 200)
    won = results[winner].json()
    # The losers are told the states the winner left: a decided defense, its attempt.
    for r in results:
        if r.status == 409:
            detail = r.json()["detail"]
            assert "the defense is decided" in detail, r
            assert "the attempt to %s" % won["attempt"]["state"] in detail, r
    verdict = bodies[winner]["verdict"]
    assert won["defense"]["verdict"] == verdict
    row = psql("select state, verdict, recording_uri from defenses where id = %d" % d["id"])
    assert row == "decided|%s|https://video.example.test/v%d" % (verdict, winner)
    assert count(psql, "select count(*) from defense_skills where defense_id = %d" % d["id"]) == 2
    assert count(psql, "select count(*) from audit_log where action = 'defense.verdict' "
                       "and entity_id = %d" % d["id"]) == 1
    expected_state = "validated" if verdict == "validated" else "mentoring"
    assert psql("select state from attempts where id = %d" % attempt) == expected_state
    # When it was validated, the next project opened exactly once.
    opened = count(psql, "select count(*) from audit_log a join attempts t on t.id = a.entity_id "
                         "where a.action = 'attempt.open' and t.enrollment_id = %d" % w.eid)
    assert opened == (1 if verdict == "validated" else 0)


def handovers_at_once(stack, calls):
    """CALLS = [(mentor token, attempt id)], sent at once; returns the defenses drawn."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(i):
        token, attempt = calls[i]
        c = Client(stack, token=token)
        try:
            c.get("/healthz")
            barrier.wait(30)
            results[i] = c.post("/v1/attempts/%d/handover" % attempt, handover_body())
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "some handovers never got an answer"
    assert [r.status if r else None for r in results] == [200] * len(calls), results
    return [r.json()["defense"] for r in results]


def stored_loads(psql, defenses):
    return psql("select string_agg(r.loads::text, ' ' order by r.id) from draws r "
                "join defenses d on d.draw_id = r.id where d.id in (%s)"
                % ",".join(str(d["id"]) for d in defenses))


N_SPREAD = 4


def test_parallel_handovers_on_one_path_spread_over_the_least_loaded_evaluators(
        stack, admin, make_user, psql):
    """
    With N eligible evaluators and N handovers at once, fewest-open-defenses-first
    gives each evaluator exactly one defense, whatever the interleaving.
    """
    for _ in range(5):
        w = World(admin, make_user, n_evaluators=N_SPREAD)
        attempts = [w.enrollment["attempts"][0]["id"]]
        for i in range(N_SPREAD - 1):
            s, _ = w.user(["student"], "Student %d" % i)
            attempts.append(enroll(admin, s["id"], w.path["id"], w.mentor["id"])["attempts"][0]["id"])
        defenses = handovers_at_once(stack, [(w.mentor["token"], a) for a in attempts])
        picks = sorted(d["evaluator_id"] for d in defenses)
        assert picks == sorted(u["id"] for u in w.evaluators), \
            "picks %r with stored loads %s" % (picks, stored_loads(psql, defenses))


def test_parallel_handovers_on_paths_sharing_evaluators_spread_over_them(
        stack, admin, make_user, psql):
    """The load is global: the same holds when each handover is on a different path."""
    for _ in range(5):
        worlds = [World(admin, make_user, n_evaluators=0) for _ in range(N_SPREAD)]
        shared = [worlds[0].add_evaluator("Shared %d" % i)[0] for i in range(N_SPREAD)]
        for w in worlds[1:]:
            for u in shared:
                qualify(admin, u["id"], w.path["id"])
        defenses = handovers_at_once(stack, [(w.mentor["token"], w.enrollment["attempts"][0]["id"])
                                             for w in worlds])
        picks = sorted(d["evaluator_id"] for d in defenses)
        assert picks == sorted(u["id"] for u in shared), \
            "picks %r with stored loads %s" % (picks, stored_loads(psql, defenses))
