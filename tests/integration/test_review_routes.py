"""
The review routes: the reviewer's queue and verdict, and pedagogy's request
for a review of a decided defense (docs/openapi.yaml, docs/REVIEW.md).
"""

from cfclient import assert_problem
from loop_helpers import audit_actions
from review_helpers import NONE, ClientPool, Normaliser, ReviewWorld, review_body, reviews_of


def test_review_routes_check_the_caller_the_query_and_the_body(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=NONE)     # no verdict is sampled: every review is requested
    w = ReviewWorld(admin, inst, pool, n_skills=2)
    s1, s2 = w.skill_codes()
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    student, student_c = w.user(["student"], "Student")
    evaluators = {w.user(["evaluator"], "Evaluator %d" % i, qualified=True)[0]["id"]
                  for i in range(3)}
    bystander, bystander_c = w.user(["evaluator"], "Bystander")
    pedagogy, pedagogy_c = w.user(["pedagogy"], "Pedagogy")
    eid = w.enroll(student, mentor)["id"]
    d = w.handover(mentor_c, w.attempt(eid)["id"])
    orig = d["evaluator_id"]
    request = "/v1/defenses/%d/reviews" % d["id"]

    # The queue: evaluators only, and mine is a flag.
    for c in (student_c, mentor_c):
        assert_problem(c.get("/v1/reviews?mine=1"), 403)
    assert_problem(pedagogy_c.get("/v1/reviews?mine=1"), 403)
    assert_problem(bystander_c.get("/v1/reviews?mine=maybe"), 422, field="mine")
    assert bystander_c.get("/v1/reviews?mine=1").json() == []
    assert bystander_c.get("/v1/reviews?mine=true").json() == []

    # A pending defense is not reviewed yet.
    assert_problem(pedagogy_c.post(request, {}), 409)
    w.verdict(d, "validated")
    assert psql("select sampled from review_samples where defense_id = %d" % d["id"]) == "f"
    assert reviews_of(psql, d["id"]) == []
    # Only pedagogy asks for a review.
    for c in (admin, w.client(orig), bystander_c, mentor_c, student_c):
        assert_problem(c.post(request, {}), 403)
    assert reviews_of(psql, d["id"]) == []
    assert_problem(pedagogy_c.post("/v1/defenses/%d/reviews" % (1 << 60), {}), 404)

    r = pedagogy_c.post(request, {})
    assert r.status == 201, r
    first = r.json()
    assert set(first) == {"id", "defense_id", "reviewer_id", "due_at", "state"}, first
    assert first["defense_id"] == d["id"] and first["state"] == "pending"
    assert first["reviewer_id"] != orig and first["reviewer_id"] in evaluators
    r = pedagogy_c.post(request, {})
    assert r.status == 201, r
    second = r.json()
    assert second["reviewer_id"] not in (orig, first["reviewer_id"]), (first, second)
    assert second["reviewer_id"] in evaluators
    rows = reviews_of(psql, d["id"])
    assert [(x["id"], x["reviewer_id"], x["requested_by"]) for x in rows] == [
        (first["id"], first["reviewer_id"], "pedagogy"),
        (second["id"], second["reviewer_id"], "pedagogy")]
    assert psql("select string_agg(requester_id::text, ',' order by id) from reviews "
                "where defense_id = %d" % d["id"]) == "%d,%d" % (pedagogy["id"], pedagogy["id"])
    assert audit_actions(psql, "review", first["id"], "review.open") == [
        ("review.open", pedagogy["id"])]
    # Everyone eligible reviews it already.
    assert_problem(pedagogy_c.post(request, {}), 409)
    assert len(reviews_of(psql, d["id"])) == 2

    # Another evaluator's review is as absent as one that does not exist.
    url = "/v1/reviews/%d/verdict" % first["id"]
    body = review_body([s1, s2])
    other = w.client(second["reviewer_id"])
    for c in (other, bystander_c, w.client(orig)):
        n1, n2 = Normaliser({}), Normaliser({})
        theirs = c.post(url, body)
        missing = c.post("/v1/reviews/%d/verdict" % (1 << 60), body)
        assert_problem(theirs, 404)
        assert n1.response(theirs) == n2.response(missing), (theirs.body, missing.body)
    assert_problem(mentor_c.post(url, body), 403)

    mine = w.client(first["reviewer_id"])
    assert_problem(mine.post(url, review_body(["p9-s9", s2])), 422, field="skills[0].code")
    assert_problem(mine.post(url, review_body([s1, s2], "validated", (s2,))), 422, field="verdict")
    assert reviews_of(psql, d["id"])[0]["state"] == "pending"
    r = mine.post(url, review_body([s1, s2], "needs_improvement", (s2,), "not quite"))
    assert r.status == 200, r
    assert r.json() == {"id": first["id"], "state": "submitted"}
    assert_problem(mine.post(url, body), 409)
    row = reviews_of(psql, d["id"])[0]
    assert row["state"] == "submitted" and row["verdict"] == "needs_improvement"
    assert [i["id"] for i in mine.get("/v1/reviews?mine=1").json()] == []
    assert [i["id"] for i in other.get("/v1/reviews?mine=1").json()] == [second["id"]]
