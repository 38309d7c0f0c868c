"""
Comparing a review with the original verdict (docs/REVIEW.md,
"Disagreements"): a different overall verdict opens exactly one disagreement
listing exactly the skills assessed differently; pedagogy resolves it once;
overturning a validated verdict sends the project back to the mentor, while
overturning a needs_improvement verdict only counts against the evaluator.
"""

from cfclient import assert_problem
from loop_helpers import audit_actions, enrollment_footprint
from review_helpers import ALL_ONE, NONE, ClientPool, ReviewWorld, calibration_row, the_review


class Case:
    """One student's defense, its verdict and the review's verdict."""

    def __init__(self, w, mentor, mentor_c, psql, name, original, original_na, review,
                 review_na):
        self.student, _ = w.user(["student"], "Student " + name)
        self.eid = w.enroll(self.student, mentor)["id"]
        self.attempt_id = w.attempt(self.eid)["id"]
        self.defense = w.handover(mentor_c, self.attempt_id)
        self.orig = self.defense["evaluator_id"]
        codes = w.skill_codes()
        w.verdict(self.defense, original, [codes[i] for i in original_na])
        self.review = the_review(psql, self.defense["id"])
        self.reviewer = self.review["reviewer_id"]
        assert self.reviewer != self.orig
        w.review(self.review["id"], self.reviewer, review, [codes[i] for i in review_na],
                 comment="review of " + name)
        self.original, self.review_verdict = original, review
        self.original_na, self.review_na = original_na, review_na


def mine(pedagogy_c, cases, query=""):
    """{defense_id: disagreement} of CASES' defenses in GET /v1/disagreements QUERY."""
    r = pedagogy_c.get("/v1/disagreements" + query)
    assert r.status == 200, r
    ids = {c.defense["id"] for c in cases}
    out = {}
    for g in r.json():
        if g["defense_id"] in ids:
            assert g["defense_id"] not in out, "two disagreements on one defense: %r" % r.json()
            out[g["defense_id"]] = g
    return out


def test_reviews_are_compared_and_pedagogy_resolves_each_disagreement_once(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    w = ReviewWorld(admin, inst, pool, n_skills=3)
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    # Three: after an overturn, round 2 may be drawn for neither the
    # original evaluator nor the reviewer (docs/REVIEW.md, "Who reviews").
    for i in (1, 2, 3):
        w.user(["evaluator"], "Evaluator %d" % i, qualified=True)
    pedagogy, pedagogy_c = w.user(["pedagogy"], "Pedagogy")
    evaluator_c = w.user(["evaluator"], "Bystander")[1]
    s1, s2, s3 = w.skill_codes()

    def case(*args):
        return Case(w, mentor, mentor_c, psql, *args)

    agree_v = case("agree-v", "validated", (), "validated", ())
    upheld = case("upheld", "validated", (), "needs_improvement", (0, 2))
    overturned_v = case("overturned-v", "validated", (), "needs_improvement", (1,))
    overturned_n = case("overturned-n", "needs_improvement", (0,), "validated", ())
    # Same overall verdict, other skills: no disagreement.
    agree_n = case("agree-n", "needs_improvement", (0,), "needs_improvement", (1,))
    cases = [agree_v, upheld, overturned_v, overturned_n, agree_n]

    found = mine(pedagogy_c, cases)
    assert set(found) == {upheld.defense["id"], overturned_v.defense["id"],
                          overturned_n.defense["id"]}, found
    g = found[upheld.defense["id"]]
    assert g["state"] == "open" and g["review_id"] == upheld.review["id"]
    assert g["original"] == {"evaluator_id": upheld.orig, "verdict": "validated"}
    assert g["review"] == {"reviewer_id": upheld.reviewer, "verdict": "needs_improvement"}
    assert g["skill_differences"] == [{"code": s1, "original": True, "reviewer": False},
                                      {"code": s3, "original": True, "reviewer": False}]
    assert isinstance(g["age_seconds"], int) and g["age_seconds"] >= 0, g
    assert g["outcome"] is None and g["resolved_by"] is None and g["resolved_at"] is None
    assert found[overturned_v.defense["id"]]["skill_differences"] == [
        {"code": s2, "original": True, "reviewer": False}]
    assert found[overturned_n.defense["id"]]["skill_differences"] == [
        {"code": s1, "original": False, "reviewer": True}]
    assert found[overturned_n.defense["id"]]["original"]["verdict"] == "needs_improvement"
    assert found[overturned_n.defense["id"]]["review"]["verdict"] == "validated"
    assert set(mine(pedagogy_c, cases, "?state=open")) == set(found)
    assert mine(pedagogy_c, cases, "?state=resolved") == {}
    assert_problem(pedagogy_c.get("/v1/disagreements?state=closed"), 422, field="state")

    # Only pedagogy resolves.
    url = "/v1/disagreements/%d/resolve"
    body = {"outcome": "original_overturned", "comment": "the reviewer is right"}
    assert_problem(admin.post(url % g["id"], body), 403)
    assert_problem(evaluator_c.post(url % g["id"], body), 403)
    assert_problem(w.client(upheld.reviewer).post(url % g["id"], body), 403)
    assert_problem(pedagogy_c.post(url % (1 << 60), body), 404)
    assert mine(pedagogy_c, cases)[upheld.defense["id"]]["state"] == "open"

    # Upheld: resolved, and nothing else changes.
    before = (enrollment_footprint(psql, upheld.eid), calibration_row(psql, upheld.orig),
              psql("select coalesce(reopened_reason, '-') from attempts where id = %d"
                   % upheld.attempt_id))
    r = pedagogy_c.post(url % g["id"], {"outcome": "original_upheld", "comment": "well judged"})
    assert r.status == 200, r
    res = r.json()
    assert res["state"] == "resolved" and res["outcome"] == "original_upheld", res
    assert res["comment"] == "well judged" and res["resolved_by"] == pedagogy["id"], res
    assert res["resolved_at"] is not None and res["effect"] is None, res
    assert (enrollment_footprint(psql, upheld.eid), calibration_row(psql, upheld.orig),
            psql("select coalesce(reopened_reason, '-') from attempts where id = %d"
                 % upheld.attempt_id)) == before
    assert audit_actions(psql, "attempt", upheld.attempt_id, "attempt.overturn") == []
    assert set(mine(pedagogy_c, cases, "?state=resolved")) == {upheld.defense["id"]}
    assert set(mine(pedagogy_c, cases, "?state=open")) == {overturned_v.defense["id"],
                                                         overturned_n.defense["id"]}
    for outcome in ("original_upheld", "original_overturned"):
        assert_problem(pedagogy_c.post(url % g["id"], {"outcome": outcome, "comment": "again"}),
                       409)
    assert mine(pedagogy_c, cases)[upheld.defense["id"]]["outcome"] == "original_upheld"

    # Overturning a validated verdict: the project goes back to the mentor.
    c = overturned_v
    assert w.view(c.eid)["state"] == "awaiting_jury"
    cal = calibration_row(psql, c.orig).split("|")
    gid = mine(pedagogy_c, cases)[c.defense["id"]]["id"]
    r = pedagogy_c.post(url % gid, body)
    assert r.status == 200, r
    res = r.json()
    assert res["state"] == "resolved" and res["outcome"] == "original_overturned", res
    assert res["effect"]["sent_back"] is True, res
    view = w.view(c.eid)
    assert view["state"] == "in_progress", view
    (a,) = view["attempts"]
    assert a["state"] == "mentoring" and a["round"] == 1, a
    assert a["reopened_reason"], a
    assert audit_actions(psql, "attempt", c.attempt_id, "attempt.overturn") == [
        ("attempt.overturn", pedagogy["id"])]
    assert audit_actions(psql, "enrollment", c.eid, "enrollment.reopen") == [
        ("enrollment.reopen", None)]
    assert calibration_row(psql, c.orig).split("|") == cal[:4] + [str(int(cal[4]) + 1)]
    assert_problem(pedagogy_c.post(url % gid, body), 409)
    # The mentor can hand it over again: round 2.
    d2 = w.handover(mentor_c, c.attempt_id, tag="round2")
    assert w.attempt(c.eid)["round"] == 2 and d2["id"] != c.defense["id"]
    assert d2["evaluator_id"] not in (c.orig, c.reviewer), d2

    # Overturning a needs_improvement verdict only counts against the evaluator.
    c = overturned_n
    before = enrollment_footprint(psql, c.eid)
    assert w.attempt(c.eid)["state"] == "mentoring"
    cal = calibration_row(psql, c.orig).split("|")
    gid = mine(pedagogy_c, cases)[c.defense["id"]]["id"]
    r = pedagogy_c.post(url % gid, body)
    assert r.status == 200, r
    assert r.json()["effect"] is None, r.json()
    assert enrollment_footprint(psql, c.eid) == before
    assert w.attempt(c.eid)["reopened_reason"] is None
    assert calibration_row(psql, c.orig).split("|") == cal[:4] + [str(int(cal[4]) + 1)]
    assert audit_actions(psql, "attempt", c.attempt_id, "attempt.overturn") == []
    assert mine(pedagogy_c, cases, "?state=open") == {}
    assert set(mine(pedagogy_c, cases, "?state=resolved")) == {
        upheld.defense["id"], overturned_v.defense["id"], overturned_n.defense["id"]}


def overturn_certificate(admin, psql, inst, pool, second_certificate):
    """
    A certificate of p1 is completed on a validated verdict; pedagogy has it
    reviewed, the reviewer disagrees, and pedagogy overturns the verdict
    (after the student started a certificate of p2 when SECOND_CERTIFICATE).
    Returns (world, first enrollment id, second enrollment id or None, answer).
    """
    w = ReviewWorld(admin, inst, pool, n_projects=2, n_skills=1)
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    student, _ = w.user(["student"], "Student")
    # Three: after an overturn, round 2 may be drawn for neither the
    # original evaluator nor the reviewer (docs/REVIEW.md, "Who reviews").
    for i in (1, 2, 3):
        w.user(["evaluator"], "Evaluator %d" % i, qualified=True)
    _, pedagogy_c = w.user(["pedagogy"], "Pedagogy")

    def certificate(code):
        r = admin.post("/v1/enrollments", {"student_id": student["id"], "path_id": w.path["id"],
                                           "mentor_id": mentor["id"], "projects": [code]})
        assert r.status == 201, r
        return r.json()

    first = certificate("p1")
    d = w.handover(mentor_c, first["attempts"][0]["id"])
    assert w.verdict(d, "validated")["enrollment"]["state"] == "completed"
    second = certificate("p2")["id"] if second_certificate else None
    r = pedagogy_c.post("/v1/defenses/%d/reviews" % d["id"], {})
    assert r.status == 201, r
    review = r.json()
    w.review(review["id"], review["reviewer_id"], "needs_improvement", w.skill_codes())
    gid = int(psql("select id from disagreements where defense_id = %d" % d["id"]))
    answer = pedagogy_c.post("/v1/disagreements/%d/resolve" % gid,
                             {"outcome": "original_overturned", "comment": "not acquired"})
    return w, first["id"], second, answer


def test_overturning_the_verdict_of_a_completed_certificate_reopens_it(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=NONE)
    w, eid, _, r = overturn_certificate(admin, psql, inst, pool, False)
    assert r.status == 200, r
    assert r.json()["effect"]["sent_back"] is True, r.json()
    view = w.view(eid)
    assert view["state"] == "in_progress" and view["attempts"][0]["state"] == "mentoring", view
    assert audit_actions(psql, "enrollment", eid, "enrollment.reopen") == [
        ("enrollment.reopen", None)]


def test_overturning_a_completed_certificate_reopens_it_beside_a_newer_certificate(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=NONE)
    w, eid, second, r = overturn_certificate(admin, psql, inst, pool, True)
    assert r.status == 200, r
    assert r.json()["effect"]["sent_back"] is True, r.json()
    assert w.view(eid)["state"] == "in_progress"
    assert w.view(eid)["attempts"][0]["state"] == "mentoring"
    assert w.view(second)["state"] == "in_progress"
    assert psql("select state from disagreements where id = %d" % r.json()["id"]) == "resolved"
