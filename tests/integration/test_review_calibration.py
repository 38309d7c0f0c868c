"""
Calibration (docs/REVIEW.md, "Calibration"): an evaluator driven through the
API to a known agreement table gets the figures computed by hand from it;
?since= selects reviews by time, from monthly counters and the raw rows of
the window's first month, with the answer of the raw rows alone; GET
/v1/calibration lists every evaluator, worst first, with an overall table.
"""

import math
from urllib.parse import quote

from cfclient import assert_problem
from review_helpers import (ALL_ONE, ClientPool, ReviewWorld, assert_stats, calibration_mismatches,
                            close, expected_stats, the_review, wilson)

FLOOR = 0.80
FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"


def test_the_wilson_formula_of_this_file_gives_the_documented_example():
    low, high = wilson(5, 10)
    assert round(low, 4) == 0.2366 and round(high, 4) == 0.7634


def plan_of(s1, s2):
    """
    E's ten reviews, in the order of their defenses: (original verdict, its
    skills not acquired, review verdict, its skills not acquired).
    """
    return ([("validated", (), "validated", ())] * 6 +
            [("validated", (), "needs_improvement", (s1,))] * 2 +
            [("needs_improvement", (s1,), "validated", ())] +
            [("needs_improvement", (s1,), "needs_improvement", (s2,))])


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

    for d, (ov, ona, rv, rna) in zip(defenses, plan_of(s1, s2)):
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


# ---------------------------------------------------------------- ?since= over months

# When each of E's ten reviews (plan_of's order) is moved to: several UTC
# months, a month's last and first instants, two reviews at the same instant.
SUBMITTED = ["2024-01-10 09:00:00+00", "2024-01-31 23:59:59.5+00", "2024-02-01 00:00:00+00",
             "2024-02-15 12:00:00+00", "2024-03-03 08:00:00+00", "2024-03-31 22:00:00+00",
             "2024-05-01 00:00:00.25+00", "2024-05-20 10:00:00+00", "2024-07-04 16:00:00+00",
             "2024-07-04 16:00:00+00"]
# E's disagreements (reviews 6, 7 and 8): outcome, and when it was resolved.
RESOLVED = {6: ("original_overturned", "2024-02-14 10:00:00+00"),
            7: ("original_upheld", "2024-03-02 10:00:00+00"),
            8: ("original_overturned", "2024-09-01 00:00:00+00")}
# E's missed deadlines.
MISSED = ["2024-02-01 00:00:00+00", "2024-06-30 23:59:59+00"]
# (?since=, the same instant in UTC for the expectations)
WINDOWS = [(PAST, "2000-01-01 00:00:00+00"),
           ("2024-01-31T23:59:59.5Z", "2024-01-31 23:59:59.5+00"),   # a review's own instant
           ("2024-02-01T00:00:00Z", "2024-02-01 00:00:00+00"),       # a month's first instant
           ("2024-02-01T01:00:00+01:00", "2024-02-01 00:00:00+00"),  # the same, as +01:00
           ("2024-02-01T00:30:00+01:00", "2024-01-31 23:30:00+00"),  # still January in UTC
           ("2024-02-10T00:00:00Z", "2024-02-10 00:00:00+00"),       # mid-month
           ("2024-02-15T12:00:00Z", "2024-02-15 12:00:00+00"),
           ("2024-02-15T12:00:00.000001Z", "2024-02-15 12:00:00.000001+00"),
           ("2024-04-10T00:00:00Z", "2024-04-10 00:00:00+00"),       # a month without reviews
           ("2024-07-04T16:00:00Z", "2024-07-04 16:00:00+00"),
           ("2024-08-01T00:00:00Z", "2024-08-01 00:00:00+00"),       # only an overturn after
           ("2024-12-31T23:59:59Z", "2024-12-31 23:59:59+00"),       # after all of it
           (FUTURE, "2999-01-01 00:00:00+00")]


def sortable(ts):
    """A fixed-width UTC timestamp of this file (microseconds, '+00'), for comparing."""
    day, _, rest = ts.partition(" ")
    clock = rest[:-3]
    whole, _, frac = clock.partition(".")
    return "%s %s.%s" % (day, whole, frac.ljust(6, "0"))


def expected_since(plan, skill_ids, since):
    """E's table, per_skill, overturned and missed_deadlines since SINCE, by hand."""
    t0 = sortable(since)
    table = {"vv": 0, "vn": 0, "nv": 0, "nn": 0}
    per_skill = {}
    for (ov, ona, rv, rna), at in zip(plan, SUBMITTED):
        if sortable(at) < t0:
            continue
        table[("v" if ov == "validated" else "n") + ("v" if rv == "validated" else "n")] += 1
        for code in skill_ids:
            if (code in ona) != (code in rna):
                per_skill[code] = per_skill.get(code, 0) + 1
    order = sorted(per_skill, key=lambda code: (-per_skill[code], skill_ids[code]))
    return {"table": table,
            "per_skill": [{"project_code": "p1", "skill_code": c, "disagreements": per_skill[c]}
                          for c in order],
            "overturned": sum(1 for outcome, at in RESOLVED.values()
                              if outcome == "original_overturned" and sortable(at) >= t0),
            "missed_deadlines": sum(1 for at in MISSED if sortable(at) >= t0)}


def months_of(psql, evaluator_id):
    """E's monthly counters: {month: 'vv|vn|nv|nn|overturned'}."""
    out = psql("select month || ' ' || vv || '|' || vn || '|' || nv || '|' || nn || '|' || "
               "overturned from evaluator_calibration_months where evaluator_id = %d"
               % evaluator_id)
    return dict(line.split(" ") for line in out.splitlines())


def test_reviews_and_overturns_through_the_api_are_counted_in_their_month(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    w, e, f, pedagogy_c = build_table(admin, psql, inst, pool)
    base = "/v1/evaluators/%d/calibration" % e["id"]
    whole = pedagogy_c.get(base).json()

    # The monthly counters add up to the whole ones, month by month of submission.
    months = months_of(psql, e["id"])
    got = [sum(int(v.split("|")[k]) for v in months.values()) for k in range(5)]
    assert got == [6, 2, 1, 1, 0], months
    assert psql("select coalesce(sum(disagreements), 0) from evaluator_skill_disagreement_months "
                "where evaluator_id = %d" % e["id"]) == "5"
    at = psql("select string_agg(distinct to_char(submitted_at at time zone 'UTC', 'YYYY-MM-01'), "
              "',') from reviews where original_evaluator_id = %d" % e["id"])
    assert sorted(months) == sorted(at.split(",")), (months, at)

    # An overturn counts in the month it is resolved.
    gid = int(psql("select g.id from disagreements g join reviews r on r.id = g.review_id "
                   "where r.original_evaluator_id = %d order by g.id limit 1" % e["id"]))
    r = pedagogy_c.post("/v1/disagreements/%d/resolve" % gid,
                        {"outcome": "original_overturned", "comment": "the reviewer is right"})
    assert r.status == 200, r
    resolved = psql("select to_char(resolved_at at time zone 'UTC', 'YYYY-MM-01') "
                    "from disagreements where id = %d" % gid)
    assert months_of(psql, e["id"])[resolved].split("|")[4] == "1"

    # Since the first review's instant (the raw rows of its month), or its
    # month's first instant (the counters alone): everything. Since the last
    # review's, and the overturn's: what the raw rows say.
    first, month = psql(
        "select to_char(min(submitted_at) at time zone 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), to_char(date_trunc('month', "
        "min(submitted_at) at time zone 'UTC'), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
        "from reviews where original_evaluator_id = %d" % e["id"]).split("|")
    whole = pedagogy_c.get(base).json()
    assert whole["overturned"] == 1, whole
    for since in (first, month, PAST):
        r = pedagogy_c.get(base + "?since=" + quote(since))
        assert r.status == 200, r
        got = r.json()
        assert {k: v for k, v in got.items() if k != "since"} == \
            {k: v for k, v in whole.items() if k != "since"}, (since, got, whole)
    compared, differing = calibration_mismatches(
        psql, "select %d union all select %d" % (e["id"], f["id"]),
        "select x from (select min(submitted_at) x from reviews where original_evaluator_id = %d "
        "union all select max(submitted_at) from reviews where original_evaluator_id = %d "
        "union all select resolved_at from disagreements where id = %d "
        "union all select now()) q" % (e["id"], e["id"], gid))
    assert compared == 8 and differing == [], differing


def test_since_over_several_months_is_the_raw_aggregation(admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    w, e, f, pedagogy_c = build_table(admin, psql, inst, pool)
    s1, s2 = w.skill_codes()
    plan = plan_of(s1, s2)
    skill_ids = dict(zip((s1, s2), range(2)))
    base = "/v1/evaluators/%d/calibration" % e["id"]

    # Resolve E's three disagreements through the API, then move E's reviews,
    # the resolutions and two missed deadlines into 2024, and recompute E's
    # monthly counters from the raw rows as the migration did.
    reviews = [int(x) for x in psql("select id from reviews where original_evaluator_id = %d "
                                    "order by defense_id" % e["id"]).split()]
    assert len(reviews) == len(plan)
    for k, (outcome, _) in RESOLVED.items():
        gid = int(psql("select id from disagreements where review_id = %d" % reviews[k]))
        r = pedagogy_c.post("/v1/disagreements/%d/resolve" % gid,
                            {"outcome": outcome, "comment": "months"})
        assert r.status == 200, r
    sql = ["update reviews set submitted_at = '%s' where id = %d;" % (at, rid)
           for rid, at in zip(reviews, SUBMITTED)]
    sql += ["update disagreements set resolved_at = '%s' where review_id = %d;" % (at, reviews[k])
            for k, (_, at) in RESOLVED.items()]
    sql += ["insert into evaluator_misses (evaluator_id, defense_id, kind, created_at) "
            "select %d, defense_id, 'deadline', '%s' from reviews where id = %d;"
            % (e["id"], at, reviews[0]) for at in MISSED]
    sql.append("select api.calibration_months_rebuild(%d);" % e["id"])
    psql("begin; %s commit;" % " ".join(sql))
    assert sorted(months_of(psql, e["id"])) == [
        "2024-01-01", "2024-02-01", "2024-03-01", "2024-05-01", "2024-07-01", "2024-09-01"]

    for since, utc in WINDOWS:
        r = pedagogy_c.get(base + "?since=" + quote(since))
        assert r.status == 200, (since, r)
        got = r.json()
        want = expected_since(plan, skill_ids, utc)
        assert {k: got[k] for k in want} == want, (since, got, want)
        assert_stats(got, FLOOR, "since %s: " % since)
    # Since before all data: E's whole figures, which moving rows in time leaves as they were.
    everything = pedagogy_c.get(base + "?since=" + PAST).json()
    whole = pedagogy_c.get(base).json()
    del everything["since"], whole["since"]
    assert everything == whole

    compared, differing = calibration_mismatches(
        psql, "select %d" % e["id"],
        "select unnest(array[%s]::timestamptz[])" % ", ".join("'%s'" % u for _, u in WINDOWS))
    assert compared == len(WINDOWS) and differing == [], differing


def test_calibration_figures_equal_the_raw_aggregation_for_every_evaluator(psql):
    """Whatever the suite left in the database, every evaluator, several windows."""
    compared, differing = calibration_mismatches(
        psql, "select id from users where 'evaluator' = any (roles)",
        "select '2000-01-01 00:00:00+00'::timestamptz union all "
        "select '2999-01-01 00:00:00+00' union all "
        "select now() - make_interval(days => n) from unnest(array[0, 1, 10, 40, 400]) n "
        "union all select date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' "
        "union all select (date_trunc('month', now() at time zone 'UTC') - interval '1 month') "
        "at time zone 'UTC' "
        "union all select percentile_disc(0.5) within group (order by submitted_at) from reviews "
        "union all select max(resolved_at) from disagreements "
        "where outcome = 'original_overturned' "
        "union all select max(created_at) from evaluator_misses")
    assert compared > 0 and differing == [], differing
