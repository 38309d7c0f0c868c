"""GET /v1/defenses: an evaluator's pending defenses (mine=1), or every pending one for pedagogy."""

from cfclient import assert_problem
from loop_helpers import World, enroll, handover_body


def test_mine_lists_exactly_the_evaluators_pending_defenses_with_what_to_evaluate(
        admin, make_user, psql):
    w = World(admin, make_user, n_projects=2, n_skills=3, n_evaluators=1)
    ev = w.evaluators[0]
    ev_c = w.clients[ev["id"]]
    assert ev_c.get("/v1/defenses?mine=1").json() == []
    student2, _ = w.user(["student"], "Second Student")
    e2 = enroll(admin, student2["id"], w.path["id"], w.mentor["id"])
    r1 = w.mentor_c.post("/v1/attempts/%d/handover" % w.enrollment["attempts"][0]["id"],
                         handover_body("first", n=2))
    r2 = w.mentor_c.post("/v1/attempts/%d/handover" % e2["attempts"][0]["id"],
                         handover_body("second", n=1))
    assert r1.status == 200 and r2.status == 200, (r1, r2)
    d1, d2 = r1.json()["defense"], r2.json()["defense"]
    # Another evaluator's defense on another path must not show.
    other = World(admin, make_user, n_evaluators=1)
    other.handover(other.enrollment["attempts"][0]["id"])

    r = ev_c.get("/v1/defenses?mine=1")
    assert r.status == 200, r
    listed = r.json()
    assert [d["id"] for d in listed] == [d1["id"], d2["id"]], listed
    first = listed[0]
    assert first["evaluator_id"] == ev["id"] and first["round"] == 1
    assert first["attempt_id"] == w.enrollment["attempts"][0]["id"]
    assert first["enrollment_id"] == w.eid
    assert first["student"] == {"id": w.student["id"], "name": "Student"}
    assert first["project"] == {"code": "p1", "title": "Project 1",
                                "skills": [{"code": "p1-s%d" % k, "title": "Skill %d of project 1" % k}
                                           for k in (1, 2, 3)]}
    assert first["deliverables"] == handover_body("first", n=2)["deliverables"]
    assert listed[1]["student"]["id"] == student2["id"]
    assert listed[1]["deliverables"] == handover_body("second", n=1)["deliverables"]
    assert ev_c.get("/v1/defenses?mine=true").json() == listed

    # Decided defenses leave the list.
    w.verdict(d1, "p1")
    assert [d["id"] for d in ev_c.get("/v1/defenses?mine=1").json()] == [d2["id"]]


def test_the_defense_list_query_is_validated(admin, make_user):
    w = World(admin, make_user, n_evaluators=1)
    ev_c = w.clients[w.evaluators[0]["id"]]
    assert_problem(ev_c.get("/v1/defenses?mine=2"), 422, field="mine")
    assert_problem(ev_c.get("/v1/defenses?mine="), 422, field="mine")
    assert_problem(ev_c.get("/v1/defenses?foo=1"), 422, field="foo")
    assert_problem(ev_c.get("/v1/defenses?mine=1&foo=1"), 422, field="foo")
    assert_problem(ev_c.get("/v1/defenses?mine=1&mine=1"), 400)


def test_only_evaluators_ask_for_their_own_and_only_pedagogy_or_admin_for_all(admin, make_user):
    w = World(admin, make_user, n_evaluators=1)
    ev_c = w.clients[w.evaluators[0]["id"]]
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    for c in (w.mentor_c, w.student_c, pedagogy_c):
        assert_problem(c.get("/v1/defenses?mine=1"), 403)
    for c in (w.mentor_c, w.student_c, ev_c):
        assert_problem(c.get("/v1/defenses"), 403)
        assert_problem(c.get("/v1/defenses?mine=0"), 403)


def test_pedagogy_without_mine_sees_every_pending_defense(admin, make_user, psql):
    worlds = [World(admin, make_user, n_evaluators=1) for _ in range(2)]
    mine = [w.handover(w.enrollment["attempts"][0]["id"])["defense"]["id"] for w in worlds]
    decided = worlds[0]
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    r = pedagogy_c.get("/v1/defenses")
    assert r.status == 200, r
    listed = [d["id"] for d in r.json()]
    pending = [int(x) for x in psql("select id from defenses where state = 'pending' "
                                     "order by due_at, id").splitlines()]
    assert listed == pending
    assert set(mine) <= set(listed)
    assert admin.get("/v1/defenses").json() == r.json()
    assert pedagogy_c.get("/v1/defenses?mine=false").json() == r.json()
    decided.verdict(next(d for d in r.json() if d["id"] == mine[0]), "p1")
    assert mine[0] not in [d["id"] for d in pedagogy_c.get("/v1/defenses").json()]


def test_the_enrollment_shows_each_defense_as_its_verdict_answered_it(admin, make_user):
    """The enrollment view builds its defenses in one statement of its own
    (sql/0011): they must read exactly as the verdict's answer shows them."""
    w = World(admin, make_user, n_projects=2, n_skills=3, n_evaluators=1)
    first = w.enrollment["attempts"][0]["id"]
    answers = [w.verdict(w.handover(first, tag="one")["defense"], "p1", "needs_improvement")]
    answers.append(w.verdict(w.handover(first, tag="two")["defense"], "p1"))
    pending = w.handover(w.enrollment["attempts"][1]["id"])["defense"]
    view = w.view()
    rounds = view["attempts"][0]["rounds"]
    assert [r["round"] for r in rounds] == [1, 2]
    assert [r["defense"] for r in rounds] == [a["defense"] for a in answers]
    assert [s["code"] for s in rounds[1]["defense"]["skills"]] == ["p1-s1", "p1-s2", "p1-s3"]
    assert rounds[1]["defense"]["recording"]["uri"] and rounds[1]["defense"]["verdict"] == "validated"
    assert [r["deliverables"] for r in rounds] == [handover_body("one")["deliverables"],
                                                   handover_body("two")["deliverables"]]
    waiting = view["attempts"][1]["rounds"]
    assert [(r["round"], r["defense"]["id"], r["defense"]["state"]) for r in waiting] == [
        (1, pending["id"], "pending")]
