"""
What the subject of a report sees (sql/0004 api.enrollment_json): nothing at
all until pedagogy notifies them, then the report's category and outcome
only, never its text or reporter. The student, their mentor and an evaluator
of the student cannot read reports or alerts.
"""

from cfclient import assert_problem
from loop_helpers import World
from report_helpers import close, get_report, marker, report_body, submit


def views(clients, path):
    return [c.get(path) for c in clients]


def test_the_subject_sees_nothing_until_notified_then_category_and_outcome_only(
        stack, admin, psql, make_user):
    w = World(admin, make_user, n_projects=2, n_evaluators=1)
    a1 = w.attempt("p1")
    d = w.handover(a1["id"])["defense"]
    w.verdict(d, "p1", "needs_improvement")
    ev_c = w.evaluator_c(d["evaluator_id"])
    s_c, m_c = w.student_c, w.mentor_c
    ped, ped_c = make_user(["pedagogy"])
    reporter, reporter_c = make_user(["student"])
    enrollment = "/v1/enrollments/%d" % w.eid

    before = {"s": s_c.get(enrollment).json(), "m": m_c.get(enrollment).json(),
              "e": ev_c.get("/v1/defenses?mine=1").body,
              "e_enrollment": ev_c.get(enrollment).status}
    assert before["s"]["reports"] == [] and before["e_enrollment"] == 404

    body_mark, desc_mark = marker("body"), marker("desc")
    j, rid = submit(reporter_c, psql, report_body(enrollment_id=w.eid, project_code="p1",
                                                 body=body_mark, description=desc_mark,
                                                 category="impersonation"))
    assert get_report(ped_c, rid)["enrollment_id"] == w.eid

    # Not notified: no trace for the student, the mentor or the evaluator.
    assert s_c.get(enrollment).json() == before["s"]
    assert m_c.get(enrollment).json() == before["m"]
    assert ev_c.get("/v1/defenses?mine=1").body == before["e"]
    assert ev_c.get(enrollment).status == 404
    for c in (s_c, m_c, ev_c):
        assert_problem(c.get("/v1/reports"), 403)
        assert_problem(c.get("/v1/reports?state=received"), 403)
        assert_problem(c.get("/v1/reports/%d" % rid), 403)
        assert_problem(c.get("/v1/alerts"), 403)
        for action in ("acknowledge", "notify-subject"):
            assert_problem(c.post("/v1/reports/%d/%s" % (rid, action), {}), 403)
        assert_problem(c.post("/v1/reports/%d/messages" % rid, {"body": "hi"}), 403)
        assert_problem(c.post("/v1/reports/%d/link" % rid, {"enrollment_id": w.eid}), 403)
        assert_problem(c.post("/v1/reports/%d/close" % rid,
                              {"outcome": "unfounded", "consequence": "none",
                               "feedback": "x"}), 403)
    # ...not even the reporter, whose token made it confidential
    assert_problem(reporter_c.get("/v1/reports/%d" % rid), 403)
    assert get_report(ped_c, rid)["state"] == "received"

    # Notified: the category, and the outcome once there is one; nothing else.
    r = ped_c.post("/v1/reports/%d/notify-subject" % rid, {})
    assert r.status == 200, r
    assert r.json()["subject_notified_at"] is not None
    for c in (s_c, m_c):
        v = c.get(enrollment)
        assert v.status == 200, v
        assert v.json()["reports"] == [{"category": "impersonation", "outcome": None}]
        text = v.body.decode()
        assert body_mark not in text and desc_mark not in text
        assert "reporter" not in text and "receipt" not in text
        rest = dict(v.json(), reports=[])
        assert rest == (before["s"] if c is s_c else before["m"])
    assert_problem(ped_c.post("/v1/reports/%d/notify-subject" % rid, {}), 409)
    assert ev_c.get(enrollment).status == 404

    # A second report about the same student, not notified, stays invisible.
    j2, rid2 = submit(reporter_c, psql, report_body(enrollment_id=w.eid, category="cheating"))
    close(ped_c, rid, "substantiated", "none", marker("feedback"))
    for c in (s_c, m_c):
        assert c.get(enrollment).json()["reports"] == [
            {"category": "impersonation", "outcome": "substantiated"}]
    assert ped_c.post("/v1/reports/%d/notify-subject" % rid2, {}).status == 200
    assert s_c.get(enrollment).json()["reports"] == [
        {"category": "impersonation", "outcome": "substantiated"},
        {"category": "cheating", "outcome": None}]


def test_a_report_linked_to_no_enrollment_cannot_be_notified(stack, psql, make_user):
    ped, ped_c = make_user(["pedagogy"])
    reporter, reporter_c = make_user(["mentor"])
    j, rid = submit(reporter_c, psql, report_body(description="a student of another school"))
    assert_problem(ped_c.post("/v1/reports/%d/notify-subject" % rid, {}), 409)
    assert get_report(ped_c, rid)["subject_notified_at"] is None
    assert_problem(ped_c.post("/v1/reports/999999999/notify-subject", {}), 404)
