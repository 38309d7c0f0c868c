"""The validation loop end to end: a diploma path to awaiting_jury, a certificate to completed."""

from loop_helpers import World, audit_actions, count


def states(view):
    return [(a["project_code"], a["state"], a["round"]) for a in view["attempts"]]


def test_a_diploma_goes_through_a_needs_improvement_round_and_every_project_to_awaiting_jury(
        admin, admin_me, make_user, psql):
    w = World(admin, make_user, n_projects=3, n_evaluators=2)
    e = w.enrollment
    assert e["kind"] == "diploma" and e["state"] == "in_progress", e
    assert states(e) == [("p1", "mentoring", 0), ("p2", "pending", 0), ("p3", "pending", 0)]
    ids = {a["project_code"]: a["id"] for a in e["attempts"]}
    evaluator_ids = {u["id"] for u in w.evaluators}

    # p1, round 1: handed over, then sent back to mentoring.
    h1 = w.handover(ids["p1"], tag="p1-r1")
    assert h1["state"] == "awaiting_defense" and h1["round"] == 1, h1
    assert h1["defense"]["evaluator_id"] in evaluator_ids, h1
    v1 = w.verdict(h1["defense"], "p1", "needs_improvement", tag="p1-r1")
    assert v1["attempt"]["state"] == "mentoring", v1
    assert v1["defense"]["verdict"] == "needs_improvement"
    assert v1["enrollment"]["state"] == "in_progress"
    assert states(w.view()) == [("p1", "mentoring", 1), ("p2", "pending", 0), ("p3", "pending", 0)]

    # p1, round 2: a second handover draws again and opens a new defense.
    h2 = w.handover(ids["p1"], tag="p1-r2")
    assert h2["round"] == 2, h2
    assert h2["defense"]["id"] != h1["defense"]["id"]
    assert h2["defense"]["evaluator_id"] in evaluator_ids
    assert count(psql, "select count(*) from defenses where attempt_id = %d" % ids["p1"]) == 2
    assert states(w.view())[1] == ("p2", "pending", 0), "p2 opened before p1 was validated"
    v2 = w.verdict(h2["defense"], "p1", "validated", tag="p1-r2")
    assert v2["attempt"]["state"] == "validated", v2
    assert states(w.view()) == [("p1", "validated", 2), ("p2", "mentoring", 0), ("p3", "pending", 0)]

    # p2 then p3, one round each.
    h3 = w.handover(ids["p2"], tag="p2-r1")
    assert states(w.view())[2] == ("p3", "pending", 0)
    v3 = w.verdict(h3["defense"], "p2", tag="p2-r1")
    assert v3["enrollment"]["state"] == "in_progress"
    assert states(w.view()) == [("p1", "validated", 2), ("p2", "validated", 1), ("p3", "mentoring", 0)]
    h4 = w.handover(ids["p3"], tag="p3-r1")
    v4 = w.verdict(h4["defense"], "p3", tag="p3-r1")
    assert v4["enrollment"] == {"id": e["id"], "state": "awaiting_jury"}, v4

    # The enrollment view, as the student, the mentor and an administrator see it.
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    views = [c.get("/v1/enrollments/%d" % e["id"]) for c in (w.student_c, w.mentor_c, pedagogy_c)]
    assert [r.status for r in views] == [200, 200, 200], views
    view = views[0].json()
    assert all(r.json() == view for r in views[1:])
    assert view["state"] == "awaiting_jury" and view["kind"] == "diploma"
    assert states(view) == [("p1", "validated", 2), ("p2", "validated", 1), ("p3", "validated", 1)]
    p1 = view["attempts"][0]
    assert [r["round"] for r in p1["rounds"]] == [1, 2]
    r1, r2 = p1["rounds"]
    assert [d["uri"] for d in r1["deliverables"]] == ["https://git.example.test/p1-r1/0"]
    assert [d["uri"] for d in r2["deliverables"]] == ["https://git.example.test/p1-r2/0"]
    assert r1["defense"]["id"] == h1["defense"]["id"]
    assert r1["defense"]["verdict"] == "needs_improvement" and r1["defense"]["state"] == "decided"
    assert r1["defense"]["skills"] == [{"code": "p1-s1", "acquired": False},
                                       {"code": "p1-s2", "acquired": True}]
    assert r1["defense"]["comment"] == "p1-s1 is not there yet"
    assert r2["defense"]["verdict"] == "validated"
    assert r2["defense"]["recording"]["uri"] == "https://video.example.test/p1-r2"
    assert all(s["acquired"] for s in r2["defense"]["skills"])
    for a, h in ((view["attempts"][1], h3), (view["attempts"][2], h4)):
        assert len(a["rounds"]) == 1
        assert a["rounds"][0]["defense"]["id"] == h["defense"]["id"]
        assert a["rounds"][0]["defense"]["verdict"] == "validated"
        assert len(a["rounds"][0]["deliverables"]) == 1

    # The audit trail of every step.
    mentor_id = w.mentor["id"]
    assert audit_actions(psql, "attempt", ids["p1"]) == [("attempt.handover", mentor_id)] * 2
    assert audit_actions(psql, "attempt", ids["p2"]) == [("attempt.open", None),
                                                         ("attempt.handover", mentor_id)]
    assert audit_actions(psql, "attempt", ids["p3"]) == [("attempt.open", None),
                                                         ("attempt.handover", mentor_id)]
    for h in (h1, h2, h3, h4):
        d = h["defense"]
        assert audit_actions(psql, "defense", d["id"], "defense.") == [
            ("defense.verdict", d["evaluator_id"])]
    assert audit_actions(psql, "enrollment", e["id"]) == [
        ("enrollment.create", admin_me["id"]), ("enrollment.awaiting_jury", None)]


def test_a_certificate_of_one_project_is_completed_when_that_project_is_validated(
        admin, make_user, psql):
    w = World(admin, make_user, n_projects=3, n_evaluators=1, projects=["p2"])
    e = w.enrollment
    assert e["kind"] == "certificate" and e["state"] == "in_progress", e
    assert states(e) == [("p2", "mentoring", 0)]
    attempt = e["attempts"][0]["id"]
    h = w.handover(attempt)
    assert h["defense"]["evaluator_id"] == w.evaluators[0]["id"]
    v = w.verdict(h["defense"], "p2")
    assert v["attempt"]["state"] == "validated"
    assert v["enrollment"] == {"id": e["id"], "state": "completed"}, v
    view = w.view()
    assert view["state"] == "completed"
    assert states(view) == [("p2", "validated", 1)]
    actions = [a for a, _ in audit_actions(psql, "enrollment", e["id"])]
    # completed with no open report: the certificate is issued in the same transaction
    assert actions == ["enrollment.create", "enrollment.completed", "credential.issue"]
    assert view["credential_id"] and view["credential"]["state"] == "issued", view
    assert [a for a, _ in audit_actions(psql, "attempt", attempt)] == ["attempt.handover"]
    assert [a for a, _ in audit_actions(psql, "defense", h["defense"]["id"], "defense.")] == [
        "defense.verdict"]
