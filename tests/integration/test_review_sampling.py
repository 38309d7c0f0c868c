"""
Which verdicts are drawn for a blind review (docs/REVIEW.md, "Which verdicts
are reviewed"): the share sampled at review_rate, the at-risk factor, and
that every stored decision replays from its seed and probability.
"""

import math
import threading

from loop_helpers import certflow_cli, count, handover_body
from review_helpers import (ClientPool, ReviewWorld, reviews_of, sample_decide, sample_rows,
                            verdict_body)

THREADS = 8
PER_THREAD = 25     # enrollments each thread takes turns on
PHASE1 = 2000       # verdicts at the base rate
PHASE2 = 1000       # verdicts with the enrollments at risk
RATE = 0.10
# A reviewer is drawn for nothing later in the enrollment they reviewed in
# (docs/REVIEW.md, "Who reviews"), so an enrollment with k reviewed defenses
# needs k + 1 evaluators: with one more evaluator than any enrollment has
# rounds, every sampled verdict finds a reviewer and every handover an
# evaluator, whatever the seeds.
ROUNDS_EACH = -(-(PHASE1 + PHASE2) // (THREADS * PER_THREAD))
EVALUATORS = ROUNDS_EACH + 1


# The requirement: within three standard deviations of the expected count
# (200 +- 40.2 for 2,000 verdicts at 0.10; 150 +- 33.9 for 1,000 at 0.15).
# Each check then fails by chance about once in 370 runs (0.27%); a sampler
# off by a third of the rate fails it almost always.
def within_3_sd(k, n, p):
    mean = n * p
    sd = math.sqrt(n * p * (1 - p))
    return abs(k - mean) <= 3 * sd, "%d sampled of %d, expected %.0f +- %.1f" % (
        k, n, mean, 3 * sd)


class Loop:
    """
    The cheapest loop through the API: one project of one skill, THREADS
    threads taking turns on PER_THREAD enrollments each, and each round a
    handover and a needs_improvement verdict, which sends the project
    straight back to the mentor.
    """

    def __init__(self, w, inst, mentor, enrollments, evaluators):
        attempts = [w.attempt(e["id"])["id"] for e in enrollments]
        self.attempts = [attempts[i::THREADS] for i in range(THREADS)]
        self.body = verdict_body(w.skill_codes(), "needs_improvement",
                                 not_acquired=w.skill_codes())
        # One Client per thread and user: a connection is not shared between threads.
        self.mentor_cs = [w.pool(inst, mentor) for _ in range(THREADS)]
        self.evaluator_cs = [{e["id"]: w.pool(inst, e) for e in evaluators}
                             for _ in range(THREADS)]
        self.turn = [0] * THREADS

    def run(self, total):
        """Runs TOTAL rounds spread over the threads; returns the defense ids."""
        per = [total // THREADS + (1 if i < total % THREADS else 0) for i in range(THREADS)]
        out = [[] for _ in range(THREADS)]
        errors = []

        def work(i):
            try:
                for _ in range(per[i]):
                    attempt = self.attempts[i][self.turn[i] % len(self.attempts[i])]
                    self.turn[i] += 1
                    r = self.mentor_cs[i].post("/v1/attempts/%d/handover" % attempt,
                                               handover_body())
                    assert r.status == 200, r
                    d = r.json()["defense"]
                    r = self.evaluator_cs[i][d["evaluator_id"]].post(
                        "/v1/defenses/%d/verdict" % d["id"], self.body)
                    assert r.status == 200, r
                    out[i].append(d["id"])
            except BaseException as e:      # reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        ids = [d for part in out for d in part]
        assert len(ids) == total
        return ids


def test_verdicts_are_sampled_at_the_rate_and_at_risk_raises_it_and_every_decision_replays(
        stack, admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf="review_rate = %.2f\ncalibration_min_reviews = 1\n"
                                     "db_pool_size = 8" % RATE)
    w = ReviewWorld(admin, inst, pool, n_skills=1)
    mentor, _ = w.user(["mentor"], "Mentor")
    evaluators = [w.user(["evaluator"], "Evaluator %d" % i, qualified=True)[0]
                  for i in range(EVALUATORS)]
    # Past the "few reviews" case (1 reviewed defense needed) with a perfect
    # agreement: no factor applies, the probability is review_rate itself.
    for e in evaluators:
        psql("insert into evaluator_calibration (evaluator_id, vv) values (%d, 100)" % e["id"])
    enrollments = [w.enroll(w.user(["student"], "Student %d" % i)[0], mentor)
                   for i in range(THREADS * PER_THREAD)]
    loop = Loop(w, inst, mentor, enrollments, evaluators)

    # Phase 1: the base rate.
    first = loop.run(PHASE1)
    rows = sample_rows(psql, first)
    assert sorted(rows) == sorted(first), "every verdict has exactly one sampling decision"
    for d, (seed, p, factors, sampled) in rows.items():
        assert p == RATE and factors == [], (d, p, factors)
    k1 = sum(1 for r in rows.values() if r[3])
    ok, why = within_3_sd(k1, PHASE1, RATE)
    assert ok, why

    # Phase 2: the mentor's latest note says each student is at risk: x1.5.
    mentor_c = loop.mentor_cs[0]
    for e in enrollments:
        r = mentor_c.post("/v1/enrollments/%d/notes" % e["id"],
                          {"week": "2031-W07", "progress": 20, "body": "falling behind",
                           "at_risk": True})
        assert r.status == 201, r
    second = loop.run(PHASE2)
    rows2 = sample_rows(psql, second)
    assert sorted(rows2) == sorted(second)
    for d, (seed, p, factors, sampled) in rows2.items():
        assert math.isclose(p, RATE * 1.5, rel_tol=1e-12) and factors == ["at_risk"], \
            (d, p, factors)
    k2 = sum(1 for r in rows2.values() if r[3])
    ok, why = within_3_sd(k2, PHASE2, RATE * 1.5)
    assert ok, why

    # Every stored flag is the rule applied to the stored seed and probability:
    # in Python (an independent implementation of docs/REVIEW.md) ...
    rows.update(rows2)
    wrong = [d for d, (seed, p, _, sampled) in rows.items() if sample_decide(seed, p) != sampled]
    assert wrong == [], "flags that do not follow from their seed: %r" % wrong[:10]
    # ... in PostgreSQL ...
    ids = ",".join(str(d) for d in rows)
    assert count(psql, "select count(*) from review_samples where defense_id = any('{%s}') "
                       "and api.sample_decide(seed, probability) <> sampled" % ids) == 0
    # ... and with lib/sampling.c through certflow sample replay.
    sampled_ids = sorted(d for d, r in rows.items() if r[3])
    unsampled_ids = sorted(d for d, r in rows.items() if not r[3])
    for d in sampled_ids[:10] + unsampled_ids[:10]:
        p = certflow_cli(stack, "sample", "replay", d)
        assert p.returncode == 0, (d, p.returncode, p.stdout, p.stderr)
        assert p.stdout.rstrip().endswith(": match"), p.stdout
        assert ("stored sampled" if rows[d][3] else "stored not sampled") in p.stdout, p.stdout

    # A sampled verdict opened exactly one review by another evaluator; the others none.
    opened = {}
    for line in psql("select defense_id, count(*), bool_and(requested_by = 'sample') "
                     "from reviews where defense_id = any('{%s}') group by defense_id"
                     % ids).splitlines():
        d, n, by_sample = line.split("|")
        opened[int(d)] = (int(n), by_sample == "t")
    assert sorted(opened) == sampled_ids
    assert all(v == (1, True) for v in opened.values()), opened
    for d in sampled_ids[:20]:
        orig = int(psql("select evaluator_id from defenses where id = %d" % d))
        assert reviews_of(psql, d)[0]["reviewer_id"] != orig


def one_verdict(admin, psql, inst, pool, calibration=None, at_risk=False):
    """
    A world whose only evaluator has the calibration counters CALIBRATION
    (vv, vn, nv, nn; None: no row) decides one defense, the enrollment at
    risk or not; returns that defense's (probability, factors, sampled).
    """
    w = ReviewWorld(admin, inst, pool, n_skills=1)
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    student, _ = w.user(["student"], "Student")
    evaluator, _ = w.user(["evaluator"], "Evaluator", qualified=True)
    if calibration is not None:
        psql("insert into evaluator_calibration (evaluator_id, vv, vn, nv, nn) "
             "values (%d, %d, %d, %d, %d)" % ((evaluator["id"],) + tuple(calibration)))
    eid = w.enroll(student, mentor)["id"]
    for week, risk in (("2031-W01", not at_risk), ("2031-W02", at_risk)):
        r = mentor_c.post("/v1/enrollments/%d/notes" % eid,
                          {"week": week, "progress": 30, "body": "week", "at_risk": risk})
        assert r.status == 201, r
    d = w.handover(mentor_c, w.attempt(eid)["id"])
    w.verdict(d, "needs_improvement", w.skill_codes())
    _, p, factors, sampled = sample_rows(psql, [d["id"]])[d["id"]]
    return p, factors, sampled


def test_the_probability_follows_the_documented_factors_and_their_boundaries(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf="review_rate = 0.10\ncalibration_min_reviews = 10\n"
                                     "agreement_floor = 0.80")
    cases = [
        # (vv, vn, nv, nn) or None, at risk -> probability, factors
        (None, False, 0.2, ["few_reviews"]),
        ((9, 0, 0, 0), False, 0.2, ["few_reviews"]),
        ((10, 0, 0, 0), False, 0.1, []),                    # exactly the minimum: not too few
        ((8, 2, 0, 0), False, 0.1, []),                     # exactly at the floor: not low
        ((5, 2, 1, 2), False, 0.2, ["low_agreement"]),      # 7 in 10 < 0.80
        ((1, 0, 0, 8), True, 0.3, ["few_reviews", "at_risk"]),  # 9 < 10, agreement ignored
        ((4, 3, 1, 2), True, 0.3, ["low_agreement", "at_risk"]),
        ((40, 10, 0, 0), True, 0.15, ["at_risk"]),
    ]
    for calibration, at_risk, want_p, want_factors in cases:
        p, factors, sampled = one_verdict(admin, psql, inst, pool, calibration, at_risk)
        assert math.isclose(p, want_p, rel_tol=1e-12), (calibration, at_risk, p, factors)
        assert factors == want_factors, (calibration, at_risk, p, factors)

    # The product is capped at 1, and a probability of 1 always samples.
    capped = extra_instance(extra_conf="review_rate = 0.5")
    p, factors, sampled = one_verdict(admin, psql, capped, pool, None, True)
    assert p == 1.0 and factors == ["few_reviews", "at_risk"] and sampled is True
