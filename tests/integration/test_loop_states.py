"""
The state machine through the API: an illegal transition is 409 naming the
current state, and changes nothing.
"""

from cfclient import assert_problem
from loop_helpers import World, enrollment_footprint, handover_body, verdict_body

NOTE = {"week": "2026-W12", "progress": 90, "body": "done", "at_risk": False}


def test_handover_is_refused_from_awaiting_defense_pending_and_validated(admin, make_user, psql):
    w = World(admin, make_user, n_projects=2, n_evaluators=1)
    p1, p2 = (a["id"] for a in w.enrollment["attempts"])

    before = enrollment_footprint(psql, w.eid)
    p = assert_problem(w.mentor_c.post("/v1/attempts/%d/handover" % p2, handover_body()), 409)
    assert "pending" in p["detail"], p
    assert enrollment_footprint(psql, w.eid) == before

    d = w.handover(p1)["defense"]
    before = enrollment_footprint(psql, w.eid)
    p = assert_problem(w.mentor_c.post("/v1/attempts/%d/handover" % p1, handover_body("again")), 409)
    assert "awaiting_defense" in p["detail"], p
    assert enrollment_footprint(psql, w.eid) == before

    w.verdict(d, "p1")
    before = enrollment_footprint(psql, w.eid)
    p = assert_problem(w.mentor_c.post("/v1/attempts/%d/handover" % p1, handover_body("late")), 409)
    assert "validated" in p["detail"], p
    assert enrollment_footprint(psql, w.eid) == before


def test_a_second_verdict_on_a_decided_defense_is_refused(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=1)
    d = w.handover(w.enrollment["attempts"][0]["id"])["defense"]
    w.verdict(d, "p1", "needs_improvement")
    before = enrollment_footprint(psql, w.eid)
    url = "/v1/defenses/%d/verdict" % d["id"]
    evaluator_c = w.clients[d["evaluator_id"]]
    for body in (verdict_body(w.projects["p1"]),
                 verdict_body(w.projects["p1"], "needs_improvement", not_acquired=("p1-s2",))):
        p = assert_problem(evaluator_c.post(url, body), 409)
        # The states: the defense's, and the attempt's as the verdict left it.
        assert "the defense is decided" in p["detail"], p
        assert "the attempt to mentoring" in p["detail"], p
        assert enrollment_footprint(psql, w.eid) == before
    assert psql("select verdict from defenses where id = %d" % d["id"]) == "needs_improvement"
    # Reassigning a decided defense is refused as well.
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    assert_problem(pedagogy_c.post("/v1/defenses/%d/reassign" % d["id"]), 409)
    assert enrollment_footprint(psql, w.eid) == before


def test_an_enrollment_awaiting_the_jury_takes_no_note_and_no_handover(admin, make_user, psql):
    w = World(admin, make_user, n_projects=1, n_evaluators=1)
    attempt = w.enrollment["attempts"][0]["id"]
    v = w.verdict(w.handover(attempt)["defense"], "p1")
    assert v["enrollment"]["state"] == "awaiting_jury"
    before = enrollment_footprint(psql, w.eid)
    p = assert_problem(w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, NOTE), 409)
    assert "awaiting_jury" in p["detail"], p
    p = assert_problem(w.mentor_c.post("/v1/attempts/%d/handover" % attempt, handover_body()), 409)
    assert "awaiting_jury" in p["detail"] or "validated" in p["detail"], p
    assert enrollment_footprint(psql, w.eid) == before


def test_unknown_attempts_and_defenses_are_404(admin, make_user):
    w = World(admin, make_user, n_evaluators=1)
    evaluator_c = w.clients[w.evaluators[0]["id"]]
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    assert_problem(w.mentor_c.post("/v1/attempts/999999999/handover", handover_body()), 404)
    assert_problem(evaluator_c.post("/v1/defenses/999999999/verdict",
                                    verdict_body(w.projects["p1"])), 404)
    assert_problem(pedagogy_c.post("/v1/defenses/999999999/reassign"), 404)
    assert_problem(w.mentor_c.post("/v1/enrollments/999999999/notes", NOTE), 404)


def test_a_completed_certificate_takes_no_note_and_a_new_certificate_may_start(
        admin, make_user, psql):
    w = World(admin, make_user, n_projects=2, n_evaluators=1, projects=["p1"])
    v = w.verdict(w.handover(w.enrollment["attempts"][0]["id"])["defense"], "p1")
    assert v["enrollment"]["state"] == "completed"
    before = enrollment_footprint(psql, w.eid)
    p = assert_problem(w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, NOTE), 409)
    assert "completed" in p["detail"], p
    assert enrollment_footprint(psql, w.eid) == before
    # Only running enrollments are unique per student, path and kind.
    body = {"student_id": w.student["id"], "path_id": w.path["id"], "mentor_id": w.mentor["id"]}
    r = admin.post("/v1/enrollments", dict(body, projects=["p2"]))
    assert r.status == 201, r
    assert_problem(admin.post("/v1/enrollments", dict(body, projects=["p1"])), 409)


def test_a_diploma_awaiting_the_jury_still_blocks_a_second_diploma(admin, make_user):
    w = World(admin, make_user, n_projects=1, n_evaluators=1)
    v = w.verdict(w.handover(w.enrollment["attempts"][0]["id"])["defense"], "p1")
    assert v["enrollment"]["state"] == "awaiting_jury"
    body = {"student_id": w.student["id"], "path_id": w.path["id"], "mentor_id": w.mentor["id"]}
    p = assert_problem(admin.post("/v1/enrollments", body), 409)
    assert "diploma" in p["detail"], p
