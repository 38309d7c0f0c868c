"""
Who may do what in the validation loop: every denial is 403, or 404 when the
enrollment is not the caller's to see; a denied request changes nothing.
"""

from cfclient import assert_problem
from loop_helpers import (World, enroll, enrollment_footprint, handover_body,
                          needs_improvement_body, qualify, verdict_body)

NOTE = {"week": "2026-W10", "progress": 40, "body": "steady", "at_risk": False}


def test_only_the_enrollments_mentor_writes_notes(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=1)
    other_mentor, other_mentor_c = make_user(["mentor"])
    evaluator_c = w.clients[w.evaluators[0]["id"]]
    before = enrollment_footprint(psql, w.eid)
    for c in (evaluator_c, other_mentor_c, w.student_c):
        assert_problem(c.post("/v1/enrollments/%d/notes" % w.eid, NOTE), 403)
    assert enrollment_footprint(psql, w.eid) == before
    assert w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, NOTE).status == 201


def test_only_the_enrollments_mentor_hands_over(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=1)
    attempt = w.enrollment["attempts"][0]["id"]
    other_mentor, other_mentor_c = make_user(["mentor"])
    before = enrollment_footprint(psql, w.eid)
    assert before.split("|")[1].startswith("%d:mentoring:0," % attempt)
    for c in (other_mentor_c, w.student_c, w.clients[w.evaluators[0]["id"]], admin):
        assert_problem(c.post("/v1/attempts/%d/handover" % attempt, handover_body()), 403)
    assert enrollment_footprint(psql, w.eid) == before
    assert w.mentor_c.post("/v1/attempts/%d/handover" % attempt, handover_body()).status == 200


def test_only_the_drawn_evaluator_posts_the_verdict(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=2)
    # The mentor is also a qualified evaluator: excluded from the draw and from the verdict.
    w.mentor, w.mentor_c = w.user(["mentor", "evaluator"], "Mentor-evaluator")
    qualify(admin, w.mentor["id"], w.path["id"])
    student2, student2_c = w.user(["student"], "Student 2")
    e2 = enroll(admin, student2["id"], w.path["id"], w.mentor["id"])
    h = w.handover(e2["attempts"][0]["id"])
    drawn = h["defense"]["evaluator_id"]
    assert drawn in {u["id"] for u in w.evaluators}
    other = next(u["id"] for u in w.evaluators if u["id"] != drawn)
    url = "/v1/defenses/%d/verdict" % h["defense"]["id"]
    body = verdict_body(w.projects["p1"])
    before = enrollment_footprint(psql, e2["id"])
    for c in (w.clients[other], student2_c, w.mentor_c, admin):
        assert_problem(c.post(url, body), 403)
    # A mentor without the evaluator role is refused by role.
    plain_mentor, plain_mentor_c = make_user(["mentor"])
    assert_problem(plain_mentor_c.post(url, needs_improvement_body(w.projects["p1"])), 403)
    assert enrollment_footprint(psql, e2["id"]) == before
    assert w.clients[drawn].post(url, body).status == 200


def test_only_pedagogy_reassigns_a_defense(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=2)
    h = w.handover(w.enrollment["attempts"][0]["id"])
    url = "/v1/defenses/%d/reassign" % h["defense"]["id"]
    before = enrollment_footprint(psql, w.eid)
    draws = int(psql("select count(*) from draws"))
    for c in (w.mentor_c, w.student_c, w.clients[h["defense"]["evaluator_id"]]):
        assert_problem(c.post(url), 403)
    assert enrollment_footprint(psql, w.eid) == before
    assert int(psql("select count(*) from draws")) == draws
    assert int(psql("select count(*) from evaluator_misses where defense_id = %d"
                    % h["defense"]["id"])) == 0
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    assert pedagogy_c.post(url).status == 200


def test_a_student_cannot_read_another_students_enrollment_or_notes(admin, make_user):
    w = World(admin, make_user, n_evaluators=1)
    assert w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, NOTE).status == 201
    intruder, intruder_c = make_user(["student"])
    unrelated_mentor, unrelated_mentor_c = make_user(["mentor"])
    evaluator_c = w.clients[w.evaluators[0]["id"]]
    for c in (intruder_c, unrelated_mentor_c, evaluator_c):
        p = assert_problem(c.get("/v1/enrollments/%d" % w.eid), 404)
        assert assert_problem(c.get("/v1/enrollments/%d/notes" % w.eid), 404)["detail"] == p["detail"]
    # The same answer as for an enrollment that does not exist at all.
    missing = assert_problem(intruder_c.get("/v1/enrollments/999999999"), 404)
    assert missing["detail"] == p["detail"]
    # The student themself reads both.
    assert w.student_c.get("/v1/enrollments/%d" % w.eid).status == 200
    notes = w.student_c.get("/v1/enrollments/%d/notes" % w.eid)
    assert notes.status == 200 and [n["week"] for n in notes.json()] == ["2026-W10"]
