"""
Calibration (docs/REVIEW.md, "Calibration"): an evaluator driven through the
API to a known agreement table gets the figures computed by hand from it;
?since= selects reviews by time; GET /v1/calibration lists every evaluator,
worst first, with an overall table.
"""

import math

from cfclient import assert_problem
from review_helpers import (ALL_ONE, ClientPool, ReviewWorld, assert_stats, close, expected_stats,
                            the_review, wilson)

FLOOR = 0.80
FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"


def test_the_wilson_formula_of_this_file_gives_the_documented_example():
    low, high = wilson(5, 10)
    assert round(low, 4) == 0.2366 and round(high, 4) == 0.7634


def build_table(admin, psql, inst, pool):
    """
    Evaluator E decides 10 defenses and evaluator F one; every verdict is
    reviewed (review_rate 1) and the reviews are submitted so that E's table
    is vv=6, vn=2, nv=1, nn=1 and F's vn=1. Returns (world, E, F, pedagogy client).
    """
    w = ReviewWorld(admin, inst, pool, n_skills=2)
    s1, s2 = w.skill_codes()
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    e, _ = w.user(["evaluator"], "Evaluator E", qualified=True)
    students = [w.user(["student"], "Student %d" % i)[0] for i in range(11)]
    enrollments = [w.enroll(s, mentor)["id"] for s in students]
    # E is the only one qualified for the first ten handovers.
    defenses = [w.handover(mentor_c, w.attempt(eid)["id"]) for eid in enrollments[:10]]
    assert {d["evaluator_id"] for d in defenses} == {e["id"]}
    # F has no open defense and E has ten: the draw takes F.
    f, _ = w.user(["evaluator"], "Evaluator F", qualified=True)
    f_defense = w.handover(mentor_c, w.attempt(enrollments[10])["id"])
    assert f_defense["evaluator_id"] == f["id"]
    w.user(["evaluator"], "Reviewer R", qualified=True)
    _, pedagogy_c = w.user(["pedagogy"], "Pedagogy")

    # (original verdict, its skills not acquired, review verdict, its skills not acquired)
    plan = ([("validated", (), "validated", ())] * 6 +
            [("validated", (), "needs_improvement", (s1,))] * 2 +
            [("needs_improvement", (s1,), "validated", ())] +
            [("needs_improvement", (s1,), "needs_improvement", (s2,))])
    for d, (ov, ona, rv, rna) in zip(defenses, plan):
        w.verdict(d, ov, ona)
        review = the_review(psql, d["id"])
        assert review["reviewer_id"] != e["id"]
        w.review(review["id"], review["reviewer_id"], rv, rna)
    w.verdict(f_defense, "validated")
    review = the_review(psql, f_defense["id"])
    w.review(review["id"], review["reviewer_id"], "needs_improvement", (s1,))
    return w, e, f, pedagogy_c


def test_an_evaluators_calibration_is_computed_from_their_table(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    w, e, f, pedagogy_c = build_table(admin, psql, inst, pool)
    s1, s2 = w.skill_codes()

    r = pedagogy_c.get("/v1/evaluators/%d/calibration" % e["id"])
    assert r.status == 200, r
    cal = r.json()
    assert cal["evaluator_id"] == e["id"] and cal["since"] is None
    assert cal["table"] == {"vv": 6, "vn": 2, "nv": 1, "nn": 1}
    assert cal["reviews"] == 10 and cal["agreements"] == 7
    assert close(cal["agreement"], 0.7)
    # The Wilson interval of 7 in 10, z = 1.959963984540054.
    z = 1.959963984540054
    p, n = 0.7, 10
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert close(cal["wilson_low"], center - half), cal
    assert close(cal["wilson_high"], center + half), cal
    # Kappa: the original evaluator validated 8/10, the reviewers 7/10.
    p_e = 0.8 * 0.7 + 0.2 * 0.3                     # 0.62
    assert close(cal["kappa"], (0.7 - p_e) / (1 - p_e)), cal          # 4/19 = 0.2105...
    # AC1: pi_V = (0.8 + 0.7) / 2 = 0.75, p_e = 2 * 0.75 * 0.25 = 0.375.
    assert close(cal["ac1"], (0.7 - 0.375) / (1 - 0.375)), cal        # 0.52
    assert close(cal["leniency"], 0.2) and close(cal["severity"], 0.1), cal
    # Upper bound ~0.892 is above the floor: not flagged.
    assert center + half > FLOOR
    assert cal["flagged"] is False, cal
    assert cal["agreement_floor"] == FLOOR
    # s1 differs in the 2 vn, the nv and the nn review; s2 only in the nn one.
    assert cal["per_skill"] == [
        {"project_code": "p1", "skill_code": s1, "disagreements": 4},
        {"project_code": "p1", "skill_code": s2, "disagreements": 1}], cal
    assert cal["overturned"] == 0 and cal["missed_deadlines"] == 0, cal
    assert_stats(cal, FLOOR)

    # F: one review, which disagreed. Its upper bound 0.793 is under 0.80: flagged.
    r = pedagogy_c.get("/v1/evaluators/%d/calibration" % f["id"])
    assert r.status == 200, r
    fcal = r.json()
    assert fcal["table"] == {"vv": 0, "vn": 1, "nv": 0, "nn": 0}
    assert close(fcal["kappa"], 0.0) and close(fcal["ac1"], -1.0), fcal
    assert fcal["flagged"] is True, fcal
    assert_stats(fcal, FLOOR)

    # ?since=: a future instant counts nothing, a past one everything.
    r = pedagogy_c.get("/v1/evaluators/%d/calibration?since=%s" % (e["id"], FUTURE))
    assert r.status == 200, r
    none = r.json()
    assert none["table"] == {"vv": 0, "vn": 0, "nv": 0, "nn": 0} and none["reviews"] == 0
    assert none["per_skill"] == [] and none["flagged"] is False, none
    assert none["agreement"] is None and none["kappa"] is None and none["ac1"] is None, none
    assert none["wilson_low"] == 0 and none["wilson_high"] == 1, none
    assert none["since"] is not None
    r = pedagogy_c.get("/v1/evaluators/%d/calibration?since=%s" % (e["id"], PAST))
    assert r.status == 200, r
    everything = r.json()
    assert everything["since"] is not None
    del everything["since"], cal["since"]
    assert everything == cal
    assert_problem(pedagogy_c.get("/v1/evaluators/%d/calibration?since=notadate" % e["id"]),
                   422, field="since")
    # Only pedagogy and admin; only evaluators have a calibration.
    assert admin.get("/v1/evaluators/%d/calibration" % e["id"]).status == 200
    assert_problem(w.client(e["id"]).get("/v1/evaluators/%d/calibration" % e["id"]), 403)
    mentor_id = next(u["id"] for u, _ in w.users.values() if u["roles"] == ["mentor"])
    assert_problem(pedagogy_c.get("/v1/evaluators/%d/calibration" % mentor_id), 404)


def test_the_calibration_list_has_every_evaluator_worst_first_and_an_overall_table(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    w, e, f, pedagogy_c = build_table(admin, psql, inst, pool)

    r = pedagogy_c.get("/v1/calibration")
    assert r.status == 200, r
    body = r.json()
    assert body["agreement_floor"] == FLOOR
    items = body["evaluators"]
    evaluators = {int(x) for x in psql("select id from users where 'evaluator' = any (roles)")
                  .split()}
    assert {i["evaluator_id"] for i in items} == evaluators
    assert len(items) == len(evaluators)
    for i in items:
        assert_stats(i, FLOOR, "evaluator %d: " % i["evaluator_id"])
    by_id = {i["evaluator_id"]: i for i in items}
    assert by_id[e["id"]]["table"] == {"vv": 6, "vn": 2, "nv": 1, "nn": 1}
    assert by_id[e["id"]]["name"] == e["name"]
    assert by_id[f["id"]]["table"] == {"vv": 0, "vn": 1, "nv": 0, "nn": 0}
    assert by_id[f["id"]]["flagged"] is True and by_id[e["id"]]["flagged"] is False
    # Worst first: the flagged, then the lowest upper bound of agreement.
    keys = [(not i["flagged"], i["wilson_high"]) for i in items]
    assert keys == sorted(keys), keys
    pos = {i["evaluator_id"]: k for k, i in enumerate(items)}
    assert pos[f["id"]] < pos[e["id"]]

    # The overall table is the sum of every evaluator's, with its own figures.
    overall = body["overall"]
    total = {k: sum(i["table"][k] for i in items) for k in ("vv", "vn", "nv", "nn")}
    assert overall["table"] == total
    n = sum(total.values())
    p_o = (total["vv"] + total["nn"]) / n
    orig_v, rev_v = (total["vv"] + total["vn"]) / n, (total["vv"] + total["nv"]) / n
    p_e = orig_v * rev_v + (1 - orig_v) * (1 - rev_v)
    pi_v = (orig_v + rev_v) / 2
    assert close(overall["kappa"], (p_o - p_e) / (1 - p_e)), (overall, total)
    assert close(overall["ac1"], (p_o - 2 * pi_v * (1 - pi_v)) / (1 - 2 * pi_v * (1 - pi_v)))
    assert overall["reviews"] == n
    assert_stats(overall, FLOOR, "overall: ")
    want = expected_stats(total, FLOOR)
    assert close(overall["agreement"], want["agreement"])


def test_since_with_an_offset_postgresql_refuses_is_422_naming_the_field(admin, make_user):
    e, _ = make_user(["evaluator"])
    url = "/v1/evaluators/%d/calibration?since=" % e["id"]
    for since in ("2020-01-01T00:00:00%2B15:59", "2020-01-01T00:00:00-15:59",
                  "2020-01-01T00:00:00.5%2B01:00"):
        r = admin.get(url + since)
        assert r.status == 200, (since, r)
    # RFC 3339 allows offsets up to 23:59; PostgreSQL's timestamptz stops at 15:59.
    for since in ("2020-01-01T00:00:00%2B20:00", "2020-01-01T00:00:00-16:00",
                  "2020-01-01T00:00:00%2B23:59"):
        assert_problem(admin.get(url + since), 422, field="since")
