"""
The route x role matrix: every route of daemon/routes.c (read from the
source: a route added there without an expectation here fails
test_every_route_has_an_expectation), called by each kind of caller, with
the ids of a real world and bodies that pass validation, so that the status
says who may do what - never that a field is wrong:

  anonymous        no token
  student          the student of the world's enrollments
  mentor           their mentor
  evaluator        the evaluator drawn for the student's pending defense
  reviewer         a blind reviewer: an evaluator with a pending review of
                   the student's first, decided defense
  jury             a member of the jury session that holds the student's case
  other student, other mentor, other evaluator (qualified on the path, drawn
  for nothing), other jury (a member of no session): the same roles, but the
  resource is someone else's
  pedagogy, admin

Expected: 401 without a token on a route that needs one; 403 for a role the
route does not take; 404 for a resource that is not the caller's to see
(another student's or mentor's, a review, a defense or a jury case that is
someone else's), byte for byte the answer for an id that does not exist;
2xx for the roles the route is for. A call that succeeds changes the world:
each allowed caller of a write gets a resource of its own (Case.prepare),
the refused ones share one, and a refusal changes nothing (no audit row
carries a refused request's id: every change writes one in its transaction).
Errors are problem documents with their status.

Statuses that differ from that rule in the product today are listed in
KNOWN_BUGS: their route's test is an expected failure (strict: it fails
once the product is fixed, so that the entry is removed) and any other
difference still fails it.
"""

import itertools
import uuid

import pytest

from cfclient import Client
from world_helpers import (MISSING, SCHEDULED_AT, Normaliser, OwnInstance, TaggedWorld,
                           handover_body, note_body, path_body, rate_limits_restore,
                           rate_limits_snapshot, report_body, review_body, route_table,
                           skill_codes, verdict_body)

ROLES = ("anonymous", "student", "mentor", "evaluator", "reviewer", "jury",
         "other student", "other mentor", "other evaluator", "other jury", "pedagogy", "admin")
EVALUATORS = ("evaluator", "reviewer", "other evaluator")

# No verdict is sampled (every review is asked for); no rate limit; pedagogy
# may close a case after one vote.
SETTINGS = {"review_rate": "0.0", "report_rate_limit": "100000",
            "report_followup_rate_limit": "100000", "jury_quorum": "1"}


class KnownBug(Exception):
    """Raised when the only differences from the matrix are those of KNOWN_BUGS."""


# (method, pattern, case label, role) -> (status the product answers today, why it is wrong)
# Empty. Four writes answer 403, not 404, to a caller of the right role acting
# on someone else's resource, by contract: the validation-loop issue names
# "the mentor of another student" and "another evaluator posting the verdict"
# as 403 role denials, and the jury issue "non-members -> 403" for votes. The
# reads keep the rule that another's resource is 404.
KNOWN_BUGS = {}


def expect(default=403, anonymous=401, **over):
    """Expected status per role: DEFAULT, 401 without a token, OVER (other_mentor=...)."""
    e = {r: default for r in ROLES}
    e["anonymous"] = anonymous
    for k, v in over.items():
        k = k.replace("_", " ")
        assert k in e, k
        e[k] = v
    return e


def everyone(status):
    return expect(default=status, anonymous=status)


class Case:
    """
    One way to call a route: URL(world, ctx, role) and BODY(world, ctx, role)
    (None: no body), the expected status per role, and PREPARE(world) -> ctx,
    the resource the call acts on (called once for the refused callers, and
    once more for each caller expected to succeed). MISSING: the same URL
    with an id that does not exist; a caller answered 404 must get the same
    answer there (normalised), so that a 404 says nothing of the resource.
    """

    def __init__(self, url, expected, body=None, prepare=None, label="", missing=None):
        self.url = url
        self.body = body
        self.expected = expected
        self.prepare = prepare
        self.label = label
        self.missing = missing     # the URL with an id no row has: its 404 is the same


# --------------------------------------------------------------- the world

class MatrixWorld(TaggedWorld):
    def __init__(self, stack, inst, psql):
        admin = Client(inst, token=stack.admin_token)
        super().__init__(admin, inst, prefix="mx")
        self.psql = psql
        self.serial = itertools.count(1)
        self.anonymous = Client(inst)
        self.clients.extend([admin, self.anonymous])
        for label, roles, cat in (
                ("student", ["student"], None), ("mentor", ["mentor"], None),
                ("evaluator", ["evaluator"], None), ("reviewer", ["evaluator"], None),
                ("jury", ["jury"], "expert"), ("jury 2", ["jury"], "recruiter"),
                ("jury 3", ["jury"], "pedagogy"), ("jury 4", ["jury"], "mentor"),
                ("other student", ["student"], None), ("other mentor", ["mentor"], None),
                ("other evaluator", ["evaluator"], None), ("other jury", ["jury"], "expert"),
                ("pedagogy", ["pedagogy"], None), ("spare", ["student"], None),
                ("subject", ["student"], None)):
            self.user(label, roles, jury_category=cat)

        # The student's diploma on P: p1 validated by the evaluator and under
        # blind review by the reviewer; p2 handed over, its defense pending
        # with the evaluator (a reviewer of p1 is never drawn for it).
        self.p = self.path(n_projects=2)
        self.qualify("evaluator", self.p)
        self.e1 = self.enroll("student", "mentor", self.p)
        r = self.c("mentor").post("/v1/enrollments/%d/notes" % self.e1["id"], note_body("2031-W10"))
        assert r.status == 201, r
        a1, a2 = (a["id"] for a in self.e1["attempts"])
        d1 = self.handover("mentor", a1)
        self.verdict("evaluator", d1, skill_codes(self.p, 1))
        self.qualify("reviewer", self.p)
        r = self.c("pedagogy").post("/v1/defenses/%d/reviews" % d1["id"], {})
        assert r.status == 201 and r.json()["reviewer_id"] == self.id("reviewer"), r
        self.d2 = self.handover("mentor", a2)
        assert self.d2["evaluator_id"] == self.id("evaluator"), self.d2
        self.qualify("other evaluator", self.p)

        # The student's diploma on PJ, awaiting the jury: a case in a session.
        self.pj = self.new_path(qualify=("evaluator",))
        self.session = self.new_session()
        self.case = self.new_case()

        # The student's certificate on PC, completed: its credential.
        self.pc = self.new_path(qualify=("evaluator",))
        self.e3, self.credential = self.new_certificate()
        r = self.anonymous.get("/v1/credentials/%s/status" % self.credential)
        assert r.status == 200, r
        self.status_list = r.json()["status_list"]

        # A report about no one in particular, and its receipt; an enrollment
        # for reports to be linked to.
        self.report, self.receipt = self.new_report()
        self.e_subject = self.enroll("subject", "mentor", self.pc)
        # A path on which nothing is ever drawn, for new qualifications.
        self.pq = self.new_path()

    # ----------------------------------------------------------- resources

    def client(self, role):
        if role == "anonymous":
            return self.anonymous
        if role == "admin":
            return self.admin
        return self.c(role)

    def fresh_user(self, roles, label="fresh"):
        n = next(self.serial)
        body = {"name": "%s %d %s" % (label, n, self.tag),
                "email": "%s-%d-%s@example.test" % (label, n, self.tag), "roles": list(roles)}
        r = self.admin.post("/v1/users", body)
        assert r.status == 201, r
        u = r.json()
        c = Client(self.target, token=u["token"])
        self.clients.append(c)
        return u, c

    def new_path(self, n_projects=1, qualify=()):
        p = self.path(n_projects=n_projects, code="mx-%s-%d" % (self.tag, next(self.serial)))
        for label in qualify:
            self.qualify(label, p)
        return p

    def qualify_user(self, user, path):
        r = self.admin.post("/v1/users/%d/qualifications" % user["id"], {"path_id": path["id"]})
        assert r.status == 201, r

    def new_enrollment(self, path, projects=None):
        """A fresh student enrolled on PATH with the world's mentor."""
        s, _ = self.fresh_user(["student"], "student")
        body = {"student_id": s["id"], "path_id": path["id"], "mentor_id": self.id("mentor")}
        if projects is not None:
            body["projects"] = projects
        r = self.admin.post("/v1/enrollments", body)
        assert r.status == 201, r
        return r.json()

    def new_defense(self, evaluator=None):
        """A fresh path, EVALUATOR (a (user, client) pair, default a fresh one) the only one
        qualified, a fresh student's project handed over: (defense, path, evaluator client)."""
        ev, ev_c = evaluator or self.fresh_user(["evaluator"], "evaluator")
        p = self.new_path()
        self.qualify_user(ev, p)
        e = self.new_enrollment(p)
        r = self.c("mentor").post("/v1/attempts/%d/handover" % e["attempts"][0]["id"],
                                  handover_body())
        assert r.status == 200, r
        d = r.json()["defense"]
        assert d["evaluator_id"] == ev["id"], d
        return d, p, ev_c

    def decided_defense(self):
        d, p, ev_c = self.new_defense()
        r = ev_c.post("/v1/defenses/%d/verdict" % d["id"], verdict_body(skill_codes(p)))
        assert r.status == 200, r
        return d, p

    def new_review(self):
        """A decided defense of a fresh path and the reviewer's review of it."""
        d, p = self.decided_defense()
        self.qualify("reviewer", p)
        r = self.c("pedagogy").post("/v1/defenses/%d/reviews" % d["id"], {})
        assert r.status == 201 and r.json()["reviewer_id"] == self.id("reviewer"), r
        return {"review": r.json()["id"], "defense": d["id"], "codes": skill_codes(p)}

    def new_disagreement(self):
        x = self.new_review()
        r = self.c("reviewer").post("/v1/reviews/%d/verdict" % x["review"],
                                    review_body(x["codes"], "needs_improvement", x["codes"][:1]))
        assert r.status == 200, r
        r = self.c("pedagogy").get("/v1/disagreements?state=open")
        assert r.status == 200, r
        (g,) = [g for g in r.json() if g["defense_id"] == x["defense"]]
        return {"disagreement": g["id"]}

    def awaiting_jury(self):
        """A fresh student's diploma on PJ, validated by the evaluator: awaiting the jury."""
        e = self.new_enrollment(self.pj)
        r = self.c("mentor").post("/v1/attempts/%d/handover" % e["attempts"][0]["id"],
                                  handover_body())
        assert r.status == 200 and r.json()["defense"]["evaluator_id"] == self.id("evaluator"), r
        r = self.c("evaluator").post("/v1/defenses/%d/verdict" % r.json()["defense"]["id"],
                                     verdict_body(skill_codes(self.pj)))
        assert r.status == 200 and r.json()["enrollment"]["state"] == "awaiting_jury", r
        return e

    def new_session(self):
        r = self.c("pedagogy").post("/v1/jury-sessions", self.session_body())
        assert r.status == 201, r
        return r.json()["id"]

    def session_body(self):
        return {"path_id": self.pj["id"], "scheduled_at": SCHEDULED_AT,
                "members": [self.id(j) for j in ("jury", "jury 2", "jury 3", "jury 4")]}

    def new_case(self, enrollment=None):
        if enrollment is None:
            # the world's student: the jury members never met them
            enrollment = self.enroll("student", "mentor", self.pj)
            r = self.c("mentor").post("/v1/attempts/%d/handover" % enrollment["attempts"][0]["id"],
                                      handover_body())
            assert r.status == 200, r
            r = self.c("evaluator").post("/v1/defenses/%d/verdict" % r.json()["defense"]["id"],
                                         verdict_body(skill_codes(self.pj)))
            assert r.status == 200 and r.json()["enrollment"]["state"] == "awaiting_jury", r
        r = self.c("pedagogy").post("/v1/jury-sessions/%d/cases" % self.session,
                                    {"enrollment_id": enrollment["id"]})
        assert r.status == 201, r
        return r.json()["id"]

    def voted_case(self, decision):
        case = self.new_case(self.awaiting_jury())
        r = self.c("jury").post("/v1/jury-cases/%d/votes" % case,
                                {"decision": decision, "comment": "my vote"})
        assert r.status == 200, r
        return case

    def new_certificate(self, student="student"):
        """The certificate of one project of PC, completed: (enrollment, credential id)."""
        if student == "student":
            e = self.enroll("student", "mentor", self.pc, projects=["p1"])
        else:
            e = self.new_enrollment(self.pc, projects=["p1"])
        r = self.c("mentor").post("/v1/attempts/%d/handover" % e["attempts"][0]["id"],
                                  handover_body())
        assert r.status == 200, r
        r = self.c("evaluator").post("/v1/defenses/%d/verdict" % r.json()["defense"]["id"],
                                     verdict_body(skill_codes(self.pc)))
        assert r.status == 200 and r.json()["enrollment"]["state"] == "completed", r
        cid = self.view(e["id"])["credential_id"]
        assert cid, self.view(e["id"])
        return e, cid

    def new_report(self, enrollment_id=None):
        body = report_body(enrollment_id=enrollment_id,
                           description=None if enrollment_id else "a student of %s" % self.tag)
        r = self.anonymous.post("/v1/reports", body)
        assert r.status == 201, r
        rid = int(self.psql("select entity_id from audit_log where action = 'report.receive' "
                            "and request_id = '%s'" % r.headers["X-Request-Id"]))
        return rid, r.json()["receipt"]


# --------------------------------------------------------------- the expectations

def u(fmt, *keys):
    """A URL from FMT and world attributes or ctx entries named by KEYS."""
    def url(w, ctx, role):
        return fmt % tuple(ctx[k] if k in ctx else getattr(w, k) for k in keys)
    return url


def fixed(body):
    return lambda w, ctx, role: body


def unique_user_body(w, ctx, role):
    n = uuid.uuid4().hex[:8]
    return {"name": "Created %s" % n, "email": "created-%s-%s@example.test" % (n, w.tag),
            "roles": ["student"]}


def readers_of_enrollments():
    return expect(default=404, student=200, mentor=200, pedagogy=200, admin=200)


def readers_of_cases():
    return expect(default=404, jury=200, pedagogy=200)


STAFF = dict(pedagogy=200, admin=200)

SPEC = {
    ("GET", "/healthz"): [Case(u("/healthz"), everyone(200))],
    ("GET", "/metrics"): [Case(u("/metrics"), everyone(200))],
    ("GET", "/v1/me"): [Case(u("/v1/me"), expect(default=200))],
    ("POST", "/v1/users"): [Case(u("/v1/users"), expect(admin=201), body=unique_user_body)],
    ("GET", "/v1/users/{id}"): [
        Case(lambda w, ctx, role: "/v1/users/%d" % w.id("student"),
             expect(student=200, admin=200), label="the student"),
        Case(lambda w, ctx, role: "/v1/users/%d" % (
            w.id("student") if role in ("anonymous", "admin") else w.id(role)),
             expect(default=200), label="oneself")],
    ("POST", "/v1/users/{id}/tokens"): [
        Case(lambda w, ctx, role: "/v1/users/%d/tokens" % w.id("spare"), expect(admin=201),
             body=fixed({}))],
    ("DELETE", "/v1/tokens/{id}"): [
        Case(u("/v1/tokens/%d", "token"), expect(admin=204),
             prepare=lambda w: {"token": w.admin.post("/v1/users/%d/tokens" % w.id("spare"),
                                                      {}).json()["id"]})],
    ("POST", "/v1/paths"): [
        Case(u("/v1/paths"), expect(admin=201, pedagogy=201),
             body=lambda w, ctx, role: path_body("mx-new-%s" % uuid.uuid4().hex[:12]))],
    ("GET", "/v1/paths"): [Case(u("/v1/paths"), expect(default=200))],
    ("GET", "/v1/paths/{id}"): [
        Case(lambda w, ctx, role: "/v1/paths/%d" % w.p["id"], expect(default=200))],
    ("POST", "/v1/users/{id}/qualifications"): [
        Case(u("/v1/users/%d/qualifications", "user"), expect(admin=201, pedagogy=201),
             body=lambda w, ctx, role: {"path_id": w.pq["id"]},
             prepare=lambda w: {"user": w.fresh_user(["evaluator"], "qualified")[0]["id"]})],
    ("POST", "/v1/conflicts"): [
        Case(u("/v1/conflicts"), expect(admin=201, pedagogy=201),
             body=lambda w, ctx, role: {"evaluator_id": w.id("other evaluator"),
                                        "student_id": ctx["student"], "reason": "a cousin"},
             prepare=lambda w: {"student": w.fresh_user(["student"], "cousin")[0]["id"]})],
    ("POST", "/v1/enrollments"): [
        Case(u("/v1/enrollments"), expect(admin=201, pedagogy=201),
             body=lambda w, ctx, role: {"student_id": ctx["student"], "path_id": w.pc["id"],
                                        "mentor_id": w.id("mentor")},
             prepare=lambda w: {"student": w.fresh_user(["student"], "enrolled")[0]["id"]})],
    ("GET", "/v1/enrollments/{id}"): [
        Case(lambda w, ctx, role: "/v1/enrollments/%d" % w.e1["id"], readers_of_enrollments(),
             missing="/v1/enrollments/%d" % MISSING)],
    ("GET", "/v1/enrollments/{id}/notes"): [
        Case(lambda w, ctx, role: "/v1/enrollments/%d/notes" % w.e1["id"],
             readers_of_enrollments(), missing="/v1/enrollments/%d/notes" % MISSING)],
    ("POST", "/v1/enrollments/{id}/notes"): [
        Case(lambda w, ctx, role: "/v1/enrollments/%d/notes" % w.e1["id"],
             expect(mentor=201, other_mentor=403), missing="/v1/enrollments/%d/notes" % MISSING,
             body=lambda w, ctx, role: note_body("2031-W%02d" % (11 + next(w.serial) % 40)))],
    ("GET", "/v1/alerts"): [Case(u("/v1/alerts"), expect(**STAFF))],
    ("POST", "/v1/attempts/{id}/handover"): [
        Case(u("/v1/attempts/%d/handover", "attempt"), expect(mentor=200, other_mentor=403),
             missing="/v1/attempts/%d/handover" % MISSING,
             body=fixed(handover_body()),
             prepare=lambda w: {"attempt": w.new_enrollment(
                 _path_with_fresh_evaluator(w))["attempts"][0]["id"]})],
    ("GET", "/v1/defenses"): [
        Case(u("/v1/defenses?mine=1"), expect(evaluator=200, reviewer=200, other_evaluator=200),
             label="mine"),
        Case(u("/v1/defenses"), expect(**STAFF), label="all")],
    ("POST", "/v1/defenses/{id}/verdict"): [
        Case(u("/v1/defenses/%d/verdict", "defense"), expect(evaluator=200, other_evaluator=403),
             missing="/v1/defenses/%d/verdict" % MISSING,
             body=lambda w, ctx, role: verdict_body(ctx["codes"]),
             prepare=lambda w: _defense_of(w, w.new_defense((w.users["evaluator"][0],
                                                             w.c("evaluator")))))],
    ("POST", "/v1/defenses/{id}/reassign"): [
        Case(u("/v1/defenses/%d/reassign", "defense"), expect(pedagogy=200), body=fixed({}),
             prepare=lambda w: _reassignable(w))],
    ("POST", "/v1/defenses/{id}/reviews"): [
        Case(u("/v1/defenses/%d/reviews", "defense"), expect(pedagogy=201), body=fixed({}),
             prepare=lambda w: _reviewable(w))],
    ("GET", "/v1/reviews"): [
        Case(u("/v1/reviews?mine=1"), expect(evaluator=200, reviewer=200, other_evaluator=200),
             label="mine"),
        Case(u("/v1/reviews"), expect(**STAFF), label="all")],
    ("POST", "/v1/reviews/{id}/verdict"): [
        Case(u("/v1/reviews/%d/verdict", "review"),
             expect(reviewer=200, evaluator=404, other_evaluator=404),
             missing="/v1/reviews/%d/verdict" % MISSING,
             body=lambda w, ctx, role: review_body(ctx["codes"]),
             prepare=lambda w: w.new_review())],
    ("GET", "/v1/disagreements"): [Case(u("/v1/disagreements"), expect(**STAFF))],
    ("POST", "/v1/disagreements/{id}/resolve"): [
        Case(u("/v1/disagreements/%d/resolve", "disagreement"), expect(pedagogy=200),
             body=fixed({"outcome": "original_upheld", "comment": "the original stands"}),
             prepare=lambda w: w.new_disagreement())],
    ("GET", "/v1/evaluators/{id}/calibration"): [
        Case(lambda w, ctx, role: "/v1/evaluators/%d/calibration" % w.id("evaluator"),
             expect(**STAFF))],
    ("GET", "/v1/calibration"): [Case(u("/v1/calibration"), expect(**STAFF))],
    ("POST", "/v1/reports"): [
        Case(u("/v1/reports"), everyone(201),
             body=fixed(report_body(description="someone else's project")))],
    ("POST", "/v1/reports/follow-up"): [
        Case(u("/v1/reports/follow-up"), everyone(200),
             body=lambda w, ctx, role: {"receipt": w.receipt})],
    ("POST", "/v1/reports/follow-up/messages"): [
        Case(u("/v1/reports/follow-up/messages"), everyone(201),
             body=lambda w, ctx, role: {"receipt": w.receipt, "body": "one more thing"})],
    ("GET", "/v1/reports"): [Case(u("/v1/reports"), expect(pedagogy=200))],
    ("GET", "/v1/reports/{id}"): [Case(u("/v1/reports/%d", "report"), expect(pedagogy=200))],
    ("POST", "/v1/reports/{id}/acknowledge"): [
        Case(u("/v1/reports/%d/acknowledge", "report"), expect(pedagogy=200), body=fixed({}),
             prepare=lambda w: {"report": w.new_report()[0]})],
    ("POST", "/v1/reports/{id}/messages"): [
        Case(u("/v1/reports/%d/messages", "report"), expect(pedagogy=201),
             body=fixed({"body": "a question"}),
             prepare=lambda w: {"report": w.new_report()[0]})],
    ("POST", "/v1/reports/{id}/link"): [
        Case(u("/v1/reports/%d/link", "report"), expect(pedagogy=200),
             body=lambda w, ctx, role: {"enrollment_id": w.e_subject["id"]},
             prepare=lambda w: {"report": w.new_report()[0]})],
    ("POST", "/v1/reports/{id}/notify-subject"): [
        Case(u("/v1/reports/%d/notify-subject", "report"), expect(pedagogy=200), body=fixed({}),
             prepare=lambda w: {"report": w.new_report(w.e_subject["id"])[0]})],
    ("POST", "/v1/reports/{id}/close"): [
        Case(u("/v1/reports/%d/close", "report"), expect(pedagogy=200),
             body=fixed({"outcome": "unfounded", "consequence": "none", "feedback": "examined"}),
             prepare=lambda w: {"report": w.new_report()[0]})],
    ("POST", "/v1/jury-sessions"): [
        Case(u("/v1/jury-sessions"), expect(pedagogy=201),
             body=lambda w, ctx, role: w.session_body())],
    ("GET", "/v1/jury-sessions/{id}"): [
        Case(u("/v1/jury-sessions/%d", "session"), readers_of_cases(),
             missing="/v1/jury-sessions/%d" % MISSING)],
    ("POST", "/v1/jury-sessions/{id}/cases"): [
        Case(u("/v1/jury-sessions/%d/cases", "session"), expect(pedagogy=201),
             body=lambda w, ctx, role: {"enrollment_id": ctx["enrollment"]},
             prepare=lambda w: {"enrollment": w.awaiting_jury()["id"]})],
    ("GET", "/v1/jury-cases/{id}"): [Case(u("/v1/jury-cases/%d", "case"), readers_of_cases(),
                                          missing="/v1/jury-cases/%d" % MISSING)],
    ("GET", "/v1/jury-cases/{id}/dossier"): [
        Case(u("/v1/jury-cases/%d/dossier", "case"), readers_of_cases(),
             missing="/v1/jury-cases/%d/dossier" % MISSING)],
    ("POST", "/v1/jury-cases/{id}/votes"): [
        Case(u("/v1/jury-cases/%d/votes", "case"), expect(jury=200, other_jury=403),
             missing="/v1/jury-cases/%d/votes" % MISSING,
             body=fixed({"decision": "award", "comment": "a fine dossier"}))],
    ("POST", "/v1/jury-cases/{id}/close"): [
        Case(u("/v1/jury-cases/%d/close", "case"), expect(pedagogy=200), body=fixed({}),
             prepare=lambda w: {"case": w.voted_case("award")})],
    ("POST", "/v1/jury-cases/{id}/extra-project"): [
        Case(u("/v1/jury-cases/%d/extra-project", "case"), expect(pedagogy=201),
             body=fixed({"title": "One more project",
                         "skills": [{"code": "x1", "title": "One more skill"}],
                         "interview": False}),
             prepare=lambda w: _extra_project_case(w))],
    ("GET", "/v1/credentials/{uuid}"): [
        Case(u("/v1/credentials/%s", "credential"), everyone(200))],
    ("GET", "/v1/credentials/{uuid}/status"): [
        Case(u("/v1/credentials/%s/status", "credential"), everyone(200))],
    ("POST", "/v1/credentials/{uuid}/revoke"): [
        Case(u("/v1/credentials/%s/revoke", "credential"), expect(admin=200),
             body=fixed({"reason": "issued by mistake"}),
             prepare=lambda w: {"credential": w.new_certificate("fresh")[1]})],
    ("GET", "/v1/status-lists/{id}"): [
        Case(u("/v1/status-lists/%d", "status_list"), everyone(200))],
    ("GET", "/.well-known/certflow/keys"): [
        Case(u("/.well-known/certflow/keys"), everyone(200))],
    ("POST", "/v1/enrollments/{id}/credential"): [
        Case(lambda w, ctx, role: "/v1/enrollments/%d/credential" % w.e3["id"], expect(**STAFF),
             body=fixed({}))],
}


def _path_with_fresh_evaluator(w):
    ev, _ = w.fresh_user(["evaluator"], "drawn")
    p = w.new_path()
    w.qualify_user(ev, p)
    return p


def _defense_of(w, made):
    d, p, _ = made
    return {"defense": d["id"], "codes": skill_codes(p)}


def _reassignable(w):
    """A pending defense of a fresh path with two fresh evaluators: one more to draw."""
    x, _ = w.fresh_user(["evaluator"], "first")
    y, _ = w.fresh_user(["evaluator"], "second")
    p = w.new_path()
    w.qualify_user(x, p)
    w.qualify_user(y, p)
    e = w.new_enrollment(p)
    r = w.c("mentor").post("/v1/attempts/%d/handover" % e["attempts"][0]["id"], handover_body())
    assert r.status == 200, r
    return {"defense": r.json()["defense"]["id"]}


def _reviewable(w):
    """A decided defense of a fresh path, and one more fresh evaluator who may review it."""
    d, p = w.decided_defense()
    y, _ = w.fresh_user(["evaluator"], "may-review")
    w.qualify_user(y, p)
    return {"defense": d["id"]}


def _extra_project_case(w):
    case = w.voted_case("extra_project")
    r = w.c("pedagogy").post("/v1/jury-cases/%d/close" % case, {})
    assert r.status == 200 and r.json()["decision"] == "extra_project", r
    return {"case": case}


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def world(stack, psql, tmp_path_factory):
    snap = rate_limits_snapshot(psql)
    inst = OwnInstance(stack, tmp_path_factory.mktemp("route-matrix"), SETTINGS)
    w = None
    try:
        w = MatrixWorld(stack, inst, psql)
        yield w
    finally:
        if w is not None:
            w.close()
        problems = inst.stop()
        rate_limits_restore(psql, snap)
        assert not problems, "\n".join(problems)


def ids_of(route):
    return "%s %s" % route


def route_params():
    out = []
    for method, pattern, _ in route_table():
        bugs = [(k, v) for k, v in KNOWN_BUGS.items() if (k[0], k[1]) == (method, pattern)]
        marks = ()
        if bugs:
            marks = pytest.mark.xfail(strict=True, raises=KnownBug,
                                      reason="; ".join("%s: %s" % (k[3], v[1]) for k, v in bugs))
        out.append(pytest.param((method, pattern), marks=marks, id=ids_of((method, pattern))))
    return out


# --------------------------------------------------------------- the tests

def test_every_route_has_an_expectation():
    table = {(m, p) for m, p, _ in route_table()}
    assert sorted(table - set(SPEC)) == [], "routes of daemon/routes.c without expectations"
    assert sorted(set(SPEC) - table) == [], "expectations for routes that no longer exist"
    for key, cases in SPEC.items():
        for case in cases:
            assert set(case.expected) == set(ROLES), key
    for k in KNOWN_BUGS:
        assert (k[0], k[1]) in SPEC and any(c.label == k[2] for c in SPEC[k[0], k[1]]), k


def test_public_routes_are_those_an_anonymous_caller_is_answered():
    """The table's flags and the matrix agree on who needs no token."""
    for method, pattern, flags in route_table():
        open_to_all = bool(flags & {"ROUTE_PUBLIC", "ROUTE_OPTIONAL_AUTH"})
        for case in SPEC[method, pattern]:
            assert (case.expected["anonymous"] != 401) == open_to_all, (method, pattern, flags)


def check_answer(r, status):
    """An error is a problem document with its status; a success is not."""
    if status >= 400:
        assert r.content_type == "application/problem+json", r
        assert r.json()["status"] == status, r
    assert r.headers.get("X-Request-Id"), r.headers


@pytest.mark.parametrize("route", route_params())
def test_route_answers_each_role_as_expected(world, route):
    method, pattern = route
    cases = SPEC.get(route)
    assert cases, "no expectation for %s %s" % route
    wrong, as_known, refused = [], [], []
    for case in cases:
        shared = case.prepare(world) if case.prepare else {}
        for role in ROLES:
            want = case.expected[role]
            ctx = case.prepare(world) if case.prepare and 200 <= want < 300 else shared
            body = case.body(world, ctx, role) if case.body else None
            r = world.client(role).request(method, case.url(world, ctx, role), body=body)
            where = "%s %s%s as %s" % (method, pattern,
                                       " (%s)" % case.label if case.label else "", role)
            bug = KNOWN_BUGS.get((method, pattern, case.label, role))
            if bug is not None and r.status == bug[0] and r.status != want:
                as_known.append("%s: %d (%s)" % (where, r.status, bug[1]))
                continue
            if r.status != want:
                wrong.append("%s: expected %d, got %d %r" % (where, want, r.status, r.body[:200]))
                continue
            check_answer(r, want)
            if r.status >= 400:
                refused.append(r.headers["X-Request-Id"])
            if want == 404 and case.missing is not None:
                m = world.client(role).request(method, case.missing, body=body)
                n = Normaliser({})
                if n.response(m, "x") != n.response(r, "x"):
                    wrong.append("%s: the 404 differs from that of a missing id: %r / %r"
                                 % (where, r.body, m.body))
    assert not wrong, "\n".join(wrong)
    # A refusal changes nothing: every change writes its audit row in the
    # same transaction, and no refused request has one.
    if refused:
        rows = world.psql("select string_agg(distinct action || ' (' || request_id || ')', ', ') "
                          "from audit_log where request_id = any('{%s}'::text[])"
                          % ",".join(refused))
        assert rows == "", "refused requests wrote audit rows: %s" % rows
    if as_known:
        raise KnownBug("\n".join(as_known))
