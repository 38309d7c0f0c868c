"""
Blindness (docs/REVIEW.md, "Blindness"), proved from the side of each party
who must not see: the reviewer never learns the original verdict, comment,
per-skill results or evaluator; the original evaluator never learns the
reviewer or the review; the student and the mentor never see a review, only
why a project came back after an overturn.

The reviewer's answers are recorded in two worlds that differ only in the
original verdict (validated / needs_improvement) and must be identical once
ids, timestamps, request ids and the world's tag are taken out: whatever a
route let slip about the original verdict would make them differ.
"""

import re

import pytest

from cfclient import assert_problem
from loop_helpers import declare_conflict, handover_body, uid
from review_helpers import (ALL_ONE, NONE, ClientPool, Normaliser, ReviewWorld, body_json, keys_of,
                            review_body, shape, the_review, user_id_leaks, verdict_body, walk)

VERDICTS = ("validated", "needs_improvement")
# Keys that would carry a verdict, a comment, per-skill results, an evaluator
# or a review in an answer to someone who must not see them.
REVIEWER_MUST_NOT_SEE_KEYS = {"verdict", "comment", "acquired", "evaluator_id", "original",
                              "original_evaluator_id", "review", "reviews", "reviewer_id",
                              "disagreement", "disagreements", "sampled", "rounds", "attempts",
                              "defense", "skill_differences", "requested_by"}
REVIEW_KEYS = {"review", "reviews", "reviewer_id", "review_id", "disagreement", "disagreements",
               "sampled", "requested_by", "skill_differences", "original_evaluator_id"}


class BlindWorld:
    """
    A student, their mentor, the original evaluator (the only one qualified
    at the handover, so drawn) and a reviewer (qualified afterwards, so the
    only one the review can draw); the original verdict carries a comment
    with a marker of its own.
    """

    def __init__(self, admin, inst, pool, psql, original_verdict, tag=None, n_projects=1):
        self.w = w = ReviewWorld(admin, inst, pool, n_projects=n_projects, n_skills=2,
                                 tag=tag or uid())
        self.tag = w.tag
        self.original_verdict = original_verdict
        self.mentor, self.mentor_c = w.user(["mentor"], "Mentor")
        self.student, self.student_c = w.user(["student"], "Student")
        self.orig, self.orig_c = w.user(["evaluator"], "Original Evaluator", qualified=True)
        self.pedagogy, self.pedagogy_c = w.user(["pedagogy"], "Pedagogy")
        self.enrollment = w.enroll(self.student, self.mentor)
        self.eid = self.enrollment["id"]
        r = self.mentor_c.post("/v1/enrollments/%d/notes" % self.eid,
                               {"week": "2031-W10", "progress": 60, "body": "steady work",
                                "at_risk": False})
        assert r.status == 201, r
        self.attempt_id = w.attempt(self.eid)["id"]
        self.defense = w.handover(self.mentor_c, self.attempt_id)
        assert self.defense["evaluator_id"] == self.orig["id"]
        self.reviewer, self.reviewer_c = w.user(["evaluator"], "Reviewer", qualified=True)
        self.marker = "ORIGINAL-COMMENT-" + self.tag
        self.review_marker = "REVIEW-COMMENT-" + self.tag
        codes = w.skill_codes()
        self.not_acquired = (codes[0],) if original_verdict == "needs_improvement" else ()
        self.verdict_answer = self.orig_c.post(
            "/v1/defenses/%d/verdict" % self.defense["id"],
            verdict_body(codes, original_verdict, self.not_acquired, self.marker))
        assert self.verdict_answer.status == 200, self.verdict_answer
        self.psql = psql

    @property
    def review(self):
        return the_review(self.psql, self.defense["id"])

    def normaliser(self):
        return Normaliser({self.tag: "TAG"})

    def submit_review(self, verdict="needs_improvement"):
        codes = self.w.skill_codes()
        body = review_body(codes, verdict, (codes[0],) if verdict == "needs_improvement" else (),
                           self.review_marker)
        return self.reviewer_c.post("/v1/reviews/%d/verdict" % self.review["id"], body)


def reviewer_calls(b, review_id):
    """Every route the reviewer can call about the reviewed defense: [(label, Response)]."""
    c = b.reviewer_c
    codes = b.w.skill_codes()
    d = b.defense["id"]
    rv = "/v1/reviews/%d/verdict" % review_id
    calls = [
        ("reviews mine", c.get("/v1/reviews?mine=1")),
        ("reviews all", c.get("/v1/reviews")),
        ("defenses mine", c.get("/v1/defenses?mine=1")),
        ("enrollment", c.get("/v1/enrollments/%d" % b.eid)),
        ("notes", c.get("/v1/enrollments/%d/notes" % b.eid)),
        ("me", c.get("/v1/me")),
        ("path", c.get("/v1/paths/%d" % b.w.path["id"])),
        ("verdict on the defense", c.post("/v1/defenses/%d/verdict" % d,
                                          verdict_body(codes, "validated"))),
        ("verdict ni on the defense", c.post("/v1/defenses/%d/verdict" % d,
                                             verdict_body(codes, "needs_improvement",
                                                          (codes[0],)))),
        ("reassign the defense", c.post("/v1/defenses/%d/reassign" % d, {})),
        ("request a review", c.post("/v1/defenses/%d/reviews" % d, {})),
        ("review: no body", c.post(rv, {})),
        ("review: bad verdict", c.post(rv, {"verdict": "maybe", "skills": [
            {"code": codes[0], "acquired": True}]})),
        ("review: unknown skill", c.post(rv, review_body(["nope"] + codes[1:]))),
        ("review: missing skill", c.post(rv, review_body(codes[:1]))),
        ("review: skill twice", c.post(rv, review_body([codes[0], codes[0], codes[1]]))),
        ("review: validated not acquired", c.post(rv, review_body(codes, "validated",
                                                                  (codes[1],)))),
        ("disagreements", c.get("/v1/disagreements")),
        ("open disagreements", c.get("/v1/disagreements?state=open")),
        ("calibration of the original", c.get("/v1/evaluators/%d/calibration" % b.orig["id"])),
        ("calibration of self", c.get("/v1/evaluators/%d/calibration" % b.reviewer["id"])),
        ("calibration", c.get("/v1/calibration")),
        ("user: the original evaluator", c.get("/v1/users/%d" % b.orig["id"])),
        ("user: the student", c.get("/v1/users/%d" % b.student["id"])),
    ]
    return calls


# What the reviewer gets while the review is pending: (status, field) for a 422.
EXPECTED_BEFORE = {
    "reviews mine": 200, "reviews all": 403, "defenses mine": 200, "enrollment": 404,
    "notes": 404, "me": 200, "path": 200, "verdict on the defense": 403,
    "verdict ni on the defense": 403, "reassign the defense": 403, "request a review": 403,
    "review: no body": (422, "verdict"), "review: bad verdict": (422, "verdict"),
    "review: unknown skill": (422, "skills[0].code"), "review: missing skill": (422, "skills"),
    "review: skill twice": (422, "skills[1].code"),
    "review: validated not acquired": (422, "verdict"), "disagreements": 403,
    "open disagreements": 403, "calibration of the original": 403, "calibration of self": 403,
    "calibration": 403, "user: the original evaluator": 403, "user: the student": 403,
}


def assert_reviewer_sees_nothing(b, calls):
    forbidden_text = [b.marker, b.orig["name"], b.orig["email"]]
    for label, r in calls:
        text = r.body.decode("utf-8", "replace")
        for s in forbidden_text:
            assert s not in text, "%s: the reviewer sees %r in %r" % (label, s, text)
        assert user_id_leaks(r, b.orig["id"]) == [], \
            "%s: the original evaluator's id in %r" % (label, text)
        obj = body_json(r)
        leaked = REVIEWER_MUST_NOT_SEE_KEYS & set(keys_of(obj))
        assert not leaked, "%s: keys %r in %r" % (label, leaked, text)
        values = [v for _, v in walk(obj) if v in VERDICTS]
        assert values == [], "%s: a verdict in %r" % (label, text)


def test_the_reviewer_learns_nothing_of_the_original_verdict_before_or_after_reviewing(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    worlds = {v: BlindWorld(admin, inst, pool, psql, v) for v in VERDICTS}
    seen = {}
    for v, b in worlds.items():
        review = b.review
        assert review["reviewer_id"] == b.reviewer["id"]
        before = reviewer_calls(b, review["id"])
        # The queue item says what to judge, and nothing else.
        queue = before[0][1]
        assert queue.status == 200, queue
        (item,) = queue.json()
        assert set(item) == {"id", "due_at", "project", "deliverables", "recording"}, item
        assert item["id"] == review["id"]
        assert set(item["project"]) == {"code", "title", "skills"}, item
        assert all(set(s) == {"code", "title"} for s in item["project"]["skills"]), item
        assert [d["uri"] for d in item["deliverables"]] == ["https://git.example.test/work/0"]
        assert item["recording"]["uri"] == "https://video.example.test/rec"
        for label, r in before:
            want = EXPECTED_BEFORE[label]
            if isinstance(want, tuple):
                assert_problem(r, want[0], field=want[1])
            elif want == 200:
                assert r.status == 200, (label, r)
            else:
                assert_problem(r, want)
        assert_reviewer_sees_nothing(b, before)

        r = b.submit_review()
        assert r.status == 200, r
        assert r.json() == {"id": review["id"], "state": "submitted"}
        submitted = [("submit", r)]
        after = reviewer_calls(b, review["id"])
        again = b.submit_review()
        assert_problem(again, 409)
        after.append(("submit again", again))
        assert after[0][1].json() == [], "a submitted review leaves the queue"
        assert_reviewer_sees_nothing(b, before + submitted + after)

        n = b.normaliser()
        seen[v] = [(label, n.response(r, label)) for label, r in before + submitted + after]

    # Same everything else: the two worlds answer the reviewer identically.
    for (label, a), (_, b_) in zip(seen["validated"], seen["needs_improvement"]):
        assert a == b_, "%s differs with the original verdict:\n%r\n%r" % (label, a, b_)
    assert len(seen["validated"]) == len(seen["needs_improvement"])
    # ... although one of the two submissions opened a disagreement and the other did not.
    opened = {v: int(psql("select count(*) from disagreements where defense_id = %d"
                          % b.defense["id"])) for v, b in worlds.items()}
    assert opened == {"validated": 1, "needs_improvement": 0}, opened


def original_evaluator_calls(b, review_id):
    c = b.orig_c
    return [
        ("reviews mine", c.get("/v1/reviews?mine=1")),
        ("reviews all", c.get("/v1/reviews")),
        ("defenses mine", c.get("/v1/defenses?mine=1")),
        ("enrollment", c.get("/v1/enrollments/%d" % b.eid)),
        ("me", c.get("/v1/me")),
        ("disagreements", c.get("/v1/disagreements")),
        ("open disagreements", c.get("/v1/disagreements?state=open")),
        ("resolved disagreements", c.get("/v1/disagreements?state=resolved")),
        ("calibration", c.get("/v1/calibration")),
        ("own calibration", c.get("/v1/evaluators/%d/calibration" % b.orig["id"])),
        ("reviewer's calibration", c.get("/v1/evaluators/%d/calibration" % b.reviewer["id"])),
        ("user: the reviewer", c.get("/v1/users/%d" % b.reviewer["id"])),
        ("the review's verdict", c.post("/v1/reviews/%d/verdict" % review_id,
                                        review_body(b.w.skill_codes()))),
        ("request a review", c.post("/v1/defenses/%d/reviews" % b.defense["id"], {})),
    ]


def test_the_original_evaluator_learns_nothing_of_the_review(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    worlds = {v: BlindWorld(admin, inst, pool, psql, v) for v in VERDICTS}
    seen = {}
    for v, b in worlds.items():
        review = b.review
        pending = original_evaluator_calls(b, review["id"])
        assert b.submit_review().status == 200
        submitted = original_evaluator_calls(b, review["id"])
        for label, r in pending + submitted:
            text = r.body.decode("utf-8", "replace")
            for s in (b.review_marker, b.reviewer["name"], b.reviewer["email"]):
                assert s not in text, "%s: the original evaluator sees %r in %r" % (label, s, text)
            assert user_id_leaks(r, b.reviewer["id"]) == [], (label, text)
            leaked = REVIEW_KEYS & set(keys_of(body_json(r)))
            assert not leaked, "%s: keys %r in %r" % (label, leaked, text)
        answers = dict(submitted)
        assert answers["reviews mine"].status == 200 and answers["reviews mine"].json() == []
        assert answers["defenses mine"].status == 200 and answers["defenses mine"].json() == []
        for label in ("reviews all", "disagreements", "open disagreements",
                      "resolved disagreements", "calibration", "own calibration",
                      "reviewer's calibration", "user: the reviewer", "request a review"):
            assert_problem(answers[label], 403)
        assert_problem(answers["enrollment"], 404)
        # The review is someone else's: the same 404 as a review that does not exist.
        missing = b.orig_c.post("/v1/reviews/%d/verdict" % (1 << 60),
                                review_body(b.w.skill_codes()))
        n = b.normaliser()
        assert n.response(answers["the review's verdict"]) == n.response(missing)
        # Nothing changes for them when the review is submitted (and disagrees, or not).
        n1, n2 = b.normaliser(), b.normaliser()
        assert [(l, n1.response(r, l)) for l, r in pending] == \
            [(l, n2.response(r, l)) for l, r in submitted]
        n = b.normaliser()
        seen[v] = [(l, n.response(r, l)) for l, r in submitted]
    assert seen["validated"] == seen["needs_improvement"]


def test_a_second_verdict_tells_the_original_evaluator_nothing_of_the_review_or_an_overturn(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    b = BlindWorld(admin, inst, pool, psql, "validated")
    url = "/v1/defenses/%d/verdict" % b.defense["id"]

    def refused_detail():
        r = b.orig_c.post(url, verdict_body(b.w.skill_codes(), "validated"))
        return assert_problem(r, 409)["detail"]

    before = refused_detail()
    assert "the defense is decided" in before and "the attempt to validated" in before, before
    assert b.submit_review().status == 200
    assert refused_detail() == before
    # Pedagogy overturns: the attempt is back in mentoring, which the 409 must not tell.
    g = int(psql("select id from disagreements where defense_id = %d" % b.defense["id"]))
    r = b.pedagogy_c.post("/v1/disagreements/%d/resolve" % g,
                          {"outcome": "original_overturned", "comment": "overturned"})
    assert r.status == 200, r
    assert psql("select state from attempts where id = %d" % b.attempt_id) == "mentoring"
    assert refused_detail() == before


def test_the_verdict_answer_does_not_say_whether_the_verdict_was_sampled(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    sampled_inst = extra_instance(extra_conf=ALL_ONE)
    unsampled_inst = extra_instance(extra_conf=NONE)
    sampled = BlindWorld(admin, sampled_inst, pool, psql, "validated")
    unsampled = BlindWorld(admin, unsampled_inst, pool, psql, "validated")
    assert psql("select sampled from review_samples where defense_id = %d"
                % sampled.defense["id"]) == "t"
    assert psql("select sampled from review_samples where defense_id = %d"
                % unsampled.defense["id"]) == "f"
    assert len(sampled.w.users) == len(unsampled.w.users)
    a, b = sampled.verdict_answer, unsampled.verdict_answer
    assert shape(a.json()) == shape(b.json())
    assert sampled.normaliser().response(a) == unsampled.normaliser().response(b)
    assert not REVIEW_KEYS & set(keys_of(a.json())), a.json()
    assert set(a.json()) == {"defense", "attempt", "enrollment"}, a.json()


def student_and_mentor_views(b):
    out = []
    for who, c in (("student", b.student_c), ("mentor", b.mentor_c)):
        out.append((who + " enrollment", c.get("/v1/enrollments/%d" % b.eid)))
        out.append((who + " notes", c.get("/v1/enrollments/%d/notes" % b.eid)))
    for label, r in out:
        assert r.status == 200, (label, r)
    return out


def assert_no_review_in(b, views):
    for label, r in views:
        text = r.body.decode("utf-8", "replace")
        for s in (b.review_marker, b.reviewer["name"], b.reviewer["email"], "needs_improvement"):
            assert s not in text, "%s: %r in %r" % (label, s, text)
        assert user_id_leaks(r, b.reviewer["id"]) == [], (label, text)
        leaked = REVIEW_KEYS & set(keys_of(body_json(r)))
        assert not leaked, "%s: keys %r in %r" % (label, leaked, text)


def test_the_student_and_mentor_never_see_a_review_only_why_a_project_was_reopened(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    # The original verdict validated, the reviewer says needs_improvement:
    # "needs_improvement" may then appear nowhere the student or mentor look.
    b = BlindWorld(admin, inst, pool, psql, "validated")
    pending = student_and_mentor_views(b)
    assert_no_review_in(b, pending)
    assert b.submit_review().status == 200
    disagreed = student_and_mentor_views(b)
    assert_no_review_in(b, disagreed)
    n1, n2 = b.normaliser(), b.normaliser()
    assert [(l, n1.response(r, l)) for l, r in pending] == \
        [(l, n2.response(r, l)) for l, r in disagreed], "the views changed with the review"
    for label, r in pending[::2]:
        (a,) = r.json()["attempts"]
        assert a["state"] == "validated" and a["reopened_reason"] is None, (label, a)
        assert r.json()["state"] == "awaiting_jury"

    # Pedagogy overturns the validated verdict: the project returns to the mentor.
    g = int(psql("select id from disagreements where defense_id = %d" % b.defense["id"]))
    r = b.pedagogy_c.post("/v1/disagreements/%d/resolve" % g,
                          {"outcome": "original_overturned", "comment": "PEDAGOGY-" + b.tag})
    assert r.status == 200, r
    reopened = student_and_mentor_views(b)
    assert_no_review_in(b, reopened)
    for label, r in reopened[::2]:
        e = r.json()
        assert e["state"] == "in_progress", (label, e)
        (a,) = e["attempts"]
        assert a["state"] == "mentoring", (label, a)
        reason = a["reopened_reason"]
        assert isinstance(reason, str) and reason, (label, a)
        # It explains, naming nobody.
        for person in (b.orig, b.reviewer, b.pedagogy, b.student, b.mentor):
            assert person["name"] not in reason and person["email"] not in reason, reason
            assert not re.search(r"(?<!\d)%d(?!\d)" % person["id"], reason), (person, reason)
        assert b.tag not in reason and "PEDAGOGY" not in reason, reason
        # The original evaluator is still shown on the defense of round 1,
        # as before the review; the reviewer and the pedagogue are not.
        assert user_id_leaks(r, b.reviewer["id"]) == [] and \
            user_id_leaks(r, b.pedagogy["id"]) == [], (label, r.body)


def reviewer_after_next_handover(admin, psql, inst, pool, n_projects):
    """
    In each world, the original evaluator is then declared in conflict with the
    student, so that the reviewer is the only evaluator a handover could draw,
    and the mentor hands over whatever the student works on next (round 2 of
    the project after needs_improvement, the next project after validated).
    Returns {original verdict: the reviewer's normalised answers}.
    """
    seen = {}
    for v in VERDICTS:
        b = BlindWorld(admin, inst, pool, psql, v, n_projects=n_projects)
        assert b.review["reviewer_id"] == b.reviewer["id"]
        declare_conflict(admin, b.orig["id"], b.student["id"])
        mentoring = [a for a in b.w.view(b.eid)["attempts"] if a["state"] == "mentoring"]
        for a in mentoring:
            r = b.mentor_c.post("/v1/attempts/%d/handover" % a["id"], handover_body("work"))
            assert r.status in (200, 409), r
            if r.status == 200:
                assert r.json()["defense"]["evaluator_id"] != b.reviewer["id"], \
                    "the reviewer is drawn to evaluate what follows the defense they review"
        n = b.normaliser()
        seen[v] = [(label, n.response(r, label)) for label, r in
                   (("defenses mine", b.reviewer_c.get("/v1/defenses?mine=1")),
                    ("reviews mine", b.reviewer_c.get("/v1/reviews?mine=1")))]
    return seen


def test_the_reviewer_is_never_drawn_for_a_later_round_of_what_they_review(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    seen = reviewer_after_next_handover(admin, psql, inst, pool, n_projects=1)
    assert seen["validated"] == seen["needs_improvement"]


def test_the_reviewer_is_never_drawn_for_the_next_project_of_what_they_review(
        admin, psql, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=ALL_ONE)
    seen = reviewer_after_next_handover(admin, psql, inst, pool, n_projects=2)
    assert seen["validated"] == seen["needs_improvement"]
