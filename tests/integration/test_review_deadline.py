"""
A review not submitted by its due date is drawn again (docs/REVIEW.md, "Who
reviews"): the deadline scanner gives it another reviewer, never the late one
nor the original evaluator, and records the miss against the late one.
"""

from cfclient import assert_problem, wait_until
from loop_helpers import audit_actions, count
from review_helpers import ALL_ONE, ClientPool, ReviewWorld, review_body, the_review


def test_an_overdue_review_is_drawn_again_and_the_miss_is_recorded(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf="deadline_scan_interval_s = 1\n" + ALL_ONE)
    w = ReviewWorld(admin, inst, pool, n_skills=1)
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    student, _ = w.user(["student"], "Student")
    evaluators = {w.user(["evaluator"], "Evaluator %d" % i, qualified=True)[0]["id"]
                  for i in range(4)}
    _, pedagogy_c = w.user(["pedagogy"], "Pedagogy")
    eid = w.enroll(student, mentor)["id"]
    d = w.handover(mentor_c, w.attempt(eid)["id"])
    w.verdict(d, "validated")
    review = the_review(psql, d["id"])
    late = review["reviewer_id"]
    assert late != d["evaluator_id"]
    late_c = w.client(late)
    queue = late_c.get("/v1/reviews?mine=1")
    assert [i["id"] for i in queue.json()] == [review["id"]]

    psql("update reviews set due_at = now() - interval '1 hour' where id = %d" % review["id"])

    def reassigned():
        return int(psql("select reviewer_id from reviews where id = %d" % review["id"])) != late
    wait_until(reassigned, 20, interval=0.2, what="the overdue review to be reassigned")

    row = the_review(psql, d["id"])
    new = row["reviewer_id"]
    assert row["id"] == review["id"] and row["state"] == "pending"
    assert new not in (late, d["evaluator_id"]), (new, late, d["evaluator_id"])
    assert new in evaluators
    assert row["draw_id"] != review["draw_id"]
    cands = psql("select candidates from draws where id = %d" % row["draw_id"])
    assert str(late) not in cands.strip("{}").split(",") and \
        str(d["evaluator_id"]) not in cands.strip("{}").split(","), cands
    # A fresh deadline: review_due_days (7) from now.
    due = psql("select extract(epoch from due_at - now()) from reviews where id = %d"
               % review["id"])
    assert 6 * 86400 < float(due) <= 7 * 86400, due
    # The miss, against the late reviewer, for this review.
    assert psql("select evaluator_id, kind, coalesce(defense_id::text, 'NULL') "
                "from evaluator_misses where review_id = %d" % review["id"]) == \
        "%d|review_deadline|NULL" % late
    assert audit_actions(psql, "review", review["id"], "review.reassign") == [
        ("review.reassign", None)]
    assert count(psql, "select count(*) from audit_log where action = 'review.reassign' "
                       "and entity_id = %d and (details ->> 'from_reviewer_id')::bigint = %d "
                       "and (details ->> 'reviewer_id')::bigint = %d"
                 % (review["id"], late, new)) == 1
    cal = pedagogy_c.get("/v1/evaluators/%d/calibration" % late)
    assert cal.status == 200 and cal.json()["missed_deadlines"] == 1, cal

    # The late reviewer has lost it; the new one has it.
    assert late_c.get("/v1/reviews?mine=1").json() == []
    body = review_body(w.skill_codes())
    lost = late_c.post("/v1/reviews/%d/verdict" % review["id"], body)
    assert_problem(lost, 404)
    assert [i["id"] for i in w.client(new).get("/v1/reviews?mine=1").json()] == [review["id"]]
    r = w.client(new).post("/v1/reviews/%d/verdict" % review["id"], body)
    assert r.status == 200 and r.json() == {"id": review["id"], "state": "submitted"}, r
