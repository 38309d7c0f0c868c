"""The dossier a jury reads: the whole journey, fraud reports reduced to their outcome."""

import json

from jury_helpers import Diploma, jury_members, new_session, open_case
from report_helpers import acknowledge, close, marker, report_body, submit


def keys_everywhere(x, out=None):
    out = set() if out is None else out
    if isinstance(x, dict):
        for k, v in x.items():
            out.add(k)
            keys_everywhere(v, out)
    elif isinstance(x, list):
        for v in x:
            keys_everywhere(v, out)
    return out


def test_the_dossier_holds_the_journey_and_only_the_outcome_of_reports(admin, make_user, psql):
    w = Diploma(admin, make_user, n_projects=2, n_evaluators=5)
    note_marks = [marker("note1"), marker("note2")]
    w.note("2026-W10", note_marks[0], progress=40)
    w.note("2026-W12", note_marks[1], progress=80, at_risk=True)
    w.complete()
    _, pedagogy_c = make_user(["pedagogy"])

    # a blind review of p2's defense that disagrees on one skill
    d2 = w.defenses["p2"]
    r = pedagogy_c.post("/v1/defenses/%d/reviews" % d2["id"], {})
    assert r.status == 201, r
    review = r.json()
    codes = [s["code"] for s in w.projects["p2"]["skills"]]
    review_comment = marker("review")
    r = w.clients[review["reviewer_id"]].post(
        "/v1/reviews/%d/verdict" % review["id"],
        {"verdict": "needs_improvement", "comment": review_comment,
         "skills": [{"code": c, "acquired": c != codes[0]} for c in codes]})
    assert r.status == 200, r
    gid = int(psql("select id from disagreements where defense_id = %d" % d2["id"]))

    # a closed report by someone else
    reporter_name = marker("reporter")
    reporter, reporter_c = make_user(["student"], name=reporter_name)
    body_mark, evidence_mark, feedback_mark = marker("body"), marker("evidence"), marker("feedback")
    _, rid = submit(reporter_c, psql, report_body(enrollment_id=w.eid, body=body_mark,
                                                  evidence_tag=evidence_mark,
                                                  category="plagiarism"))
    acknowledge(pedagogy_c, rid)
    close(pedagogy_c, rid, outcome="unfounded", consequence="none", feedback=feedback_mark)

    members = jury_members(make_user)
    s = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members])
    case = open_case(pedagogy_c, s["id"], w.eid)
    url = "/v1/jury-cases/%d/dossier" % case["id"]
    answers = [c.get(url) for c in [pedagogy_c] + [c for _, c in members]]
    assert [a.status for a in answers] == [200] * 5, answers
    dossier = answers[0].json()
    assert all(a.json() == dossier for a in answers[1:])
    text = json.dumps(dossier)

    assert dossier["case"]["id"] == case["id"]
    assert dossier["student"]["id"] == w.student["id"]
    assert dossier["enrollment"]["id"] == w.eid and dossier["enrollment"]["mentor_id"] == w.mentor["id"]
    assert [(n["week"], n["body"], n["author_id"]) for n in dossier["notes"]] == [
        ("2026-W10", note_marks[0], w.mentor["id"]), ("2026-W12", note_marks[1], w.mentor["id"])]

    assert [p["code"] for p in dossier["projects"]] == ["p1", "p2"]
    for p in dossier["projects"]:
        assert p["state"] == "validated" and len(p["rounds"]) == 1, p
        rnd = p["rounds"][0]
        d = w.defenses[p["code"]]
        tag = "%s-%s" % (p["code"], w.tag)
        assert [v["uri"] for v in rnd["deliverables"]] == ["https://git.example.test/%s/0" % tag], rnd
        df = rnd["defense"]
        assert (df["id"], df["verdict"], df["state"]) == (d["id"], "validated", "decided"), df
        assert df["evaluator"]["id"] == d["evaluator_id"] and df["evaluator"]["name"], df
        assert df["recording"]["uri"] == "https://video.example.test/%s" % tag, df
        assert df["skills"] == [{"code": s["code"], "acquired": True}
                                for s in w.projects[p["code"]]["skills"]], df
    p2 = dossier["projects"][1]["rounds"][0]
    mine = [x for x in p2["reviews"] if x["id"] == review["id"]]
    assert len(mine) == 1, p2["reviews"]
    assert (mine[0]["state"], mine[0]["verdict"], mine[0]["comment"]) == (
        "submitted", "needs_improvement", review_comment), mine
    assert mine[0]["skills"] == [{"code": c, "acquired": c != codes[0]} for c in codes]
    assert [g["id"] for g in p2["disagreements"]] == [gid], p2["disagreements"]

    assert dossier["reports"] == [{"category": "plagiarism", "outcome": "unfounded"}], \
        dossier["reports"]
    for secret in (body_mark, evidence_mark, feedback_mark, reporter_name):
        assert secret not in text, "the dossier shows %s" % secret.split("-")[1]
    assert not [k for k in keys_everywhere(dossier) if "reporter" in k or "receipt" in k]

    expected_map = [(p, s["code"], True) for p in ("p1", "p2") for s in w.projects[p]["skills"]]
    assert [(m["project_code"], m["skill_code"], m["acquired"]) for m in dossier["skills_map"]] \
        == expected_map, dossier["skills_map"]


def test_only_the_sessions_members_and_pedagogy_read_a_case(admin, make_user):
    w = Diploma(admin, make_user, n_projects=1)
    w.complete()
    _, pedagogy_c = make_user(["pedagogy"])
    members = jury_members(make_user)
    s = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members])
    case = open_case(pedagogy_c, s["id"], w.eid)
    _, other_jury_c = make_user(["jury"], jury_category="expert")
    urls = ["/v1/jury-cases/%d/dossier" % case["id"], "/v1/jury-cases/%d" % case["id"],
            "/v1/jury-sessions/%d" % s["id"]]
    for c in (other_jury_c, w.student_c, w.mentor_c):
        assert [c.get(u).status for u in urls] == [404, 404, 404]
    for c in (pedagogy_c, members[1][1]):
        assert [c.get(u).status for u in urls] == [200, 200, 200]
    missing = case["id"] + 1000000
    assert pedagogy_c.get("/v1/jury-cases/%d/dossier" % missing).status == 404
