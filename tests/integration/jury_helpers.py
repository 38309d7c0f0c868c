"""
jury_helpers.py - building blocks for the diploma jury tests (sql/0005_jury.sql):
a diploma world that can take a given mentor and given evaluators (a user with
the jury role too), a way to bring it to awaiting_jury, jury members (users with
only the jury role, one per category), sessions, cases and votes. Never prints
a token.
"""

from cfclient import Client
from loop_helpers import create_path, enroll, handover_body, qualify, sha, uid

CATEGORIES = ("expert", "recruiter", "pedagogy", "mentor")
SCHEDULED_AT = "2030-01-15T09:00:00Z"


def skills_verdict(skill_codes, tag):
    return {"verdict": "validated",
            "skills": [{"code": c, "acquired": True} for c in skill_codes],
            "recording": {"uri": "https://video.example.test/%s" % tag, "sha256": sha(tag)}}


class Diploma:
    """
    One path of its own with N_PROJECTS projects, a student enrolled for the
    diploma with MENTOR (a (user, client) pair, or a fresh mentor) and
    EVALUATORS qualified on the path (given pairs, or N_EVALUATORS fresh ones).
    clients maps a user id to its Client.
    """

    def __init__(self, admin, make_user, n_projects=2, n_skills=2, n_evaluators=2,
                 mentor=None, evaluators=None):
        self.admin = admin
        self.make_user = make_user
        self.tag = uid()
        self.clients = {}
        self.path = create_path(admin, n_projects, n_skills)
        self.projects = {p["code"]: p for p in self.path["projects"]}
        self.mentor, self.mentor_c = mentor or make_user(["mentor"], name="Mentor " + self.tag)
        self.clients[self.mentor["id"]] = self.mentor_c
        self.student, self.student_c = make_user(["student"], name="Student " + self.tag)
        self.evaluators = []
        for i, (u, c) in enumerate(evaluators if evaluators is not None else
                                   [make_user(["evaluator"], name="Evaluator %d %s" % (i, self.tag))
                                    for i in range(n_evaluators)]):
            qualify(admin, u["id"], self.path["id"])
            self.evaluators.append(u)
            self.clients[u["id"]] = c
        self.enrollment = enroll(admin, self.student["id"], self.path["id"], self.mentor["id"])
        self.defenses = {}      # project code -> the defense json of its last handover

    @property
    def eid(self):
        return self.enrollment["id"]

    def view(self):
        r = self.admin.get("/v1/enrollments/%d" % self.eid)
        assert r.status == 200, r
        return r.json()

    def attempt(self, code):
        for a in self.view()["attempts"]:
            if a["project_code"] == code:
                return a
        raise AssertionError("no attempt of %s" % code)

    def note(self, week, body, progress=50, at_risk=False):
        r = self.mentor_c.post("/v1/enrollments/%d/notes" % self.eid,
                               {"week": week, "progress": progress, "body": body,
                                "at_risk": at_risk})
        assert r.status == 201, r
        return r.json()

    def pass_project(self, code, skill_codes=None):
        """Hands over project CODE and has the drawn evaluator validate it; returns the verdict json."""
        a = self.attempt(code)
        assert a["state"] == "mentoring", a
        r = self.mentor_c.post("/v1/attempts/%d/handover" % a["id"],
                               handover_body("%s-%s" % (code, self.tag)))
        assert r.status == 200, r
        d = r.json()["defense"]
        self.defenses[code] = d
        if skill_codes is None:
            skill_codes = [s["code"] for s in self.projects[code]["skills"]]
        r = self.clients[d["evaluator_id"]].post(
            "/v1/defenses/%d/verdict" % d["id"], skills_verdict(skill_codes, "%s-%s" % (code, self.tag)))
        assert r.status == 200, r
        return r.json()

    def complete(self):
        """Validates every project in order; the enrollment is then awaiting_jury."""
        last = None
        for code in sorted(self.projects):     # p1, p2, ... (fewer than ten)
            last = self.pass_project(code)
        assert last["enrollment"]["state"] == "awaiting_jury", last
        return last


def jury_members(make_user, tag=None, categories=CATEGORIES):
    """One user with only the jury role per category: [(user, client)]."""
    tag = tag or uid()
    return [make_user(["jury"], jury_category=cat, name="Jury %s %s" % (cat, tag))
            for cat in categories]


def new_session(pedagogy_c, path_id, member_ids, status=201):
    r = pedagogy_c.post("/v1/jury-sessions", {"path_id": path_id, "scheduled_at": SCHEDULED_AT,
                                              "members": list(member_ids)})
    assert r.status == status, r
    return r.json()


def open_case(pedagogy_c, session_id, enrollment_id):
    r = pedagogy_c.post("/v1/jury-sessions/%d/cases" % session_id, {"enrollment_id": enrollment_id})
    assert r.status == 201, r
    return r.json()


def vote(client, case_id, decision, comment=None, status=200):
    r = client.post("/v1/jury-cases/%d/votes" % case_id,
                    {"decision": decision, "comment": comment or "I vote %s" % decision})
    assert r.status == status, r
    return r.json()


def get_case(client, case_id):
    r = client.get("/v1/jury-cases/%d" % case_id)
    assert r.status == 200, r
    return r.json()


def on(target, user):
    """A Client for USER on TARGET (an extra instance); the caller closes it."""
    return Client(target, token=user["token"])
