"""Who may sit on a jury, and which enrollments a session may judge."""

from cfclient import assert_problem
from jury_helpers import Diploma, jury_members, new_session, open_case
from loop_helpers import count, qualify
from report_helpers import report_body


def test_a_session_needs_every_category_and_only_jury_members(admin, make_user, psql):
    w = Diploma(admin, make_user, n_projects=1, n_evaluators=0)
    _, pedagogy_c = make_user(["pedagogy"])
    expert, recruiter, pedagogy, mentor = [u["id"] for u, _ in jury_members(make_user)]
    before = count(psql, "select count(*) from jury_sessions")

    r = pedagogy_c.post("/v1/jury-sessions", {"path_id": w.path["id"], "scheduled_at": "2030-01-15T09:00:00Z",
                                              "members": [expert, pedagogy, mentor]})
    p = assert_problem(r, 422, field="members")
    assert "recruiter" in p["detail"], p
    for other in ("expert", "pedagogy", "mentor"):
        assert "missing: " + other not in p["detail"] and ", " + other not in p["detail"], p

    outsider, _ = make_user(["evaluator"])
    r = pedagogy_c.post("/v1/jury-sessions", {"path_id": w.path["id"], "scheduled_at": "2030-01-15T09:00:00Z",
                                              "members": [expert, recruiter, outsider["id"],
                                                          pedagogy, mentor]})
    assert_problem(r, 422, field="members[2]")
    r = pedagogy_c.post("/v1/jury-sessions", {"path_id": w.path["id"], "scheduled_at": "2030-01-15T09:00:00Z",
                                              "members": [expert, recruiter, pedagogy, mentor,
                                                          recruiter]})
    assert_problem(r, 422, field="members[4]")
    assert count(psql, "select count(*) from jury_sessions") == before
    # the session routes are pedagogy's
    _, jury_c = make_user(["jury"], jury_category="expert")
    assert jury_c.post("/v1/jury-sessions", {"path_id": w.path["id"], "scheduled_at": "2030-01-15T09:00:00Z",
                                             "members": [expert, recruiter, pedagogy,
                                                         mentor]}).status == 403


def test_the_students_mentor_may_not_judge_them(admin, make_user, psql):
    jm = make_user(["jury", "mentor"], jury_category="mentor", name="Mentor on the jury")
    w = Diploma(admin, make_user, n_projects=1, mentor=jm)
    w.complete()
    _, pedagogy_c = make_user(["pedagogy"])
    expert, recruiter, pedagogy = [u["id"] for u, _ in
                                   jury_members(make_user, categories=("expert", "recruiter",
                                                                       "pedagogy"))]
    s = new_session(pedagogy_c, w.path["id"], [expert, recruiter, pedagogy, jm[0]["id"]])
    p = assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s["id"],
                                       {"enrollment_id": w.eid}), 409)
    assert "(user %d)" % jm[0]["id"] in p["detail"] and "mentor" in p["detail"], p
    assert count(psql, "select count(*) from jury_cases where enrollment_id = %d" % w.eid) == 0


def test_an_evaluator_of_the_student_may_not_judge_them(admin, make_user, psql):
    je = make_user(["jury", "evaluator"], jury_category="expert", name="Evaluator on the jury")
    w = Diploma(admin, make_user, n_projects=1, evaluators=[je])
    w.complete()
    assert w.defenses["p1"]["evaluator_id"] == je[0]["id"]
    _, pedagogy_c = make_user(["pedagogy"])
    recruiter, pedagogy, mentor = [u["id"] for u, _ in
                                   jury_members(make_user, categories=("recruiter", "pedagogy",
                                                                       "mentor"))]
    s = new_session(pedagogy_c, w.path["id"], [je[0]["id"], recruiter, pedagogy, mentor])
    p = assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s["id"],
                                       {"enrollment_id": w.eid}), 409)
    assert "(user %d)" % je[0]["id"] in p["detail"] and "evaluated" in p["detail"], p
    assert count(psql, "select count(*) from jury_cases where enrollment_id = %d" % w.eid) == 0


def test_a_reviewer_of_the_student_may_not_judge_them(admin, make_user, psql):
    w = Diploma(admin, make_user, n_projects=1, n_evaluators=1)
    w.complete()
    jr, _ = make_user(["jury", "evaluator"], jury_category="expert", name="Reviewer on the jury")
    qualify(admin, jr["id"], w.path["id"])
    _, pedagogy_c = make_user(["pedagogy"])
    r = pedagogy_c.post("/v1/defenses/%d/reviews" % w.defenses["p1"]["id"], {})
    assert r.status == 201, r
    assert r.json()["reviewer_id"] == jr["id"], "the only other qualified evaluator reviews"
    recruiter, pedagogy, mentor = [u["id"] for u, _ in
                                   jury_members(make_user, categories=("recruiter", "pedagogy",
                                                                       "mentor"))]
    s = new_session(pedagogy_c, w.path["id"], [jr["id"], recruiter, pedagogy, mentor])
    p = assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s["id"],
                                       {"enrollment_id": w.eid}), 409)
    assert "(user %d)" % jr["id"] in p["detail"] and "reviewed" in p["detail"], p
    assert count(psql, "select count(*) from jury_cases where enrollment_id = %d" % w.eid) == 0


def test_only_a_diploma_awaiting_the_jury_without_open_report_or_case_joins_a_session(
        admin, make_user, psql):
    _, pedagogy_c = make_user(["pedagogy"])
    members = jury_members(make_user)
    ids = [u["id"] for u, _ in members]

    # still in progress
    w = Diploma(admin, make_user, n_projects=2)
    w.pass_project("p1")
    s = new_session(pedagogy_c, w.path["id"], ids)
    p = assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s["id"],
                                       {"enrollment_id": w.eid}), 409)
    assert "in_progress" in p["detail"], p

    # an enrollment of another path
    other = Diploma(admin, make_user, n_projects=1)
    other.complete()
    assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s["id"],
                                   {"enrollment_id": other.eid}), 422, field="enrollment_id")

    # an open fraud report about the enrollment
    s2 = new_session(pedagogy_c, other.path["id"], ids)
    r = other.student_c.post("/v1/reports", report_body(enrollment_id=other.eid))
    assert r.status == 201, r
    p = assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s2["id"],
                                       {"enrollment_id": other.eid}), 409)
    assert "report" in p["detail"], p
    assert count(psql, "select count(*) from jury_cases where enrollment_id = %d" % other.eid) == 0

    # a second open case
    third = Diploma(admin, make_user, n_projects=1)
    third.complete()
    s3 = new_session(pedagogy_c, third.path["id"], ids)
    open_case(pedagogy_c, s3["id"], third.eid)
    s4 = new_session(pedagogy_c, third.path["id"], ids)
    p = assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s4["id"],
                                       {"enrollment_id": third.eid}), 409)
    assert "open jury case" in p["detail"], p
    assert_problem(pedagogy_c.post("/v1/jury-sessions/%d/cases" % s3["id"],
                                   {"enrollment_id": third.eid}), 409)
    assert count(psql, "select count(*) from jury_cases where enrollment_id = %d" % third.eid) == 1
