"""
The evaluator draw through the API: who is eligible, fewest open defenses
first, the stored draw replays with certflow's C implementation, and
PostgreSQL's api.draw_index agrees with an independent Python one.
"""

import os
import random

from cfclient import assert_problem
from loop_helpers import (World, certflow_cli, count, declare_conflict, draw_index, draw_pick,
                          enroll, enrollment_footprint, handover_body, pg_ints, qualify)

CYCLES = 30


class DrawWorld:
    """
    A path with evaluators A (the mentor, also an evaluator, qualified), B
    (qualified, in declared conflict with the students), C and D (qualified),
    E (an evaluator not qualified for this path); two students mentored by A.
    """

    def __init__(self, admin, make_user):
        w = World(admin, make_user, n_projects=2, n_evaluators=0)
        self.w = w
        self.a, self.a_c = w.user(["mentor", "evaluator"], "A mentor-evaluator")
        qualify(admin, self.a["id"], w.path["id"])
        self.b, _ = w.add_evaluator("B conflicted")
        self.c, _ = w.add_evaluator("C")
        self.d, _ = w.add_evaluator("D")
        self.e, _ = w.add_evaluator("E unqualified", qualified=False)
        self.students = []
        self.enrollments = []
        for i in range(2):
            s, _ = w.user(["student"], "Student %d" % i)
            declare_conflict(admin, self.b["id"], s["id"])
            self.students.append(s)
            self.enrollments.append(enroll(admin, s["id"], w.path["id"], self.a["id"]))

    def first_attempt(self, i):
        return self.enrollments[i]["attempts"][0]["id"]

    def handover(self, attempt, tag="work"):
        r = self.a_c.post("/v1/attempts/%d/handover" % attempt, handover_body(tag))
        assert r.status == 200, r
        return r.json()


def draw_row(psql, defense_id):
    """(draw id, seed bytes, candidates, loads, pick) of a defense's current draw."""
    out = psql("select r.id, encode(r.seed, 'hex'), r.candidates, r.loads, r.pick "
               "from defenses d join draws r on r.id = d.draw_id where d.id = %d" % defense_id)
    did, seed, cands, loads, pick = out.split("|")
    return int(did), bytes.fromhex(seed), pg_ints(cands), pg_ints(loads), int(pick)


def attempt_reviewers(psql, attempt):
    out = psql("select distinct r.reviewer_id from reviews r join defenses d "
               "on d.id = r.defense_id where d.attempt_id = %d" % attempt)
    return {int(x) for x in out.split()}


def draw_row_candidates(psql, draw_id):
    out = psql("select array_to_string(candidates, ',') from draws where id = %d" % draw_id)
    return [int(x) for x in out.strip().split(",") if x]


def test_the_draw_never_picks_the_mentor_a_conflicted_or_an_unqualified_evaluator(
        stack, admin, make_user, psql):
    dw = DrawWorld(admin, make_user)
    w = dw.w
    attempt = dw.first_attempt(0)
    eligible = sorted([dw.c["id"], dw.d["id"]])
    picks = []
    draw_ids = []
    for i in range(CYCLES):
        h = dw.handover(attempt, tag="cycle%d" % i)
        assert h["round"] == i + 1
        d = h["defense"]
        picks.append(d["evaluator_id"])
        did, seed, cands, loads, pick = draw_row(psql, d["id"])
        assert pick == d["evaluator_id"]
        # A blind reviewer of an earlier round is never drawn for a later one
        # (docs/REVIEW.md): verdicts here may be sampled for review.
        reviewers = attempt_reviewers(psql, attempt)
        expected = [e for e in eligible if e not in reviewers]
        assert cands == expected, "candidates of draw %d: %r" % (did, cands)
        assert loads == [0] * len(expected), loads
        assert draw_pick(seed, cands, loads) == pick, "draw %d disagrees with Python" % did
        draw_ids.append(did)
        w.verdict(d, "p1", "needs_improvement", tag="cycle%d" % i)
    assert set(picks) <= set(eligible), picks
    assert dw.a["id"] not in picks and dw.b["id"] not in picks
    # Both eligible evaluators come up in uniform draws while both are
    # candidates (fails with probability 2^-(n-1) for n such draws).
    both = [p for p, did in zip(picks, draw_ids)
            if draw_row_candidates(psql, did) == eligible]
    if len(both) >= 12:
        assert set(both) == set(eligible), both
    assert count(psql, "select count(*) from defenses where attempt_id = %d" % attempt) == CYCLES
    assert len(set(draw_ids)) == CYCLES

    for did in draw_ids:
        p = certflow_cli(stack, "draw", "replay", did)
        assert p.returncode == 0, (did, p.stdout, p.stderr)
        assert p.stdout.rstrip().endswith(": match"), p.stdout
        assert "MISMATCH" not in p.stdout


def test_the_draw_picks_the_evaluator_with_fewest_open_defenses(stack, admin, make_user, psql):
    dw = DrawWorld(admin, make_user)
    first = dw.handover(dw.first_attempt(0))["defense"]
    busy = first["evaluator_id"]
    assert busy in (dw.c["id"], dw.d["id"])
    idle = dw.d["id"] if busy == dw.c["id"] else dw.c["id"]
    second = dw.handover(dw.first_attempt(1))["defense"]
    assert second["evaluator_id"] == idle, "picked %d with one open defense over %d with none" % (
        second["evaluator_id"], idle)
    did, seed, cands, loads, pick = draw_row(psql, second["id"])
    assert dict(zip(cands, loads)) == {busy: 1, idle: 0}
    assert loads == [1 if c == busy else 0 for c in cands]
    assert certflow_cli(stack, "draw", "replay", did).returncode == 0


def test_a_tampered_draw_replays_as_a_mismatch(stack, admin, make_user, psql):
    dw = DrawWorld(admin, make_user)
    d = dw.handover(dw.first_attempt(0))["defense"]
    did, seed, cands, loads, pick = draw_row(psql, d["id"])
    p = certflow_cli(stack, "draw", "replay", did)
    assert p.returncode == 0 and "match" in p.stdout and "MISMATCH" not in p.stdout, p.stdout
    other = next(c for c in cands if c != pick)
    copy_id = int(psql("insert into draws (kind, seed, candidates, loads, pick) "
                       "select kind, seed, candidates, loads, %d from draws where id = %d "
                       "returning id" % (other, did)).splitlines()[0])
    try:
        p = certflow_cli(stack, "draw", "replay", copy_id)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert "MISMATCH" in p.stdout, p.stdout
        assert "stored pick %d" % other in p.stdout, p.stdout
        # The original still matches.
        assert certflow_cli(stack, "draw", "replay", did).returncode == 0
    finally:
        psql("delete from draws where id = %d" % copy_id)


def test_draw_replay_of_a_draw_that_does_not_exist_fails(stack, psql):
    missing = int(psql("select coalesce(max(id), 0) + 1000000 from draws"))
    p = certflow_cli(stack, "draw", "replay", missing)
    assert p.returncode == 1
    assert "no draw" in p.stderr, p.stderr


def test_sql_draw_index_agrees_with_the_derivation_of_draw_h(psql):
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    seeds = [bytes(rng.getrandbits(8) for _ in range(32)) for _ in range(200)]
    ns = [1, 2, 3, 7, 100]
    cases = [(s, n) for s in seeds for n in ns]
    values = ",".join("(%d, '%s')" % (i, s.hex()) for i, s in enumerate(seeds))
    out = psql("select api.draw_index(decode(h, 'hex'), n) "
               "from (values %s) v (i, h) cross join unnest(array[%s]) with ordinality u (n, k) "
               "order by i, k" % (values, ",".join(map(str, ns))))
    got = [int(line) for line in out.splitlines()]
    assert len(got) == len(cases)
    want = [draw_index(s, n) for s, n in cases]
    bad = [(s.hex(), n, g, x) for (s, n), g, x in zip(cases, got, want) if g != x]
    assert bad == [], "seed, n, SQL, Python: %r" % bad[:5]
    # Not trivially constant: n = 100 spreads over many values.
    assert len({g for (s, n), g in zip(cases, got) if n == 100}) > 50


def test_no_eligible_evaluator_refuses_the_handover_and_changes_nothing(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=0)
    # The only qualified evaluators are the mentor and one in conflict with the student.
    mentor, mentor_c = w.user(["mentor", "evaluator"], "Mentor-evaluator")
    qualify(admin, mentor["id"], w.path["id"])
    conflicted, _ = w.add_evaluator("Conflicted")
    student, _ = w.user(["student"], "Lonely student")
    declare_conflict(admin, conflicted["id"], student["id"])
    e = enroll(admin, student["id"], w.path["id"], mentor["id"])
    attempt = e["attempts"][0]["id"]
    before = enrollment_footprint(psql, e["id"])
    draws = count(psql, "select count(*) from draws")
    r = mentor_c.post("/v1/attempts/%d/handover" % attempt, handover_body())
    p = assert_problem(r, 409)
    assert "no eligible evaluator" in p["detail"], p
    assert enrollment_footprint(psql, e["id"]) == before
    assert before.split("|")[1].startswith("%d:mentoring:0," % attempt)
    assert count(psql, "select count(*) from draws") == draws
    assert count(psql, "select count(*) from deliverables where attempt_id = %d" % attempt) == 0
    assert count(psql, "select count(*) from audit_log where entity_type = 'attempt' "
                       "and entity_id = %d" % attempt) == 0
    # An evaluator qualified afterwards makes the same handover possible.
    fresh, _ = w.add_evaluator("Fresh")
    r = mentor_c.post("/v1/attempts/%d/handover" % attempt, handover_body())
    assert r.status == 200, r
    assert r.json()["defense"]["evaluator_id"] == fresh["id"]
