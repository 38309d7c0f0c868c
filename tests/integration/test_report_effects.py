"""
Investigating and closing a report (pedagogy): acknowledge, link, close with
an outcome and a consequence, and the consequence's effect on the subject's
enrollment (sql/0004 api.report_consequence, restated in 0017, lib/workflow.c
"invalidate" and "exclude"): a validated project goes back to the mentor, an
excluded student takes no further step; before the subject is notified the
enrollment view cannot tell it from a validation overturned after a review.
"""

import json

import pytest

from cfclient import assert_problem
from loop_helpers import (World, audit_actions, enrollment_footprint, project_skill_codes,
                          verdict_body)
from report_helpers import (acknowledge, audit_rows, close, get_report, marker, report_body,
                            submit)
from review_helpers import Normaliser, review_body, reviews_of

# The reopened reason of any validation pedagogy withdrew (sql/0017): the same
# words whether a blind review or a fraud report was the cause.
WITHDRAWN = "validation withdrawn by the pedagogical team; a new round is needed"


@pytest.fixture
def people(make_user):
    """(pedagogy user, its Client, a reporter's Client)."""
    ped, ped_c = make_user(["pedagogy"])
    _, reporter_c = make_user(["student"])
    return ped, ped_c, reporter_c


def validate(w, code):
    """Hands project CODE over and validates it; returns the defense."""
    d = w.handover(w.attempt(code)["id"])["defense"]
    w.verdict(d, code, "validated")
    return d


def audit_details(psql, entity_type, entity_id, action):
    out = psql("select details::text from audit_log where entity_type = '%s' and entity_id = %d "
               "and action = '%s' order by id" % (entity_type, entity_id, action))
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("kind,n_projects,projects,state_before", [
    ("diploma, complete", 1, None, "awaiting_jury"),
    ("certificate, complete", 2, ["p1"], "completed"),
    ("diploma, running", 2, None, "in_progress"),
])
def test_invalidate_project_sends_the_validated_project_back_to_the_mentor(
        stack, admin, psql, make_user, people, kind, n_projects, projects, state_before):
    ped, ped_c, reporter_c = people
    # Three: the new round is drawn neither for the evaluator whose
    # validation was withdrawn nor for whoever a sampled verdict had review
    # it (docs/REVIEW.md, "Who reviews").
    w = World(admin, make_user, n_projects=n_projects, n_evaluators=3, projects=projects)
    first = validate(w, "p1")["evaluator_id"]
    assert w.view()["state"] == state_before
    a1 = w.attempt("p1")
    assert a1["state"] == "validated" and a1["reopened_reason"] is None

    _, rid = submit(reporter_c, psql, report_body(enrollment_id=w.eid, project_code="p1"))
    c = close(ped_c, rid, "substantiated", "invalidate_project", marker("feedback"))
    assert c["state"] == "closed" and c["outcome"] == "substantiated"
    assert c["consequence"] == "invalidate_project"
    assert c["effect"] == {"applied": True, "attempt": {"id": a1["id"], "state": "mentoring"},
                           "enrollment": {"id": w.eid, "state": "in_progress"}}, c["effect"]

    a1 = w.attempt("p1")
    assert a1["state"] == "mentoring"
    assert a1["reopened_reason"] == WITHDRAWN
    assert w.view()["state"] == "in_progress"
    assert audit_actions(psql, "attempt", a1["id"], "attempt.invalidate") == [
        ("attempt.invalidate", ped["id"])]
    assert audit_details(psql, "attempt", a1["id"], "attempt.invalidate") == [{"report_id": rid}]
    reopened = audit_actions(psql, "enrollment", w.eid, "enrollment.reopen")
    assert len(reopened) == (0 if state_before == "in_progress" else 1), reopened
    closed = [a for a in audit_rows(psql, rid) if a["action"] == "report.close"]
    assert len(closed) == 1 and closed[0]["details"]["effect"]["applied"] is True

    # ...for a new round with the mentor
    r = w.mentor_c.post("/v1/attempts/%d/handover" % a1["id"],
                        {"deliverables": [{"title": "again", "uri": "https://g.example.test/a",
                                           "sha256": "1" * 64}]})
    assert r.status == 200, r
    assert r.json()["defense"]["evaluator_id"] != first, r.json()
    assert w.attempt("p1")["round"] == 2


def test_invalidate_project_changes_nothing_when_the_project_is_not_validated(
        stack, admin, psql, make_user, people):
    ped, ped_c, reporter_c = people
    w = World(admin, make_user, n_projects=2, n_evaluators=1)
    validate(w, "p1")
    before = enrollment_footprint(psql, w.eid)
    # p2 is with the mentor, and a report naming no project cannot pick one
    for code in ("p2", None):
        _, rid = submit(reporter_c, psql, report_body(enrollment_id=w.eid, project_code=code))
        c = close(ped_c, rid, "substantiated", "invalidate_project")
        assert c["state"] == "closed"
        assert c["effect"]["applied"] is False and c["effect"]["detail"], c
    assert enrollment_footprint(psql, w.eid) == before
    assert audit_actions(psql, "attempt", w.attempt("p1")["id"], "attempt.invalidate") == []


def test_exclude_student_ends_the_enrollment_and_the_mentor_takes_no_further_step(
        stack, admin, psql, make_user, people):
    ped, ped_c, reporter_c = people
    w = World(admin, make_user, n_projects=2, n_evaluators=1)
    _, rid = submit(reporter_c, psql, report_body(enrollment_id=w.eid, category="impersonation"))
    c = close(ped_c, rid, "substantiated", "exclude_student")
    assert c["effect"] == {"applied": True, "enrollment": {"id": w.eid, "state": "excluded"}}
    assert w.view()["state"] == "excluded"
    assert w.student_c.get("/v1/enrollments/%d" % w.eid).json()["state"] == "excluded"
    assert audit_actions(psql, "enrollment", w.eid, "enrollment.exclude") == [
        ("enrollment.exclude", ped["id"])]

    before = enrollment_footprint(psql, w.eid)
    handover = {"deliverables": [{"title": "w", "uri": "https://g.example.test/w",
                                  "sha256": "2" * 64}]}
    assert_problem(w.mentor_c.post("/v1/attempts/%d/handover" % w.attempt("p1")["id"],
                                   handover), 409)
    assert_problem(w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid,
                                   {"week": "2031-W10", "progress": 50, "body": "still here",
                                    "at_risk": False}), 409)
    assert enrollment_footprint(psql, w.eid) == before

    # A second substantiated report cannot exclude the student again.
    _, rid2 = submit(reporter_c, psql, report_body(enrollment_id=w.eid))
    c2 = close(ped_c, rid2, "substantiated", "exclude_student")
    assert c2["effect"]["applied"] is False and "excluded" in c2["effect"]["detail"]
    assert len(audit_actions(psql, "enrollment", w.eid, "enrollment.exclude")) == 1


def test_a_defense_pending_at_exclusion_takes_no_verdict(stack, admin, psql, make_user, people):
    ped, ped_c, reporter_c = people
    w = World(admin, make_user, n_projects=2, n_evaluators=1)
    d = w.handover(w.attempt("p1")["id"])["defense"]
    _, rid = submit(reporter_c, psql, report_body(enrollment_id=w.eid))
    assert close(ped_c, rid, "substantiated", "exclude_student")["effect"]["applied"] is True
    before = enrollment_footprint(psql, w.eid)
    r = w.evaluator_c(d["evaluator_id"]).post("/v1/defenses/%d/verdict" % d["id"],
                                              verdict_body(w.projects["p1"]))
    assert_problem(r, 409)
    assert enrollment_footprint(psql, w.eid) == before


def test_a_consequence_without_a_linked_enrollment_or_a_credential_is_not_applied(
        stack, psql, people):
    ped, ped_c, reporter_c = people
    _, rid = submit(reporter_c, psql, report_body(description="somebody"))
    c = close(ped_c, rid, "substantiated", "exclude_student")
    assert c["effect"]["applied"] is False and c["effect"]["detail"]
    # An unknown credential: revoke_credential closes, applies nothing.
    unknown = "00000000-0000-4000-8000-00000000abcd"
    _, rid2 = submit(reporter_c, psql, report_body(credential_id=unknown))
    c2 = close(ped_c, rid2, "substantiated", "revoke_credential")
    assert c2["state"] == "closed" and c2["consequence"] == "revoke_credential"
    assert c2["effect"]["applied"] is False
    assert get_report(ped_c, rid2)["credential_id"] == unknown
    # "none" applies nothing either
    _, rid3 = submit(reporter_c, psql, report_body(description="somebody"))
    assert close(ped_c, rid3, "substantiated", "none")["effect"] == {"applied": False}


@pytest.mark.parametrize("consequence", ["invalidate_project", "revoke_credential",
                                         "exclude_student"])
def test_an_unfounded_report_with_a_consequence_is_422_and_stays_open(
        stack, admin, psql, make_user, people, consequence):
    ped, ped_c, reporter_c = people
    w = World(admin, make_user, n_projects=1, n_evaluators=1)
    _, rid = submit(reporter_c, psql, report_body(enrollment_id=w.eid, project_code="p1"))
    before = enrollment_footprint(psql, w.eid)
    assert_problem(ped_c.post("/v1/reports/%d/close" % rid,
                              {"outcome": "unfounded", "consequence": consequence,
                               "feedback": "x"}), 422, field="consequence")
    g = get_report(ped_c, rid)
    assert g["state"] == "received" and g["outcome"] is None and g["feedback"] is None
    assert enrollment_footprint(psql, w.eid) == before
    assert [a["action"] for a in audit_rows(psql, rid)] == ["report.receive"]


def test_close_bodies_are_validated(stack, psql, people):
    ped, ped_c, reporter_c = people
    _, rid = submit(reporter_c, psql, report_body(description="x"))
    url = "/v1/reports/%d/close" % rid
    ok = {"outcome": "unfounded", "consequence": "none", "feedback": "x"}
    for change, field in ((dict(outcome="maybe"), "outcome"),
                          (dict(consequence="fine"), "consequence"),
                          (dict(feedback=""), "feedback"),
                          (dict(bogus=1), "bogus")):
        assert_problem(ped_c.post(url, dict(ok, **change)), 422, field=field)
    for missing in ok:
        body = dict(ok)
        del body[missing]
        assert_problem(ped_c.post(url, body), 422, field=missing)
    assert get_report(ped_c, rid)["state"] == "received"


def test_an_unmatched_report_is_linked_to_an_enrollment_by_pedagogy(
        stack, admin, psql, make_user, people):
    ped, ped_c, reporter_c = people
    w = World(admin, make_user, n_projects=1, n_evaluators=1)
    unknown = int(psql("select coalesce(max(id), 0) + 1000000 from enrollments"))
    _, rid = submit(reporter_c, psql, report_body(enrollment_id=unknown))
    assert get_report(ped_c, rid)["enrollment_id"] is None
    assert get_report(ped_c, rid)["subject"]["enrollment_id"] is None

    assert_problem(ped_c.post("/v1/reports/%d/link" % rid, {"enrollment_id": unknown}), 422,
                   field="enrollment_id")
    assert_problem(ped_c.post("/v1/reports/%d/link" % rid, {}), 422, field="enrollment_id")
    assert_problem(ped_c.post("/v1/reports/999999999/link", {"enrollment_id": w.eid}), 404)
    assert get_report(ped_c, rid)["enrollment_id"] is None

    r = ped_c.post("/v1/reports/%d/link" % rid, {"enrollment_id": w.eid})
    assert r.status == 200, r
    assert r.json()["enrollment_id"] == w.eid
    assert get_report(ped_c, rid)["enrollment_id"] == w.eid
    assert [a["details"] for a in audit_rows(psql, rid) if a["action"] == "report.link"] == [
        {"enrollment_id": w.eid}]

    # Linked, its consequence reaches the enrollment; closed, it is linked no more.
    c = close(ped_c, rid, "substantiated", "exclude_student")
    assert c["effect"]["applied"] is True and w.view()["state"] == "excluded"
    assert_problem(ped_c.post("/v1/reports/%d/link" % rid, {"enrollment_id": w.eid}), 409)


def test_acknowledge_and_close_happen_once(stack, psql, people):
    ped, ped_c, reporter_c = people
    _, rid = submit(reporter_c, psql, report_body(description="x"))
    a = acknowledge(ped_c, rid)
    assert a["state"] == "acknowledged" and a["acknowledged_at"] and a["feedback_due_at"]
    p = assert_problem(ped_c.post("/v1/reports/%d/acknowledge" % rid, {}), 409)
    assert "acknowledged" in p["detail"], p
    assert get_report(ped_c, rid)["acknowledged_at"] == a["acknowledged_at"]

    c = close(ped_c, rid)
    assert c["acknowledged_at"] == a["acknowledged_at"], "closing keeps the acknowledgement"
    p = assert_problem(ped_c.post("/v1/reports/%d/close" % rid,
                                  {"outcome": "substantiated", "consequence": "none",
                                   "feedback": "changed my mind"}), 409)
    assert "closed" in p["detail"], p
    p = assert_problem(ped_c.post("/v1/reports/%d/acknowledge" % rid, {}), 409)
    assert "closed" in p["detail"], p
    g = get_report(ped_c, rid)
    assert g["outcome"] == "unfounded" and g["closed_at"] == c["closed_at"]
    assert [a["action"] for a in audit_rows(psql, rid)] == [
        "report.receive", "report.acknowledge", "report.close"]
    for verb in ("acknowledge", "close", "link", "notify-subject"):
        assert_problem(ped_c.post("/v1/reports/999999999/%s" % verb,
                                  {"acknowledge": {}, "close": {"outcome": "unfounded",
                                                                "consequence": "none",
                                                                "feedback": "x"},
                                   "link": {"enrollment_id": 1},
                                   "notify-subject": {}}[verb]), 404)
    assert_problem(ped_c.get("/v1/reports/999999999"), 404)
    assert_problem(ped_c.get("/v1/reports?state=open"), 422, field="state")
    assert_problem(ped_c.get("/v1/reports?mine=1"), 422, field="mine")


def overturn_after_review(w, psql, pedagogy_c):
    """Validates p1, has it reviewed (sampled or asked for), and pedagogy overturns it."""
    d = validate(w, "p1")
    if not reviews_of(psql, d["id"]):
        r = pedagogy_c.post("/v1/defenses/%d/reviews" % d["id"], {})
        assert r.status == 201, r
    rv = reviews_of(psql, d["id"])[0]
    codes = project_skill_codes(w.projects["p1"])
    r = w.evaluator_c(rv["reviewer_id"]).post(
        "/v1/reviews/%d/verdict" % rv["id"], review_body(codes, "needs_improvement", codes))
    assert r.status == 200, r
    gid = int(psql("select id from disagreements where defense_id = %d" % d["id"]))
    r = pedagogy_c.post("/v1/disagreements/%d/resolve" % gid,
                        {"outcome": "original_overturned", "comment": "not acquired"})
    assert r.status == 200 and r.json()["effect"]["sent_back"] is True, r


def seen_by(w, label):
    """The enrollment view as the student and as the mentor, each without its world."""
    out = []
    for c in (w.student_c, w.mentor_c):
        r = c.get("/v1/enrollments/%d" % w.eid)
        assert r.status == 200, r
        out.append(Normaliser({}).response(r, label))
    return out


def test_before_notify_subject_the_enrollment_view_cannot_tell_a_report_from_an_overturn(
        stack, admin, psql, make_user, people):
    ped, ped_c, reporter_c = people
    reported = World(admin, make_user, n_projects=1, n_evaluators=2)
    validate(reported, "p1")
    _, rid = submit(reporter_c, psql, report_body(enrollment_id=reported.eid, project_code="p1"))
    assert close(ped_c, rid, "substantiated", "invalidate_project")["effect"]["applied"] is True
    overturned = World(admin, make_user, n_projects=1, n_evaluators=2)
    overturn_after_review(overturned, psql, ped_c)

    as_reported = seen_by(reported, "enrollment")
    assert as_reported == seen_by(overturned, "enrollment"), as_reported
    view = reported.student_c.get("/v1/enrollments/%d" % reported.eid).json()
    assert view["reports"] == [] and view["attempts"][0]["reopened_reason"] == WITHDRAWN, view
    for _, _, text in as_reported:
        assert "report" not in text.replace('"reports": []', ""), text
        assert "fraud" not in text and "plagiarism" not in text, text

    # Once notified: the category and the outcome, and the same neutral reason.
    r = ped_c.post("/v1/reports/%d/notify-subject" % rid, {})
    assert r.status == 200, r
    for c in (reported.student_c, reported.mentor_c):
        view = c.get("/v1/enrollments/%d" % reported.eid).json()
        assert view["reports"] == [{"category": "plagiarism", "outcome": "substantiated"}], view
        assert view["attempts"][0]["reopened_reason"] == WITHDRAWN, view
