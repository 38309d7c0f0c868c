"""Votes: only the session's members vote, a vote changes until the decision, quorum closes."""

from cfclient import assert_problem
from jury_helpers import Diploma, get_case, jury_members, new_session, on, open_case, vote
from loop_helpers import count


def jury_case(admin, make_user):
    w = Diploma(admin, make_user, n_projects=1)
    w.complete()
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    members = jury_members(make_user)
    s = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members])
    case = open_case(pedagogy_c, s["id"], w.eid)
    return w, pedagogy, pedagogy_c, members, case


def test_only_members_vote_and_a_vote_changes_until_the_decision(admin, make_user, psql):
    w, _, pedagogy_c, members, case = jury_case(admin, make_user)
    url = "/v1/jury-cases/%d/votes" % case["id"]
    _, other_jury_c = make_user(["jury"], jury_category="expert")
    assert_problem(other_jury_c.post(url, {"decision": "award", "comment": "outsider"}), 403)
    for c in (pedagogy_c, w.student_c, w.mentor_c):
        assert c.post(url, {"decision": "award", "comment": "not mine"}).status == 403
    assert count(psql, "select count(*) from jury_votes where case_id = %d" % case["id"]) == 0

    first, first_c = members[0]
    vote(first_c, case["id"], "refuse", "not convinced")
    got = vote(first_c, case["id"], "award", "convinced after all")
    assert got["state"] == "open" and len(got["votes"]) == 1, got
    assert (got["votes"][0]["member_id"], got["votes"][0]["decision"],
            got["votes"][0]["comment"]) == (first["id"], "award", "convinced after all")
    assert psql("select decision from jury_votes where case_id = %d" % case["id"]) == "award"
    for _, c in members[1:3]:
        vote(c, case["id"], "refuse")
    got = get_case(pedagogy_c, case["id"])
    assert (got["state"], got["decision"], len(got["votes"])) == ("open", None, 3), got
    assert w.view()["state"] == "awaiting_jury"
    # the last one decides: 2 refuse, 2 award is a tie
    got = vote(members[3][1], case["id"], "award")
    assert (got["state"], got["decision"]) == ("decided", "extra_project"), got
    assert_problem(first_c.post(url, {"decision": "refuse", "comment": "too late"}), 409)
    assert psql("select decision from jury_votes where case_id = %d and member_id = %d"
                % (case["id"], first["id"])) == "award"


def test_with_the_default_quorum_pedagogy_cannot_close_before_every_member_voted(
        admin, make_user):
    w, _, pedagogy_c, members, case = jury_case(admin, make_user)
    url = "/v1/jury-cases/%d/close" % case["id"]
    # the main stack's quorum is every member
    vote(members[0][1], case["id"], "award")
    vote(members[1][1], case["id"], "award")
    p = assert_problem(pedagogy_c.post(url, {}), 409)
    assert "2 of 4" in p["detail"], p
    assert members[0][1].post(url, {}).status == 403, "a member does not close"
    assert get_case(pedagogy_c, case["id"])["state"] == "open"
    assert w.view()["state"] == "awaiting_jury"


def test_pedagogy_closes_a_case_once_the_configured_quorum_voted(admin, make_user, psql,
                                                                extra_instance):
    w, pedagogy, pedagogy_c, members, case = jury_case(admin, make_user)
    inst = extra_instance(extra_conf="jury_quorum = 2")
    ped = on(inst, pedagogy)
    try:
        url = "/v1/jury-cases/%d/close" % case["id"]
        vote(members[0][1], case["id"], "award")
        p = assert_problem(ped.post(url, {}), 409)
        assert "1 of 4" in p["detail"] and "quorum is 2" in p["detail"], p
        vote(members[1][1], case["id"], "award")
        r = ped.post(url, {})
        assert r.status == 200, r
        got = r.json()
        assert (got["state"], got["decision"], got["decided_by"]) == (
            "decided", "award", "pedagogy"), got
        assert w.view()["state"] == "awarded"
        assert psql("select actor_id from audit_log where entity_type = 'jury_case' "
                    "and entity_id = %d and action = 'jury_case.decide'" % case["id"]) == str(
            pedagogy["id"])
        vote(members[2][1], case["id"], "refuse", status=409)
        assert_problem(ped.post(url, {}), 409)
    finally:
        ped.close()
