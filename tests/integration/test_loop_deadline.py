"""Reassigning a defense: by pedagogy, and by the deadline scanner when it is overdue."""

import time

from cfclient import assert_problem, slowness
from loop_helpers import World, count, draw_pick, pg_ints, verdict_body


def misses(psql, defense_id):
    """[(evaluator_id, kind)] recorded against DEFENSE_ID, oldest first."""
    out = psql("select evaluator_id, kind from evaluator_misses where defense_id = %d order by id"
               % defense_id)
    return [(int(e), k) for e, k in (line.split("|") for line in out.splitlines())]


def test_pedagogy_reassigns_a_defense_to_another_evaluator_and_records_the_miss(
        admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=3)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    d = w.handover(w.enrollment["attempts"][0]["id"])["defense"]
    url = "/v1/defenses/%d/reassign" % d["id"]
    current = d["evaluator_id"]
    expected_misses = []
    draw_ids = {int(psql("select draw_id from defenses where id = %d" % d["id"]))}
    for _ in range(8):
        r = pedagogy_c.post(url)
        assert r.status == 200, r
        b = r.json()
        assert b["id"] == d["id"]
        assert b["previous_evaluator_id"] == current
        assert b["evaluator_id"] != current
        assert b["evaluator_id"] in {u["id"] for u in w.evaluators}
        assert b["draw_id"] not in draw_ids
        draw_ids.add(b["draw_id"])
        expected_misses.append((current, "reassigned"))
        row = psql("select evaluator_id, draw_id, state from defenses where id = %d" % d["id"])
        assert row == "%d|%d|pending" % (b["evaluator_id"], b["draw_id"])
        # The stored draw excluded the evaluator being replaced.
        seed, cands, loads, pick = psql("select encode(seed, 'hex'), candidates, loads, pick "
                                        "from draws where id = %d" % b["draw_id"]).split("|")
        assert current not in pg_ints(cands)
        assert int(pick) == b["evaluator_id"]
        assert draw_pick(bytes.fromhex(seed), pg_ints(cands), pg_ints(loads)) == int(pick)
        current = b["evaluator_id"]
    assert misses(psql, d["id"]) == expected_misses
    assert count(psql, "select count(*) from defenses where attempt_id = %d"
                 % w.enrollment["attempts"][0]["id"]) == 1
    assert count(psql, "select count(*) from audit_log where action = 'defense.reassign' "
                       "and entity_id = %d and actor_id = %d" % (d["id"], pedagogy["id"])) == 8
    # The old evaluator can no longer decide it; the new one can.
    old = expected_misses[-1][0]
    body = verdict_body(w.projects["p1"])
    assert_problem(w.clients[old].post("/v1/defenses/%d/verdict" % d["id"], body), 403)
    assert w.clients[current].post("/v1/defenses/%d/verdict" % d["id"], body).status == 200
    # A decided defense is not reassigned.
    assert_problem(pedagogy_c.post(url), 409)
    assert len(misses(psql, d["id"])) == 8


def test_reassign_without_another_eligible_evaluator_is_refused_and_changes_nothing(
        admin, make_user, psql):
    w = World(admin, make_user, n_evaluators=1)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    d = w.handover(w.enrollment["attempts"][0]["id"])["defense"]
    before = psql("select evaluator_id, draw_id, due_at from defenses where id = %d" % d["id"])
    p = assert_problem(pedagogy_c.post("/v1/defenses/%d/reassign" % d["id"]), 409)
    assert "eligible" in p["detail"], p
    assert psql("select evaluator_id, draw_id, due_at from defenses where id = %d"
                % d["id"]) == before
    assert misses(psql, d["id"]) == []


def test_the_deadline_scanner_reassigns_an_overdue_defense(
        admin, make_user, psql, extra_instance):
    w = World(admin, make_user, n_evaluators=3)
    d = w.handover(w.enrollment["attempts"][0]["id"])["defense"]
    old = d["evaluator_id"]
    extra_instance(extra_conf="deadline_scan_interval_s = 1")
    psql("update defenses set due_at = now() - interval '2 hours' where id = %d" % d["id"])

    deadline = time.monotonic() + 20 * slowness()
    while True:
        now_ev = int(psql("select evaluator_id from defenses where id = %d" % d["id"]))
        if now_ev != old or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    assert now_ev != old, "the overdue defense still has its evaluator after 20 s"
    assert now_ev in {u["id"] for u in w.evaluators}

    assert misses(psql, d["id"]) == [(old, "deadline")]
    rows = psql("select coalesce(actor_id::text, 'NULL'), details ->> 'from_evaluator_id', "
                "details ->> 'evaluator_id', details ->> 'by', request_id from audit_log "
                "where action = 'defense.reassign' and entity_id = %d" % d["id"]).splitlines()
    assert len(rows) == 1, rows
    actor, frm, to, by, request_id = rows[0].split("|")
    assert (actor, int(frm), int(to), by) == ("NULL", old, now_ev, "system")
    assert request_id.startswith("deadline-")
    # A fresh due date in the future, and the defense is still the same pending one.
    assert psql("select state, due_at > now() from defenses where id = %d" % d["id"]) == "pending|t"


def test_the_deadline_scanner_leaves_an_overdue_defense_without_alternative_for_a_day(
        admin, make_user, psql, extra_instance):
    w = World(admin, make_user, n_evaluators=1)
    d = w.handover(w.enrollment["attempts"][0]["id"])["defense"]
    draw_id = psql("select draw_id from defenses where id = %d" % d["id"])
    extra_instance(extra_conf="deadline_scan_interval_s = 1")
    psql("update defenses set due_at = now() - interval '2 hours' where id = %d" % d["id"])

    deadline = time.monotonic() + 20 * slowness()
    while True:
        pushed = psql("select due_at > now() + interval '23 hours' from defenses where id = %d"
                      % d["id"]) == "t"
        if pushed or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    assert pushed, "the overdue defense was not given another day within 20 s"
    assert psql("select evaluator_id, draw_id, state from defenses where id = %d"
                % d["id"]) == "%d|%s|pending" % (d["evaluator_id"], draw_id)
    assert misses(psql, d["id"]) == []
    actions = psql("select action || ':' || coalesce(actor_id::text, 'NULL') from audit_log "
                   "where entity_type = 'defense' and entity_id = %d order by id" % d["id"])
    assert actions.splitlines() == ["defense.overdue:NULL"]
