"""
Who reviews (docs/REVIEW.md, "Who reviews"): never the original evaluator,
the mentor, the student or a conflicted evaluator, even when they hold the
evaluator role and are qualified; never the evaluator of a later round, and
a reviewer never evaluates a later round; the draw replays; and with nobody
eligible, a request is refused while a sampled verdict still goes through.
"""

from cfclient import assert_problem
from loop_helpers import audit_actions, certflow_cli, count, declare_conflict, draw_pick, pg_ints
from review_helpers import ALL_ONE, NONE, ClientPool, ReviewWorld, reviews_of, sample_rows

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
    evaluators = {w.user(["evaluator"], "Evaluator %d" % i, qualified=True)[0]["id"]
                  for i in range(3)}
    forbidden = {mentor["id"], student["id"], conflicted["id"]}
    e = w.enroll(student, mentor)

    # Each project: round 1 needs improvement, round 2 validated; every verdict sampled.
    seen_reviewers = set()
    for position in range(1, PROJECTS + 1):
        attempt = w.attempt(e["id"], position)["id"]
        first_reviewer = None
        for rnd, verdict in ((1, "needs_improvement"), (2, "validated")):
            d = w.handover(mentor_c, attempt, tag="p%d-r%d" % (position, rnd))
            assert d["evaluator_id"] in evaluators
            if first_reviewer is not None:
                # Round 2 exists only because round 1 needed improvement: its
                # reviewer is not drawn to evaluate it (docs/REVIEW.md).
                assert d["evaluator_id"] != first_reviewer
                did = int(psql("select draw_id from defenses where id = %d" % d["id"]))
                assert first_reviewer not in draw_row(psql, did)[2]
            w.verdict(d, verdict, w.skill_codes() if verdict != "validated" else (),
                      project_code="p%d" % position)
            assert sample_rows(psql, [d["id"]])[d["id"]][3] is True
            (rv,) = reviews_of(psql, d["id"])
            assert rv["requested_by"] == "sample" and rv["state"] == "pending"
            assert rv["reviewer_id"] != d["evaluator_id"], "the evaluator reviews their own verdict"
            assert rv["reviewer_id"] not in forbidden, (rv, mentor["id"], student["id"],
                                                        conflicted["id"])
            assert rv["reviewer_id"] in evaluators
            seen_reviewers.add(rv["reviewer_id"])
            first_reviewer = rv["reviewer_id"]
            # The stored draw: kind 'review', exactly the eligible candidates, replayable.
            kind, seed, cands, loads, pick = draw_row(psql, rv["draw_id"])
            assert kind == "review"
            assert set(cands) == evaluators - {d["evaluator_id"]}, cands
            assert pick == rv["reviewer_id"]
            assert draw_pick(seed, cands, loads) == pick
            p = certflow_cli(stack, "draw", "replay", rv["draw_id"])
            assert p.returncode == 0, (p.stdout, p.stderr)
            assert p.stdout.rstrip().endswith(": match"), p.stdout
    assert w.view(e["id"])["state"] == "awaiting_jury"
    # A reviewer is never drawn again to evaluate this enrollment, so the
    # pool narrows as reviews accumulate: more than one evaluator reviewed.
    assert seen_reviewers <= evaluators and len(seen_reviewers) >= 2, seen_reviewers


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
