"""A case whose enrollment left awaiting_jury while the case was open."""

import pytest

from cfclient import assert_problem
from jury_helpers import Diploma, jury_members, new_session, open_case


def test_the_deciding_vote_on_a_reopened_enrollment_is_a_conflict_not_an_internal_error(
        admin, make_user, psql):
    w = Diploma(admin, make_user, n_projects=1, n_evaluators=3)
    w.complete()
    _, pedagogy_c = make_user(["pedagogy"])
    members = jury_members(make_user)
    s = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members])
    case = open_case(pedagogy_c, s["id"], w.eid)

    # while the case is open, a blind review overturns the validation of p1
    d = w.defenses["p1"]
    r = pedagogy_c.post("/v1/defenses/%d/reviews" % d["id"], {})
    assert r.status == 201, r
    review = r.json()
    codes = [k["code"] for k in w.projects["p1"]["skills"]]
    r = w.clients[review["reviewer_id"]].post(
        "/v1/reviews/%d/verdict" % review["id"],
        {"verdict": "needs_improvement", "comment": "not acquired",
         "skills": [{"code": c, "acquired": False} for c in codes]})
    assert r.status == 200, r
    gid = int(psql("select id from disagreements where defense_id = %d" % d["id"]))
    r = pedagogy_c.post("/v1/disagreements/%d/resolve" % gid,
                        {"outcome": "original_overturned", "comment": "not acquired"})
    assert r.status == 200, r
    assert w.view()["state"] == "in_progress"

    # Every vote is refused while the enrollment is back with the mentor.
    for _, c in members:
        r = c.post("/v1/jury-cases/%d/votes" % case["id"],
                   {"decision": "award", "comment": "award"})
        p = assert_problem(r, 409)
        assert "in_progress" in p["detail"], p
    assert w.view()["state"] == "in_progress"
