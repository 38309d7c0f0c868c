"""
Non-interference: what someone must not learn does not change a single byte
of what they are answered.

Each test builds worlds that are the same in everything (the same requests
in the same order, on fresh users and paths whose names carry the world's
tag) except one secret, then has an observer call every route of
daemon/routes.c (world_helpers.calls_for: reads first, then every write, then
the reads again) and compares the answers of the worlds after taking out
ids, timestamps, request ids, receipts, UUIDs and the tag
(world_helpers.Normaliser): the status, the content type, the set of header
names, the ETag (a resource's version) and the body must be identical.
Whatever a route let slip about the secret - a field, a count, a version,
a different status or problem detail - would make two worlds differ. Every
write to a versioned resource is also tried with If-Match: "1", so that a
version check cannot answer for a resource the caller may not touch. Each
test also checks, as a control, that someone entitled to the secret is
answered differently: the normaliser does not erase it.

- The blind reviewer R and the first verdict: 6 worlds, the verdict of the
  defense R reviews (validated / needs_improvement) times the first verdict
  of another defense of the same path, evaluator and mentor (absent /
  validated / needs_improvement).
- The original evaluator E and the blind review of their validated
  verdict: 4 worlds, the reviewer agrees, or disagrees and the disagreement
  stays open, is upheld or is overturned (the project then goes back to the
  mentor, who hands it over again).
- The reported student S, their mentor and their evaluator, and a fraud
  report about S: by a confidential reporter A (with a token), by an
  anonymous reporter B, by A and already closed (substantiated, no
  consequence), or none; the subject is not notified.
- The one documented exception: once a certificate is due, an open report
  keeps it "pending" for the student (docs/WORKFLOW.md, credentials).
"""

import json

import pytest

from cfclient import Client
from world_helpers import (MISSING, Normaliser, TaggedWorld, calls_for, first_difference,
                           handover_body, missing_routes, note_body, rate_limits_restore,
                           rate_limits_snapshot, report_body, review_body, skill_codes)

NO_SAMPLING = "review_rate = 0.0\nreport_rate_limit = 100000\nreport_followup_rate_limit = 100000"
VERDICTS = ("validated", "needs_improvement")


@pytest.fixture(autouse=True)
def rate_limits_untouched(psql):
    """The follow-ups these tests try count against 127.0.0.1: put the counters back."""
    snap = rate_limits_snapshot(psql)
    yield
    rate_limits_restore(psql, snap)


@pytest.fixture
def own(stack, admin, extra_instance):
    """(the certflowd of this test, nothing sampled; a Client for the admin on it)."""
    inst = extra_instance(extra_conf=NO_SAMPLING)
    c = Client(inst, token=stack.admin_token)
    yield inst, c
    c.close()


def split(calls):
    reads, writes = [], []
    for variants in calls.values():
        for v in variants:
            (reads if v[1] == "GET" else writes).append(v)
    return reads, writes


def observe(world, observers):
    """
    OBSERVERS: [(name, Client, ctx)]. Every observer makes every read, then
    every write, then every read again: [(label, Response, keep)], keep
    filtering a global list down to the world's own entries.
    """
    plans = []
    for name, c, ctx in observers:
        calls = calls_for(ctx)
        assert missing_routes(calls) == [], "routes without a request: %r" % missing_routes(calls)
        plans.append((name, c, split(calls)))
    out = []
    for phase in ("before", "write", "after"):
        for name, c, (reads, writes) in plans:
            for label, method, url, body, headers in (writes if phase == "write" else reads):
                r = c.request(method, url, body=body, headers=headers)
                keep = None
                if url == "/v1/paths" and r.status == 200:
                    keep = world.own_paths
                out.append(("%s %s: %s" % (phase, name, label), r, keep))
    return out


def normalised(world, answers):
    n = Normaliser({world.tag: "TAG"})
    return [(label, n.response(r, label.split(": ", 1)[1], keep)) for label, r, keep in answers]


def assert_identical(worlds_answers):
    """{world name: normalised answers}: all identical to the first world's."""
    (first, ref), *rest = worlds_answers.items()
    for name, seen in rest:
        assert len(seen) == len(ref), (first, name, len(ref), len(seen))
        for (label, a), (label2, b) in zip(ref, seen):
            assert label == label2, (label, label2)
            assert a == b, "%s: %s and %s differ: %s" % (label, first, name,
                                                          first_difference(a, b))


def assert_distinct(worlds, call, label):
    """
    The control: someone entitled to the secret (CALL(world) -> Response) is
    answered differently in each of WORLDS, once normalised the same way:
    the normaliser does not erase what the tests say is hidden.
    """
    seen = {}
    for w in worlds:
        n = Normaliser({w.tag: "TAG"})
        seen[w.name] = n.response(call(w), label)
    names = list(seen)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert seen[a] != seen[b], "%s: %s and %s look the same: %r" % (label, a, b, seen[a])


def by_label(answers):
    return {label: r for label, r, _ in answers}


class World(TaggedWorld):
    def own_paths(self, paths):
        return [p for p in paths if self.tag in p["code"]]


# --------------------------------------------------------------- the blind reviewer

class BlindWorld(World):
    """
    One path of one project; a mentor of two students S0 and S1; the
    evaluator E, the only one qualified when both projects are handed over,
    so drawn for both defenses D0 and D1; then E decides D0 (V0, with a
    comment), R is qualified and pedagogy asks for a review of D0: R is the
    only one eligible (not E, not the mentor, not a student). Last, the
    secret: E decides D1 with V1, or leaves it pending (V1 None). Nothing is
    sampled (review_rate = 0), so the only review is R's.
    """

    def __init__(self, admin, target, v0, v1):
        super().__init__(admin, target, prefix="nb")
        self.v0, self.v1 = v0, v1
        for label, roles in (("mentor", ["mentor"]), ("student 0", ["student"]),
                             ("student 1", ["student"]), ("evaluator", ["evaluator"]),
                             ("reviewer", ["evaluator"]), ("pedagogy", ["pedagogy"])):
            self.user(label, roles)
        p = self.path_ = self.path(n_projects=1)
        self.codes = skill_codes(p)
        self.qualify("evaluator", p)
        self.e0 = self.enroll("student 0", "mentor", p)
        self.e1 = self.enroll("student 1", "mentor", p)
        for e in (self.e0, self.e1):
            r = self.c("mentor").post("/v1/enrollments/%d/notes" % e["id"], note_body("2031-W10"))
            assert r.status == 201, r
        self.a0 = self.e0["attempts"][0]["id"]
        self.a1 = self.e1["attempts"][0]["id"]
        self.d0 = self.handover("mentor", self.a0)
        self.d1 = self.handover("mentor", self.a1)
        assert self.d0["evaluator_id"] == self.d1["evaluator_id"] == self.id("evaluator")
        self.verdict("evaluator", self.d0, self.codes, v0, comment="ORIGINAL-" + self.tag)
        self.qualify("reviewer", p)
        r = self.c("pedagogy").post("/v1/defenses/%d/reviews" % self.d0["id"], {})
        assert r.status == 201, r
        self.review = r.json()
        assert self.review["reviewer_id"] == self.id("reviewer"), self.review
        if v1 is not None:
            self.verdict("evaluator", self.d1, self.codes, v1, comment="FIRST-" + self.tag)

    @property
    def name(self):
        return "V0=%s V1=%s" % (self.v0, self.v1 or "absent")

    def ctx(self):
        return {"tag": self.tag, "me": self.id("reviewer"),
                "users": {label: u["id"] for label, (u, _) in self.users.items()},
                "path": self.path_["id"], "codes": self.codes,
                "enrollments": [self.e0["id"], self.e1["id"]], "attempts": [self.a0, self.a1],
                "defenses": [self.d0["id"], self.d1["id"]], "reviews": [self.review["id"]],
                "evaluators": [self.id("evaluator"), self.id("reviewer")],
                "student": self.id("student 1"), "mentor": self.id("mentor"),
                "evaluator": self.id("evaluator")}


def assert_the_reviewer_was_answered(w, answers):
    """The answers mean something: R is a reviewer with one review to do, and does it."""
    a = by_label(answers)
    assert a["before reviewer: me"].status == 200
    queue = a["before reviewer: reviews mine"]
    assert queue.status == 200 and [x["id"] for x in queue.json()] == [w.review["id"]], queue
    assert a["after reviewer: reviews mine"].json() == []
    assert a["write reviewer: review 0: submit"].status == 200
    assert a["write reviewer: review 0: submit again"].status == 409
    assert a["write reviewer: review 0: no body"].status == 422
    for i in (0, 1):
        assert a["before reviewer: enrollment %d" % i].status == 404
        assert a["write reviewer: verdict %d" % i].status == 403
    assert a["before reviewer: user reviewer"].status == 200
    assert a["before reviewer: user evaluator"].status == 403
    assert a["before reviewer: path"].status == 200
    text = b"".join(r.body for _, r, _ in answers)
    for secret in (b"ORIGINAL-", b"FIRST-", b"needs_improvement",
                   w.users["evaluator"][0]["email"].encode()):
        assert secret not in text, secret


def test_the_blind_reviewer_learns_nothing_of_any_first_verdict(own, psql):
    """
    A review exists only once its defense is decided (POST
    /v1/defenses/{id}/reviews answers 409 for a pending one, checked below),
    so "the first verdict is absent" cannot be a world in which R reviews a
    defense without a verdict. The secret is therefore split in two:

    - V0, the verdict of the defense D0 that R reviews: validated or
      needs_improvement (absent is impossible: then there is no review);
    - V1, the first verdict of D1, a defense of the same path, evaluator and
      mentor that R does not review: absent, validated or needs_improvement.

    The six worlds (V0 x V1) answer R identically on every route: R's review
    queue, R's verdict (which opens a disagreement in the V0 = validated
    worlds only), every read R may make and every refusal, before and after
    R submits. In particular R cannot tell whether D1 has a verdict at all.
    """
    inst, admin = own
    worlds = [BlindWorld(admin, inst, v0, v1) for v0 in VERDICTS
              for v1 in (None,) + VERDICTS]
    try:
        seen = {}
        for w in worlds:
            answers = observe(w, [("reviewer", w.c("reviewer"), w.ctx())])
            assert_the_reviewer_was_answered(w, answers)
            seen[w.name] = normalised(w, answers)
        assert_identical(seen)

        # The worlds really differ behind R's back, and whoever may know sees it.
        for v0 in VERDICTS:
            same_v0 = [w for w in worlds if w.v0 == v0]
            assert_distinct(same_v0, lambda w: w.c("pedagogy").get(
                "/v1/enrollments/%d" % w.e1["id"]), "pedagogy reads enrollment 1")
        assert_distinct([w for w in worlds if w.v1 is None],
                        lambda w: w.c("pedagogy").get("/v1/enrollments/%d" % w.e0["id"]),
                        "pedagogy reads enrollment 0")
        for w in worlds:
            opened = int(psql("select count(*) from disagreements where defense_id = %d"
                              % w.d0["id"]))
            assert opened == (1 if w.v0 == "validated" else 0), (w.name, opened)
            state = psql("select state || ':' || coalesce(verdict, '-') from defenses "
                         "where id = %d" % w.d1["id"])
            assert state == ("pending:-" if w.v1 is None else "decided:" + w.v1), (w.name, state)
            assert psql("select count(*) from reviews where defense_id = %d" % w.d1["id"]) == "0"

        # Absent: no review of a pending defense can be asked for, and R's
        # queue says nothing more than before.
        for w in worlds:
            if w.v1 is not None:
                continue
            before = w.c("reviewer").get("/v1/reviews?mine=1")
            r = w.c("pedagogy").post("/v1/defenses/%d/reviews" % w.d1["id"], {})
            assert r.status == 409, r
            after = w.c("reviewer").get("/v1/reviews?mine=1")
            n = Normaliser({w.tag: "TAG"})
            assert n.response(before, "q") == n.response(after, "q")
            assert psql("select count(*) from reviews where defense_id = %d" % w.d1["id"]) == "0"
    finally:
        for w in worlds:
            w.close()


# --------------------------------------------------------------- the original evaluator

OUTCOMES = (("agree", None), ("disagree", None), ("disagree", "original_upheld"),
            ("disagree", "original_overturned"))


class OriginalWorld(World):
    """
    One path of one project; the evaluator E, the only one qualified at the
    handover of student S's project, validates it (with a comment). R is
    then qualified and pedagogy asks for a review of it: R is the only one
    eligible. F is qualified and drawn for student T's defense (E and R are
    in declared conflict with T), so that F has one open defense where E
    has none. Last, the secret: R agrees, or disagrees and pedagogy leaves
    the disagreement open, upholds or overturns E's verdict; after an
    overturn the mentor hands the project over again, and the draw, which
    would pick E (the least loaded) if E could be drawn, picks F. Nothing
    is sampled (review_rate = 0), so the only review is R's.
    """

    def __init__(self, admin, target, psql, review, outcome):
        super().__init__(admin, target, prefix="no")
        self.review_verdict, self.outcome = review, outcome
        for label, roles in (("mentor", ["mentor"]), ("student", ["student"]),
                             ("student T", ["student"]), ("evaluator", ["evaluator"]),
                             ("reviewer", ["evaluator"]), ("loaded", ["evaluator"]),
                             ("pedagogy", ["pedagogy"])):
            self.user(label, roles)
        p = self.path_ = self.path(n_projects=1)
        self.codes = skill_codes(p)
        self.qualify("evaluator", p)
        self.e = self.enroll("student", "mentor", p)
        r = self.c("mentor").post("/v1/enrollments/%d/notes" % self.e["id"], note_body("2031-W10"))
        assert r.status == 201, r
        self.a = self.e["attempts"][0]["id"]
        self.d = self.handover("mentor", self.a)
        assert self.d["evaluator_id"] == self.id("evaluator")
        self.verdict("evaluator", self.d, self.codes, "validated", comment="ORIGINAL-" + self.tag)
        self.qualify("reviewer", p)
        r = self.c("pedagogy").post("/v1/defenses/%d/reviews" % self.d["id"], {})
        assert r.status == 201 and r.json()["reviewer_id"] == self.id("reviewer"), r
        self.review = r.json()
        self.qualify("loaded", p)
        for who in ("evaluator", "reviewer"):
            r = admin.post("/v1/conflicts", {"evaluator_id": self.id(who),
                                             "student_id": self.id("student T"),
                                             "reason": "former colleague"})
            assert r.status == 201, r
        t = self.enroll("student T", "mentor", p)
        assert self.handover("mentor", t["attempts"][0]["id"])["evaluator_id"] == self.id("loaded")
        codes, verdict = self.codes, ("validated" if review == "agree" else "needs_improvement")
        r = self.c("reviewer").post("/v1/reviews/%d/verdict" % self.review["id"], review_body(
            codes, verdict, () if review == "agree" else (codes[0],), "REVIEW-" + self.tag))
        assert r.status == 200, r
        if outcome is not None:
            g = int(psql("select id from disagreements where defense_id = %d" % self.d["id"]))
            r = self.c("pedagogy").post("/v1/disagreements/%d/resolve" % g,
                                        {"outcome": outcome, "comment": "RESOLVED-" + self.tag})
            assert r.status == 200, r
        self.second = self.c("mentor").post("/v1/attempts/%d/handover" % self.a,
                                            handover_body("round2"))

    @property
    def name(self):
        return "review %s, %s" % (self.review_verdict, self.outcome or "no resolution")

    def ctx(self):
        return {"tag": self.tag, "me": self.id("evaluator"),
                "users": {label: u["id"] for label, (u, _) in self.users.items()},
                "path": self.path_["id"], "codes": self.codes, "enrollments": [self.e["id"]],
                "attempts": [self.a], "defenses": [self.d["id"]],
                "reviews": [self.review["id"]],
                "evaluators": [self.id("evaluator"), self.id("reviewer")],
                "student": self.id("student"), "mentor": self.id("mentor"),
                "evaluator": self.id("evaluator")}


def assert_the_original_evaluator_was_answered(w, answers):
    """The answers mean something: E is an evaluator whose queue is empty."""
    a = by_label(answers)
    assert a["before evaluator: me"].status == 200
    for phase in ("before", "after"):
        assert a["%s evaluator: defenses mine" % phase].json() == []
        assert a["%s evaluator: reviews mine" % phase].json() == []
        assert a["%s evaluator: enrollment 0" % phase].status == 404
        assert a["%s evaluator: calibration 0" % phase].status == 403
        assert a["%s evaluator: disagreements" % phase].status == 403
    assert a["write evaluator: verdict 0"].status == 409
    assert a["write evaluator: review 0: submit"].status == 404
    text = b"".join(r.body for _, r, _ in answers)
    for secret in (b"REVIEW-", b"RESOLVED-", b"needs_improvement", b"overturned",
                   w.users["reviewer"][0]["email"].encode()):
        assert secret not in text, secret


def test_the_original_evaluator_learns_nothing_of_the_review_or_its_outcome(own, psql):
    """
    Four worlds: the blind review of E's validated verdict agrees, or
    disagrees and pedagogy leaves it open, upholds or overturns E's verdict.
    After an overturn the project is back with the mentor, who hands it over
    again: a new round drawn for E would tell E that the verdict fell, so
    the draw leaves E out (docs/REVIEW.md, "Who reviews"). E calls every
    route - reads, every write, the reads again - and is answered
    identically in the four worlds.
    """
    inst, admin = own
    worlds = [OriginalWorld(admin, inst, psql, review, outcome) for review, outcome in OUTCOMES]
    try:
        seen = {}
        for w in worlds:
            answers = observe(w, [("evaluator", w.c("evaluator"), w.ctx())])
            assert_the_original_evaluator_was_answered(w, answers)
            seen[w.name] = normalised(w, answers)
        assert_identical(seen)

        # Behind E's back the worlds differ, and whoever may know sees it.
        assert_distinct(worlds[:2] + worlds[3:], lambda w: w.c("pedagogy").get(
            "/v1/evaluators/%d/calibration" % w.id("evaluator")), "E's calibration")
        for w in worlds:
            g = psql("select state || ':' || coalesce(outcome, '-') from disagreements "
                     "where defense_id = %d" % w.d["id"])
            want = {("agree", None): "", ("disagree", None): "open:-"}.get(
                (w.review_verdict, w.outcome), "resolved:%s" % w.outcome)
            assert g == want, (w.name, g)
            if w.outcome == "original_overturned":
                assert w.second.status == 200, w.second
                assert w.second.json()["defense"]["evaluator_id"] == w.id("loaded")
            else:
                assert w.second.status == 409, w.second
    finally:
        for w in worlds:
            w.close()


# --------------------------------------------------------------- the reported student

class ReportWorld(World):
    """
    A diploma path of two projects; the student S, their mentor, the
    evaluator E (the only one qualified at the handovers: drawn for both),
    a second evaluator "reviewer" qualified afterwards, pedagogy and a user
    "reporter A". S's first project is validated and the second handed over:
    E has S's defense D2 to decide. Then the secret: a fraud report about S's
    enrollment and its project p2, by reporter A with a token (confidential),
    by an anonymous reporter B, by A and already closed as substantiated
    without consequence, or none. Nobody notifies S.

    A report on the project makes E's verdict on it certain to be reviewed
    (docs/REVIEW.md, fraud_report): with a report, the verdict E records
    during the observation opens a review for "reviewer"; without, nothing
    is sampled (review_rate = 0). S, the mentor and E see none of it.
    """

    def __init__(self, admin, target, psql, reporter):
        super().__init__(admin, target, prefix="nr")
        self.reporter = reporter
        for label, roles in (("mentor", ["mentor"]), ("student", ["student"]),
                             ("evaluator", ["evaluator"]), ("reviewer", ["evaluator"]),
                             ("pedagogy", ["pedagogy"]), ("reporter A", ["student"])):
            self.user(label, roles)
        p = self.path_ = self.path(n_projects=2)
        self.codes = skill_codes(p, 2)
        self.qualify("evaluator", p)
        self.e = self.enroll("student", "mentor", p)
        self.eid = self.e["id"]
        r = self.c("mentor").post("/v1/enrollments/%d/notes" % self.eid, note_body("2031-W10"))
        assert r.status == 201, r
        self.a1, self.a2 = (a["id"] for a in self.e["attempts"])
        self.d1 = self.handover("mentor", self.a1)
        self.verdict("evaluator", self.d1, skill_codes(p, 1))
        self.d2 = self.handover("mentor", self.a2)
        assert self.d1["evaluator_id"] == self.d2["evaluator_id"] == self.id("evaluator")
        self.qualify("reviewer", p)
        self.report = None
        if reporter is not None:
            body = report_body(enrollment_id=self.eid, project_code="p2",
                               text="REPORT-%s: the second project was copied" % self.tag)
            if reporter.startswith("A"):
                r = self.c("reporter A").post("/v1/reports", body)
            else:
                with Client(target) as anonymous:
                    r = anonymous.post("/v1/reports", body)
            assert r.status == 201, r
            self.report = int(psql("select entity_id from audit_log where action = "
                                   "'report.receive' and request_id = '%s'"
                                   % r.headers["X-Request-Id"]))
            if reporter == "A closed":
                r = self.c("pedagogy").post("/v1/reports/%d/close" % self.report,
                                            {"outcome": "substantiated", "consequence": "none",
                                             "feedback": "FEEDBACK-" + self.tag})
                assert r.status == 200, r
            kind = psql("select kind || ':' || enrollment_id || ':' || project_code "
                        "|| ':' || (subject_notified_at is null) from reports where id = %d"
                        % self.report)
            assert kind == "%s:%d:p2:true" % (
                "confidential" if reporter.startswith("A") else "anonymous", self.eid), kind

    @property
    def name(self):
        return {"A": "reported by A (confidential)", "B": "reported by B (anonymous)",
                "A closed": "reported by A, substantiated, closed, not notified",
                None: "not reported"}[self.reporter]

    def ctx(self, me):
        ctx = {"tag": self.tag, "me": self.id(me),
               "users": {label: u["id"] for label, (u, _) in self.users.items()},
               "path": self.path_["id"], "codes": self.codes, "enrollments": [self.eid],
               "attempts": [self.a1, self.a2], "defenses": [self.d1["id"], self.d2["id"]],
               "evaluators": [self.id("evaluator"), self.id("reviewer")],
               "student": self.id("student"), "mentor": self.id("mentor"),
               "evaluator": self.id("evaluator")}
        if self.report is not None:
            ctx["report"] = self.report
        return ctx

    def observers(self):
        return [(who, self.c(who), self.ctx(who)) for who in ("student", "mentor", "evaluator")]


def assert_the_subjects_were_answered(w, answers):
    a = by_label(answers)
    for who in ("student", "mentor"):
        for phase in ("before", "after"):
            v = a["%s %s: enrollment 0" % (phase, who)]
            assert v.status == 200, v
            assert v.json()["reports"] == [], v.json()
            assert a["%s %s: notes 0" % (phase, who)].status == 200
        assert a["before %s: enrollment 0" % who].json()["state"] == "in_progress"
        assert a["after %s: enrollment 0" % who].json()["state"] == "awaiting_jury"
        assert a["before %s: enrollment 0" % who].json()["credential"] is None
    assert a["write mentor: write a note 0"].status == 201
    assert a["before evaluator: enrollment 0"].status == 404
    queue = a["before evaluator: defenses mine"]
    assert queue.status == 200 and [d["id"] for d in queue.json()] == [w.d2["id"]], queue
    assert a["write evaluator: verdict 1"].status == 200
    assert a["after evaluator: defenses mine"].json() == []
    for who in ("student", "mentor", "evaluator"):
        assert a["before %s: reports" % who].status == 403
        assert a["before %s: report by id" % who].status == 403
        assert a["before %s: alerts" % who].status == 403
    text = b"".join(r.body for _, r, _ in answers)
    assert b"REPORT-" not in text and b"FEEDBACK-" not in text
    assert w.users["reporter A"][0]["email"].encode() not in text


def test_the_reported_student_their_mentor_and_evaluator_learn_nothing_of_a_report(own, psql):
    """
    Four worlds: a report about S's enrollment and project by A (a user,
    confidential), by B (anonymous), by A and closed (substantiated, no
    consequence), or none; never notified to S. S, S's
    mentor and S's evaluator call every route - reads, every write (the
    mentor's note, E's verdict on the reported project, which the report
    makes certain to be reviewed) and the reads again - and are answered
    identically in the four worlds. The enrollment stays where no
    credential is due (a diploma awaiting its jury): the one exception,
    the pending certificate, has its own test below.
    """
    inst, admin = own
    worlds = [ReportWorld(admin, inst, psql, reporter)
              for reporter in ("A", "B", "A closed", None)]
    try:
        seen = {}
        for w in worlds:
            answers = observe(w, w.observers())
            assert_the_subjects_were_answered(w, answers)
            seen[w.name] = normalised(w, answers)
        assert_identical(seen)
        # Behind their backs, the report made E's verdict reviewed, and
        # whoever may know sees it.
        assert_distinct([worlds[0], worlds[3]],
                        lambda w: w.c("reviewer").get("/v1/reviews?mine=1"),
                        "the second evaluator's review queue")
        assert_distinct(worlds[:3], lambda w: w.c("pedagogy").get("/v1/reports/%d" % w.report),
                        "pedagogy reads the report")
        for w in worlds:
            reviews = psql("select count(*) from reviews where defense_id = %d" % w.d2["id"])
            open_report = w.reporter in ("A", "B")
            assert reviews == ("1" if open_report else "0"), (w.name, reviews)
    finally:
        for w in worlds:
            w.close()


# --------------------------------------------------------------- the documented exception

class CertificateWorld(World):
    """A certificate of one project; a report about it by A, by B or none; then completed."""

    def __init__(self, admin, target, psql, reporter):
        super().__init__(admin, target, prefix="nc")
        self.reporter = reporter
        for label, roles in (("mentor", ["mentor"]), ("student", ["student"]),
                             ("evaluator", ["evaluator"]), ("reporter A", ["student"])):
            self.user(label, roles)
        p = self.path_ = self.path(n_projects=1)
        self.qualify("evaluator", p)
        self.e = self.enroll("student", "mentor", p, projects=["p1"])
        self.eid = self.e["id"]
        if reporter is not None:
            body = report_body(enrollment_id=self.eid, project_code="p1")
            if reporter == "A":
                r = self.c("reporter A").post("/v1/reports", body)
            else:
                with Client(target) as anonymous:
                    r = anonymous.post("/v1/reports", body)
            assert r.status == 201, r
        d = self.handover("mentor", self.e["attempts"][0]["id"])
        out = self.verdict("evaluator", d, skill_codes(p))
        assert out["enrollment"]["state"] == "completed", out


def test_an_open_report_shows_only_as_a_pending_certificate(own, psql):
    """
    The documented exception to the non-interference of reports: a
    completed certificate is issued at once, unless a report about the
    enrollment is open - then the student (and the mentor) read
    {"state": "pending"} and no credential_id, never why. It is the same
    whoever reported, confidentially or anonymously; and it is the only
    difference from the world without a report.
    """
    inst, admin = own
    worlds = {rep: CertificateWorld(admin, inst, psql, rep) for rep in ("A", "B", None)}
    try:
        views = {}
        for rep, w in worlds.items():
            for who in ("student", "mentor"):
                r = w.c(who).get("/v1/enrollments/%d" % w.eid)
                assert r.status == 200, r
                views[rep, who] = (w, r)
        for who in ("student", "mentor"):
            # The reporter's kind does not show.
            na = normalised(views["A", who][0], [("x: " + who, views["A", who][1], None)])
            nb = normalised(views["B", who][0], [("x: " + who, views["B", who][1], None)])
            assert na == nb, first_difference(na[0][1], nb[0][1])
            with_report = views["A", who][1].json()
            without = views[None, who][1].json()
            assert with_report["credential"] == {"state": "pending"}, with_report
            assert with_report["credential_id"] is None
            assert without["credential"]["state"] == "issued", without
            assert isinstance(without["credential_id"], str)
            assert "report" not in json.dumps(with_report["credential"])
            assert with_report["reports"] == [] == without["reports"]
            # Nothing else differs.
            rest = [{k: v for k, v in x.items() if k not in ("credential", "credential_id")}
                    for x in (with_report, without)]
            n1 = Normaliser({views["A", who][0].tag: "TAG"})
            n2 = Normaliser({views[None, who][0].tag: "TAG"})
            a = json.dumps(n1._walk(rest[0], who))
            b = json.dumps(n2._walk(rest[1], who))
            assert a == b, first_difference((a,), (b,))
    finally:
        for w in worlds.values():
            w.close()


def test_every_route_has_a_request():
    """calls_for covers the whole route table: a new route must say how it is called."""
    assert missing_routes(calls_for({"tag": "t", "me": MISSING})) == []
