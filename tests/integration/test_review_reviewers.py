"""
Who reviews (docs/REVIEW.md, "Who reviews"): never the original evaluator,
the mentor, the student or a conflicted evaluator, even when they hold the
evaluator role and are qualified; never the evaluator of a later round; a
reviewer of any defense of an enrollment never evaluates nor reviews another
defense of it; the evaluator of a withdrawn validated verdict is never drawn
again for that project; a member of the student's jury never reviews; the
draw replays; and with nobody eligible, a request is refused while a sampled
verdict still goes through.
"""

import pytest

from cfclient import assert_problem
from jury_helpers import new_session, open_case
from loop_helpers import (audit_actions, certflow_cli, count, declare_conflict, draw_pick,
                          enrollment_footprint, handover_body, pg_ints)
from report_helpers import close, report_body, submit
from review_helpers import ALL_ONE, NONE, ClientPool, ReviewWorld, reviews_of, sample_rows
from world_helpers import rate_limits_restore, rate_limits_snapshot

PROJECTS = 8


def draw_row(psql, draw_id):
    """(kind, seed, candidates, loads, pick) of a stored draw."""
    kind, seed, cands, loads, pick = psql(
        "select kind, encode(seed, 'hex'), candidates, loads, pick from draws where id = %d"
        % draw_id).split("|")
    return kind, bytes.fromhex(seed), pg_ints(cands), pg_ints(loads), int(pick)


def test_the_reviewer_is_never_the_evaluator_mentor_student_or_conflicted_and_the_draw_replays(
        stack, admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    w = ReviewWorld(admin, inst, pool, n_projects=PROJECTS, n_skills=1)
    # Everyone who must never review holds the evaluator role and is qualified:
    # with no open review, each would be the least loaded candidate if allowed.
    mentor, mentor_c = w.user(["mentor", "evaluator"], "Mentor", qualified=True)
    student, _ = w.user(["student", "evaluator"], "Student", qualified=True)
    conflicted, _ = w.user(["evaluator"], "Conflicted", qualified=True)
    declare_conflict(admin, conflicted["id"], student["id"])
    # Every review takes its reviewer out of the enrollment's draws for good:
    # one evaluator more than there are defenses to review.
    evaluators = {w.user(["evaluator"], "Evaluator %d" % i, qualified=True)[0]["id"]
                  for i in range(2 * PROJECTS + 1)}
    forbidden = {mentor["id"], student["id"], conflicted["id"]}
    e = w.enroll(student, mentor)

    # Each project: round 1 needs improvement, round 2 validated; every verdict sampled.
    seen_reviewers = []
    for position in range(1, PROJECTS + 1):
        attempt = w.attempt(e["id"], position)["id"]
        for rnd, verdict in ((1, "needs_improvement"), (2, "validated")):
            d = w.handover(mentor_c, attempt, tag="p%d-r%d" % (position, rnd))
            assert d["evaluator_id"] in evaluators
            # A later round, or the next project, tells an earlier reviewer
            # the verdict they review: none is drawn to evaluate it.
            did = int(psql("select draw_id from defenses where id = %d" % d["id"]))
            assert set(draw_row(psql, did)[2]) == evaluators - set(seen_reviewers)
            w.verdict(d, verdict, w.skill_codes() if verdict != "validated" else (),
                      project_code="p%d" % position)
            assert sample_rows(psql, [d["id"]])[d["id"]][3] is True
            (rv,) = reviews_of(psql, d["id"])
            assert rv["requested_by"] == "sample" and rv["state"] == "pending"
            assert rv["reviewer_id"] != d["evaluator_id"], "the evaluator reviews their own verdict"
            assert rv["reviewer_id"] not in forbidden, (rv, mentor["id"], student["id"],
                                                        conflicted["id"])
            assert rv["reviewer_id"] in evaluators
            # The stored draw: kind 'review', exactly the eligible candidates
            # (no reviewer of an earlier defense: this one's existence tells
            # them the verdict they reviewed), replayable.
            kind, seed, cands, loads, pick = draw_row(psql, rv["draw_id"])
            assert kind == "review"
            assert set(cands) == evaluators - {d["evaluator_id"]} - set(seen_reviewers), cands
            seen_reviewers.append(rv["reviewer_id"])
            assert pick == rv["reviewer_id"]
            assert draw_pick(seed, cands, loads) == pick
            p = certflow_cli(stack, "draw", "replay", rv["draw_id"])
            assert p.returncode == 0, (p.stdout, p.stderr)
            assert p.stdout.rstrip().endswith(": match"), p.stdout
    assert w.view(e["id"])["state"] == "awaiting_jury"
    # A reviewer is never drawn again for this enrollment, so the pool
    # narrows as reviews accumulate: every defense had a reviewer of its own.
    assert len(set(seen_reviewers)) == 2 * PROJECTS, seen_reviewers


def test_the_evaluator_of_a_later_round_never_reviews_an_earlier_one(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=NONE)
    w = ReviewWorld(admin, inst, pool, n_skills=1)
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    student, _ = w.user(["student"], "Student")
    evaluators = {w.user(["evaluator"], "Evaluator %d" % i, qualified=True)[0]["id"]
                  for i in range(5)}
    _, pedagogy_c = w.user(["pedagogy"], "Pedagogy")
    eid = w.enroll(student, mentor)["id"]
    attempt = w.attempt(eid)["id"]
    first = w.handover(mentor_c, attempt, tag="r1")
    w.verdict(first, "needs_improvement", w.skill_codes())
    second = w.handover(mentor_c, attempt, tag="r2")
    # Pedagogy has round 1 reviewed until nobody is left: never by whoever
    # evaluated it or evaluates round 2, who knows round 1 needed improvement.
    later = {first["evaluator_id"], second["evaluator_id"]}
    drawn = []
    while True:
        r = pedagogy_c.post("/v1/defenses/%d/reviews" % first["id"], {})
        if r.status == 409:
            break
        assert r.status == 201, r
        drawn.append(r.json()["reviewer_id"])
        assert r.json()["reviewer_id"] not in later, (r.json(), later)
        assert len(drawn) <= len(evaluators)
    assert sorted(drawn) == sorted(evaluators - later)


def test_without_an_eligible_reviewer_a_request_is_refused_and_a_sampled_verdict_still_succeeds(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    w = ReviewWorld(admin, inst, pool, n_skills=1)
    mentor, mentor_c = w.user(["mentor", "evaluator"], "Mentor", qualified=True)
    student, _ = w.user(["student"], "Student")
    evaluator, _ = w.user(["evaluator"], "Evaluator", qualified=True)
    conflicted, _ = w.user(["evaluator"], "Conflicted", qualified=True)
    declare_conflict(admin, conflicted["id"], student["id"])
    w.user(["evaluator"], "Unqualified")
    pedagogy, _ = w.user(["pedagogy"], "Pedagogy")
    pedagogy_c = w.client(pedagogy["id"])
    e = w.enroll(student, mentor)

    d = w.handover(mentor_c, w.attempt(e["id"])["id"])
    assert d["evaluator_id"] == evaluator["id"]
    answer = w.verdict(d, "validated")
    assert answer["defense"]["verdict"] == "validated"
    assert answer["enrollment"]["state"] == "awaiting_jury"
    assert sample_rows(psql, [d["id"]])[d["id"]][3] is True
    assert reviews_of(psql, d["id"]) == []
    assert ("review.unassigned", None) in audit_actions(psql, "defense", d["id"], "review.")

    p = assert_problem(pedagogy_c.post("/v1/defenses/%d/reviews" % d["id"], {}), 409)
    assert "eligible" in p["detail"], p
    assert reviews_of(psql, d["id"]) == []
    # A refused request leaves no trace: the one audit row is the verdict's.
    assert audit_actions(psql, "defense", d["id"], "review.") == [("review.unassigned", None)]
    assert count(psql, "select count(*) from audit_log where action = 'review.open' "
                       "and (details ->> 'defense_id')::bigint = %d" % d["id"]) == 0


# --------------------------------------------------------------- withdrawn verdicts, later defenses, juries

NONE_UNLIMITED = NONE + "\nreport_rate_limit = 100000\nreport_followup_rate_limit = 100000"


@pytest.fixture
def rate_limits_untouched(psql):
    """A report counts against 127.0.0.1: put the counters back."""
    snap = rate_limits_snapshot(psql)
    yield
    rate_limits_restore(psql, snap)


def enrolled_world(admin, extra_instance, request, conf, n_projects=1):
    """
    A ReviewWorld of one-skill projects on its own certflowd (CONF): a
    mentor, a student enrolled with them, one qualified evaluator and
    pedagogy. Returns (world, mentor, mentor Client, evaluator, pedagogy
    Client, enrollment id).
    """
    w = ReviewWorld(admin, extra_instance(extra_conf=conf), ClientPool(request),
                    n_projects=n_projects, n_skills=1)
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    student, _ = w.user(["student"], "Student")
    evaluator, _ = w.user(["evaluator"], "Evaluator", qualified=True)
    _, pedagogy_c = w.user(["pedagogy"], "Pedagogy")
    return w, mentor, mentor_c, evaluator, pedagogy_c, w.enroll(student, mentor)["id"]


def loaded_evaluator(w, mentor, mentor_c, keep_out):
    """
    A fresh qualified evaluator F holding one pending defense (of another
    student, with whom every user of KEEP_OUT is in declared conflict, so
    that F is drawn): F's load is 1, above any idle evaluator's.
    """
    f, _ = w.user(["evaluator"], "Loaded", qualified=True)
    other, _ = w.user(["student"], "Other Student")
    for uid_ in keep_out:
        declare_conflict(w.admin, uid_, other["id"])
    d = w.handover(mentor_c, w.attempt(w.enroll(other, mentor)["id"])["id"], tag="other")
    assert d["evaluator_id"] == f["id"], d
    return f


@pytest.mark.parametrize("withdrawal", ["overturned by a review", "invalidated by a report"])
def test_a_withdrawn_validated_verdict_never_brings_its_evaluator_back_to_the_project(
        admin, psql, extra_instance, request, rate_limits_untouched, withdrawal):
    """
    E validates the project; the verdict is then withdrawn (a blind review
    disagrees and pedagogy overturns it, or a substantiated fraud report
    invalidates the project) and the project is with the mentor again. A new
    round handed to E would tell E that their verdict fell. With nobody else
    eligible the handover is refused and nothing changes; once an evaluator
    F with a heavier load than E is qualified, F is drawn although E, with
    no open defense, would come first by load.
    """
    w, mentor, mentor_c, e_user, pedagogy_c, eid = enrolled_world(
        admin, extra_instance, request, NONE_UNLIMITED)
    attempt = w.attempt(eid)["id"]
    d1 = w.handover(mentor_c, attempt, tag="r1")
    assert d1["evaluator_id"] == e_user["id"]
    w.verdict(d1, "validated")
    keep_out = [e_user["id"]]
    if withdrawal.startswith("overturned"):
        reviewer, _ = w.user(["evaluator"], "Reviewer", qualified=True)
        keep_out.append(reviewer["id"])
        r = pedagogy_c.post("/v1/defenses/%d/reviews" % d1["id"], {})
        assert r.status == 201 and r.json()["reviewer_id"] == reviewer["id"], r
        w.review(r.json()["id"], reviewer["id"], "needs_improvement", w.skill_codes())
        g = int(psql("select id from disagreements where defense_id = %d" % d1["id"]))
        r = pedagogy_c.post("/v1/disagreements/%d/resolve" % g,
                            {"outcome": "original_overturned", "comment": "overturned"})
        assert r.status == 200, r
    else:
        _, reporter_c = w.user(["student"], "Reporter")
        _, rid = submit(reporter_c, psql, report_body(enrollment_id=eid, project_code="p1"))
        c = close(pedagogy_c, rid, "substantiated", "invalidate_project")
        assert c["effect"]["applied"] is True, c
    assert w.attempt(eid)["state"] == "mentoring"

    # Only E is qualified and not kept out: E may not be drawn, so nobody is.
    before = enrollment_footprint(psql, eid)
    draws = count(psql, "select count(*) from draws")
    p = assert_problem(mentor_c.post("/v1/attempts/%d/handover" % attempt,
                                     handover_body("r2")), 409)
    assert "no eligible evaluator" in p["detail"], p
    assert enrollment_footprint(psql, eid) == before
    assert count(psql, "select count(*) from draws") == draws
    assert audit_actions(psql, "attempt", attempt, "attempt.handover") == [
        ("attempt.handover", mentor["id"])]

    f = loaded_evaluator(w, mentor, mentor_c, keep_out)
    d2 = w.handover(mentor_c, attempt, tag="r2")
    assert d2["evaluator_id"] == f["id"], (d2, e_user["id"])
    did = int(psql("select draw_id from defenses where id = %d" % d2["id"]))
    _, _, cands, loads, _ = draw_row(psql, did)
    assert cands == [f["id"]] and loads == [1], (cands, loads)
    assert w.client(e_user["id"]).get("/v1/defenses?mine=1").json() == []


@pytest.mark.parametrize("later", ["round", "project"])
def test_a_reviewer_is_never_drawn_for_a_later_defense_of_the_enrollment(
        admin, psql, extra_instance, request, later):
    """
    R reviews D1 (round 1 of project p1). The next defense of the
    enrollment, round 2 of p1 (D1 needed improvement) or p2 (D1 was
    validated), tells its existence and so D1's verdict: R is drawn neither
    to evaluate it nor to review it. E1, the only other qualified
    evaluator, evaluates it; a review of it then finds nobody (E1 evaluated
    it, R reviewed D1) and is refused, until another evaluator is qualified.
    """
    w, mentor, mentor_c, e1, pedagogy_c, eid = enrolled_world(
        admin, extra_instance, request, NONE, n_projects=2)
    d1 = w.handover(mentor_c, w.attempt(eid)["id"], tag="d1")
    first = "needs_improvement" if later == "round" else "validated"
    w.verdict(d1, first, w.skill_codes() if later == "round" else ())
    reviewer, _ = w.user(["evaluator"], "Reviewer", qualified=True)
    r = pedagogy_c.post("/v1/defenses/%d/reviews" % d1["id"], {})
    assert r.status == 201 and r.json()["reviewer_id"] == reviewer["id"], r
    w.review(r.json()["id"], reviewer["id"], first, w.skill_codes() if later == "round" else ())

    position = 1 if later == "round" else 2
    d2 = w.handover(mentor_c, w.attempt(eid, position)["id"], tag="d2")
    assert d2["evaluator_id"] == e1["id"], d2
    did = int(psql("select draw_id from defenses where id = %d" % d2["id"]))
    assert reviewer["id"] not in draw_row(psql, did)[2]
    w.verdict(d2, "validated", project_code="p%d" % position)

    p = assert_problem(pedagogy_c.post("/v1/defenses/%d/reviews" % d2["id"], {}), 409)
    assert "eligible" in p["detail"], p
    assert reviews_of(psql, d2["id"]) == []
    assert w.client(reviewer["id"]).get("/v1/reviews?mine=1").json() == []

    other, _ = w.user(["evaluator"], "Other", qualified=True)
    r = pedagogy_c.post("/v1/defenses/%d/reviews" % d2["id"], {})
    assert r.status == 201 and r.json()["reviewer_id"] == other["id"], r
    assert set(draw_row(psql, the_draw(psql, d2["id"]))[2]) == {other["id"]}


def the_draw(psql, defense_id):
    (rv,) = reviews_of(psql, defense_id)
    return rv["draw_id"]


def test_a_member_of_the_students_jury_never_reviews_their_defenses(
        admin, psql, extra_instance, request, make_user):
    """
    J is an evaluator qualified for the path and a jury member of the
    session with the student's open case: the dossier shows J every verdict
    and review. A review asked for during the case leaves J out: with J the
    only evaluator not otherwise excluded it is refused; then another
    evaluator is drawn.
    """
    w, mentor, mentor_c, e_user, pedagogy_c, eid = enrolled_world(
        admin, extra_instance, request, NONE)
    d = w.handover(mentor_c, w.attempt(eid)["id"])
    assert d["evaluator_id"] == e_user["id"]
    assert w.verdict(d, "validated")["enrollment"]["state"] == "awaiting_jury"
    juror, _ = w.user(["evaluator", "jury"], "Juror", qualified=True, jury_category="expert")
    others = [make_user(["jury"], jury_category=cat, name="Jury %s %s" % (cat, w.tag))[0]["id"]
              for cat in ("recruiter", "pedagogy", "mentor")]
    session = new_session(pedagogy_c, w.path["id"], [juror["id"]] + others)
    case = open_case(pedagogy_c, session["id"], eid)
    assert case["state"] == "open"

    p = assert_problem(pedagogy_c.post("/v1/defenses/%d/reviews" % d["id"], {}), 409)
    assert "eligible" in p["detail"], p
    assert reviews_of(psql, d["id"]) == []
    assert w.client(juror["id"]).get("/v1/reviews?mine=1").json() == []

    other, _ = w.user(["evaluator"], "Other", qualified=True)
    r = pedagogy_c.post("/v1/defenses/%d/reviews" % d["id"], {})
    assert r.status == 201 and r.json()["reviewer_id"] == other["id"], r
    assert juror["id"] not in draw_row(psql, the_draw(psql, d["id"]))[2]
