"""Invalid notes, handovers and verdicts: 422 naming the field, and nothing changes."""

import copy

import pytest

from cfclient import assert_problem
from loop_helpers import World, count, enrollment_footprint, handover_body, sha, verdict_body

GOOD_NOTE = {"week": "2026-W10", "progress": 40, "body": "steady", "at_risk": False}


def note(**over):
    body = dict(GOOD_NOTE)
    body.update(over)
    return body


BAD_NOTES = [
    (note(week="2026-W54"), "week"),
    (note(week="2025-W53"), "week"),            # 2025 has 52 ISO weeks
    (note(week="2026-W00"), "week"),
    (note(week="2026-10"), "week"),
    (note(progress=101), "progress"),
    (note(progress=-1), "progress"),
    (note(progress="50"), "progress"),
    (note(at_risk="yes"), "at_risk"),
    (note(body=""), "body"),
    (note(mood="fine"), "mood"),
    ({k: v for k, v in GOOD_NOTE.items() if k != "at_risk"}, "at_risk"),
]


def test_invalid_notes_are_refused_naming_the_field_and_change_nothing(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=1)
    url = "/v1/enrollments/%d/notes" % w.eid
    before = enrollment_footprint(psql, w.eid)
    for body, field in BAD_NOTES:
        assert_problem(w.mentor_c.post(url, body), 422, field=field)
        assert enrollment_footprint(psql, w.eid) == before, body
    # The edges that are valid: 2026 has a week 53, progress 0 and 100.
    assert w.mentor_c.post(url, note(week="2026-W53", progress=100)).status == 201
    assert w.mentor_c.post(url, note(week="2026-W01", progress=0)).status == 201
    assert count(psql, "select count(*) from notes where enrollment_id = %d" % w.eid) == 2


def handover_with(mutate):
    body = handover_body(n=2)
    mutate(body)
    return body


BAD_HANDOVERS = [
    (lambda b: b["deliverables"][0].update(sha256="a" * 63), "deliverables[0].sha256"),
    (lambda b: b["deliverables"][0].update(sha256="a" * 65), "deliverables[0].sha256"),
    (lambda b: b["deliverables"][1].update(sha256="g" * 64), "deliverables[1].sha256"),
    (lambda b: b["deliverables"][0].update(size=1024), "deliverables[0].size"),
    (lambda b: b["deliverables"][1].update(uri="not a uri"), "deliverables[1].uri"),
    (lambda b: b["deliverables"][0].pop("title"), "deliverables[0].title"),
    (lambda b: b.update(deliverables=[]), "deliverables"),
    (lambda b: b.update(comment="here it is"), "comment"),
]


def test_invalid_handovers_are_refused_naming_the_field_and_change_nothing(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=1)
    attempt = w.enrollment["attempts"][0]["id"]
    url = "/v1/attempts/%d/handover" % attempt
    before = enrollment_footprint(psql, w.eid)
    draws = count(psql, "select count(*) from draws")
    for mutate, field in BAD_HANDOVERS:
        assert_problem(w.mentor_c.post(url, handover_with(mutate)), 422, field=field)
        assert enrollment_footprint(psql, w.eid) == before, field
    assert count(psql, "select count(*) from draws") == draws
    assert count(psql, "select count(*) from audit_log where entity_type = 'attempt' "
                       "and entity_id = %d" % attempt) == 0
    # Upper-case hexadecimal is a valid SHA-256; it is stored in lower case.
    body = handover_body()
    body["deliverables"][0]["sha256"] = sha("upper").upper()
    r = w.mentor_c.post(url, body)
    assert r.status == 200, r
    assert w.attempt("p1")["rounds"][0]["deliverables"][0]["sha256"] == sha("upper")


def verdict_with(project, mutate, verdict="validated"):
    body = verdict_body(project, verdict)
    mutate(body)
    return body


def skills(*pairs):
    return [{"code": c, "acquired": a} for c, a in pairs]


BAD_VERDICTS = [
    # the schema
    (lambda b: b.update(verdict="maybe"), "verdict"),
    (lambda b: b["recording"].update(sha256="f" * 63), "recording.sha256"),
    (lambda b: b["recording"].update(sha256="z" * 64), "recording.sha256"),
    (lambda b: b["recording"].update(size=3), "recording.size"),
    (lambda b: b["skills"][1].update(grade="A"), "skills[1].grade"),
    (lambda b: b.pop("recording"), "recording"),
    (lambda b: b.update(skills=[]), "skills"),
    (lambda b: b.update(score=12), "score"),
    # against the project
    (lambda b: b.update(skills=skills(("p1-s1", True))), "skills"),
    (lambda b: b.update(skills=skills(("p1-s1", True), ("p1-s9", True))), "skills[1].code"),
    (lambda b: b.update(skills=skills(("p2-s1", True), ("p1-s1", True), ("p1-s2", True))),
     "skills[0].code"),
    (lambda b: b.update(skills=skills(("p1-s1", True), ("p1-s2", True), ("p1-s1", True))),
     "skills[2].code"),
    (lambda b: b.update(skills=skills(("p1-s1", True), ("p1-s2", False))), "verdict"),
]


def test_invalid_verdicts_are_refused_naming_the_field_and_change_nothing(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=1)
    h = w.handover(w.enrollment["attempts"][0]["id"])
    d = h["defense"]
    evaluator_c = w.clients[d["evaluator_id"]]
    url = "/v1/defenses/%d/verdict" % d["id"]
    p1 = w.projects["p1"]
    before = enrollment_footprint(psql, w.eid)
    assert ":awaiting_defense:1," in before.split("|")[1] + ","
    for mutate, field in BAD_VERDICTS:
        assert_problem(evaluator_c.post(url, verdict_with(p1, mutate)), 422, field=field)
        assert enrollment_footprint(psql, w.eid) == before, field
    assert count(psql, "select count(*) from audit_log where entity_type = 'defense' "
                       "and entity_id = %d" % d["id"]) == 0
    # needs_improvement with every skill acquired is not contradictory: accepted.
    body = verdict_with(p1, lambda b: None, verdict="needs_improvement")
    r = evaluator_c.post(url, copy.deepcopy(body))
    assert r.status == 200, r
    assert r.json()["attempt"]["state"] == "mentoring"


@pytest.mark.parametrize("field", ["student_id", "path_id", "mentor_id"])
def test_an_enrollment_body_with_a_non_id_is_refused_naming_the_field(admin, make_user, field):
    w = World(admin, make_user, n_evaluators=0)
    body = {"student_id": w.student["id"], "path_id": w.path["id"], "mentor_id": w.mentor["id"]}
    body[field] = 0
    assert_problem(admin.post("/v1/enrollments", body), 422, field=field)
