"""The mentor's weekly notes, and the alerts pedagogy reads from them."""

import re

from cfclient import assert_problem
from loop_helpers import World, count
from report_helpers import DAY, client, clock_conf


def note(week, at_risk=False, progress=50, body="on track"):
    return {"week": week, "progress": progress, "body": body, "at_risk": at_risk}


def note_gap_days(stack):
    m = re.search(r"^\s*note_gap_days\s*=\s*(\d+)", stack.conf_text(), re.M)
    return int(m.group(1)) if m else 14


def alerts_for(client, enrollment_id):
    r = client.get("/v1/alerts")
    assert r.status == 200, r
    return [a for a in r.json() if a.get("enrollment_id") == enrollment_id]


def test_one_note_per_week_and_everyone_concerned_reads_them(admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=0)
    url = "/v1/enrollments/%d/notes" % w.eid
    r = w.mentor_c.post(url, note("2026-W11", progress=30, body="started"))
    assert r.status == 201, r
    n = r.json()
    assert (n["enrollment_id"], n["week"], n["progress"], n["body"], n["at_risk"], n["author_id"]) \
        == (w.eid, "2026-W11", 30, "started", False, w.mentor["id"])
    assert_problem(w.mentor_c.post(url, note("2026-W11", progress=99, body="rewritten")), 409,
                   field="week")
    assert psql("select progress || '|' || body from notes where enrollment_id = %d"
                % w.eid) == "30|started"
    assert w.mentor_c.post(url, note("2026-W09", progress=10)).status == 201
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    lists = [c.get(url) for c in (w.mentor_c, w.student_c, pedagogy_c, admin)]
    assert [r.status for r in lists] == [200] * 4
    assert [x["week"] for x in lists[0].json()] == ["2026-W09", "2026-W11"]
    assert all(r.json() == lists[0].json() for r in lists)
    assert count(psql, "select count(*) from audit_log where action = 'note.create' "
                       "and (details ->> 'enrollment_id')::bigint = %d" % w.eid) == 2


def test_alerts_follow_the_latest_weeks_note(admin, make_user):
    w = World(admin, make_user, n_evaluators=0)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    url = "/v1/enrollments/%d/notes" % w.eid
    assert alerts_for(pedagogy_c, w.eid) == [], "a fresh enrollment is no alert"
    assert w.mentor_c.post(url, note("2026-W10", at_risk=True)).status == 201
    got = alerts_for(pedagogy_c, w.eid)
    assert len(got) == 1, got
    a = got[0]
    assert (a["reason"], a["last_note_week"], a["student_id"], a["mentor_id"], a["path_id"]) == (
        "at_risk", "2026-W10", w.student["id"], w.mentor["id"], w.path["id"])
    assert alerts_for(admin, w.eid) == got
    # A newer week without risk clears it; a late note for an older week does not bring it back.
    assert w.mentor_c.post(url, note("2026-W11", at_risk=False)).status == 201
    assert alerts_for(pedagogy_c, w.eid) == []
    assert w.mentor_c.post(url, note("2026-W09", at_risk=True)).status == 201
    assert alerts_for(pedagogy_c, w.eid) == []
    for c in (w.mentor_c, w.student_c):
        assert_problem(c.get("/v1/alerts"), 403)


def test_alerts_name_enrollments_without_a_recent_note(stack, admin, make_user, psql):
    gap = note_gap_days(stack)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    silent = World(admin, make_user, n_evaluators=0)
    young = World(admin, make_user, n_evaluators=0)
    lapsed = World(admin, make_user, n_evaluators=0)
    psql("update enrollments set created_at = now() - interval '%d days' where id = %d"
         % (gap + 16, silent.eid))
    psql("update enrollments set created_at = now() - interval '%d days' where id = %d"
         % (gap - 1, young.eid))
    assert lapsed.mentor_c.post("/v1/enrollments/%d/notes" % lapsed.eid,
                                note("2026-W05")).status == 201
    psql("update enrollments set created_at = now() - interval '%d days' where id = %d"
         % (gap + 30, lapsed.eid))
    assert alerts_for(pedagogy_c, lapsed.eid) == [], "a recent note, however old the enrollment"
    psql("update enrollments set last_note_at = now() - interval '%d days' where id = %d"
         % (gap + 1, lapsed.eid))
    psql("update notes set created_at = now() - interval '%d days' where enrollment_id = %d"
         % (gap + 1, lapsed.eid))

    got = alerts_for(pedagogy_c, silent.eid)
    assert [a["reason"] for a in got] == ["no_recent_note"], got
    assert got[0]["last_note_week"] is None
    assert str(gap) in got[0]["detail"]
    assert alerts_for(pedagogy_c, young.eid) == []
    got = alerts_for(pedagogy_c, lapsed.eid)
    assert [(a["reason"], a["last_note_week"]) for a in got] == [("no_recent_note", "2026-W05")]
    # A fresh note ends the alert.
    assert silent.mentor_c.post("/v1/enrollments/%d/notes" % silent.eid,
                                note("2026-W06")).status == 201
    assert alerts_for(pedagogy_c, silent.eid) == []


def test_an_enrollment_no_longer_in_progress_raises_no_alert(admin, make_user, psql):
    w = World(admin, make_user, n_projects=1, n_evaluators=1)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    assert w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid,
                           note("2026-W20", at_risk=True)).status == 201
    assert [a["reason"] for a in alerts_for(pedagogy_c, w.eid)] == ["at_risk"]
    v = w.verdict(w.handover(w.enrollment["attempts"][0]["id"])["defense"], "p1")
    assert v["enrollment"]["state"] == "awaiting_jury"
    psql("update enrollments set created_at = now() - interval '90 days' where id = %d" % w.eid)
    assert alerts_for(pedagogy_c, w.eid) == []


def test_the_test_clock_moves_the_note_gap_of_the_alerts(stack, admin, make_user, extra_instance):
    gap = note_gap_days(stack)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    w = World(admin, make_user, n_evaluators=0)
    assert alerts_for(pedagogy_c, w.eid) == [], "no note yet, but enrolled just now"
    later = extra_instance(extra_conf=clock_conf((gap + 1) * DAY))
    c = client(later, pedagogy)
    try:
        got = alerts_for(c, w.eid)
        assert [(a["reason"], a["last_note_week"]) for a in got] == [("no_recent_note", None)], got
    finally:
        c.close()
