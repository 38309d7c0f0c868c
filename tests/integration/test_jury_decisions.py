"""The diploma jury decides: award, refuse, and a tie that asks for one more project."""

import json

from cfclient import assert_problem
from jury_helpers import (CATEGORIES, Diploma, get_case, jury_members,
                          new_session, open_case, skills_verdict, vote)
from loop_helpers import audit_actions, handover_body


def test_four_award_votes_award_the_diploma(admin, make_user, psql):
    w = Diploma(admin, make_user, n_projects=2)
    w.complete()
    _, pedagogy_c = make_user(["pedagogy"])
    members = jury_members(make_user)
    ids = [u["id"] for u, _ in members]
    s = new_session(pedagogy_c, w.path["id"], ids)
    assert s["path_id"] == w.path["id"] and s["cases"] == [], s
    assert sorted((m["id"], m["category"]) for m in s["members"]) == sorted(zip(ids, CATEGORIES))
    case = open_case(pedagogy_c, s["id"], w.eid)
    assert (case["enrollment_id"], case["session_id"], case["state"], case["decision"]) == (
        w.eid, s["id"], "open", None), case
    for i, (_, c) in enumerate(members):
        got = vote(c, case["id"], "award")
        assert got["state"] == ("decided" if i == 3 else "open"), got
    got = get_case(pedagogy_c, case["id"])
    assert (got["state"], got["decision"], got["decided_by"]) == ("decided", "award", "votes"), got
    assert sorted(v["member_id"] for v in got["votes"]) == sorted(ids)
    assert w.view()["state"] == "awarded"
    assert psql("select state from enrollments where id = %d" % w.eid) == "awarded"
    assert [a for a, _ in audit_actions(psql, "jury_case", case["id"], "jury_case.decide")] == [
        "jury_case.decide"]
    assert audit_actions(psql, "enrollment", w.eid, "enrollment.awarded") == [
        ("enrollment.awarded", None)]
    r = pedagogy_c.get("/v1/jury-sessions/%d" % s["id"])
    assert r.status == 200, r
    assert [(c["id"], c["state"], c["decision"], c["votes"]) for c in r.json()["cases"]] == [
        (case["id"], "decided", "award", 4)]
    # the award issued the diploma in the same transaction, audited with its request
    view = w.view()
    assert view["credential_id"] and view["credential"]["state"] == "issued", view
    issue = psql("select request_id from audit_log where action = 'credential.issue' "
                 "and entity_id = %d" % w.eid)
    award_rid = psql("select request_id from audit_log where action = 'enrollment.awarded' "
                     "and entity_id = %d" % w.eid)
    assert issue and issue == award_rid


def test_a_tie_asks_for_an_extra_project_and_a_new_jury_awards_after_it(admin, make_user, psql):
    w = Diploma(admin, make_user, n_projects=2)
    w.complete()
    _, pedagogy_c = make_user(["pedagogy"])
    members = jury_members(make_user)
    s = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members])
    case = open_case(pedagogy_c, s["id"], w.eid)
    for (_, c), d in zip(members, ("award", "refuse", "award", "refuse")):
        last = vote(c, case["id"], d)
    assert (last["state"], last["decision"]) == ("decided", "extra_project"), last
    assert w.view()["state"] == "awaiting_jury", "a tie leaves the enrollment to pedagogy"

    r = pedagogy_c.post("/v1/jury-cases/%d/extra-project" % case["id"],
                        {"title": "One more thing", "interview": True,
                         "skills": [{"code": "x1", "title": "Extra skill one"},
                                    {"code": "x2", "title": "Extra skill two"}]})
    assert r.status == 201, r
    assert r.json()["case"]["interview"] is True, r.json()
    code = "extra-%d" % case["id"]
    view = w.view()
    assert view["state"] == "in_progress", view
    extra = [a for a in view["attempts"] if a["project_code"] == code]
    assert len(extra) == 1 and extra[0]["state"] == "mentoring", view
    # once only
    assert_problem(pedagogy_c.post("/v1/jury-cases/%d/extra-project" % case["id"],
                                   {"title": "again", "interview": False,
                                    "skills": [{"code": "y", "title": "y"}]}), 409)

    h = w.mentor_c.post("/v1/attempts/%d/handover" % extra[0]["id"], handover_body("extra"))
    assert h.status == 200, h
    d = h.json()["defense"]
    assert d["evaluator_id"] in {u["id"] for u in w.evaluators}, d
    r = w.clients[d["evaluator_id"]].post("/v1/defenses/%d/verdict" % d["id"],
                                          skills_verdict(["x1", "x2"], "extra"))
    assert r.status == 200, r
    assert r.json()["enrollment"]["state"] == "awaiting_jury", r.json()
    assert w.view()["state"] == "awaiting_jury"

    members2 = jury_members(make_user)
    s2 = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members2])
    case2 = open_case(pedagogy_c, s2["id"], w.eid)
    assert case2["id"] != case["id"]
    for _, c in members2:
        last = vote(c, case2["id"], "award")
    assert (last["state"], last["decision"]) == ("decided", "award"), last
    view = w.view()
    assert view["state"] == "awarded"
    # the diploma states the extra project, its skills and the second jury
    facts = psql("select facts from credentials where id = '%s'" % view["credential_id"])
    facts = json.loads(facts)
    assert code in [p["code"] for p in facts["projects"]]
    assert {"x1", "x2"} <= {k["code"] for k in facts["skills"] if k["project"] == code}
    assert facts["jury"]["session_id"] == s2["id"]


def test_a_majority_of_refusals_refuses_and_a_decided_case_takes_no_more_votes(
        admin, make_user, psql):
    w = Diploma(admin, make_user, n_projects=2)
    w.complete()
    _, pedagogy_c = make_user(["pedagogy"])
    members = jury_members(make_user)
    s = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members])
    case = open_case(pedagogy_c, s["id"], w.eid)
    for (_, c), d in zip(members, ("refuse", "award", "refuse", "refuse")):
        last = vote(c, case["id"], d)
    assert (last["state"], last["decision"], last["decided_by"]) == (
        "decided", "refuse", "votes"), last
    assert w.view()["state"] == "refused"
    assert audit_actions(psql, "enrollment", w.eid, "enrollment.refused") == [
        ("enrollment.refused", None)]
    before = get_case(pedagogy_c, case["id"])["votes"]
    assert_problem(members[1][1].post("/v1/jury-cases/%d/votes" % case["id"],
                                      {"decision": "refuse", "comment": "changed my mind"}), 409)
    assert_problem(members[0][1].post("/v1/jury-cases/%d/votes" % case["id"],
                                      {"decision": "award", "comment": "late"}), 409)
    assert get_case(pedagogy_c, case["id"])["votes"] == before
    assert_problem(pedagogy_c.post("/v1/jury-cases/%d/close" % case["id"], {}), 409)
    assert psql("select state from enrollments where id = %d" % w.eid) == "refused"
