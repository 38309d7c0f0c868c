"""
loop_helpers.py - building blocks for the validation-loop tests (issue #3):
an isolated world per test (its own path with a unique code, its own users),
request bodies for handovers and verdicts, a few psql readers, and an
independent Python implementation of the evaluator draw of
include/certflow/draw.h. Never prints a token.
"""

import hashlib
import subprocess
import uuid

from cfclient import slowness

DELIVERABLE_SHA = hashlib.sha256(b"deliverable").hexdigest()
RECORDING_SHA = hashlib.sha256(b"recording").hexdigest()


def uid():
    return uuid.uuid4().hex[:10]


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------- the draw, in Python

def draw_index(seed, n):
    """
    The derivation of draw.h: x = the first 56 bits of SHA-256(seed || be32(c))
    for c = 0, 1, ...; the first x below 2^56 - 2^56 mod n gives x mod n.
    """
    space = 1 << 56
    limit = space - space % n
    counter = 0
    while True:
        x = int.from_bytes(hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()[:7], "big")
        if x < limit:
            return x % n
        counter += 1


def draw_pick(seed, ids, loads):
    """Lowest load first, ordered by id, then draw_index among them."""
    low = min(loads)
    lowest = sorted(i for i, l in zip(ids, loads) if l == low)
    return lowest[draw_index(seed, len(lowest))]


# --------------------------------------------------------------- psql readers

def scalar(psql, sql):
    return psql(sql).strip()


def count(psql, sql):
    return int(psql(sql))


def pg_ints(text):
    """PostgreSQL's "{1,2,3}" as a list of ints."""
    text = text.strip().strip("{}")
    return [int(x) for x in text.split(",")] if text else []


def attempt_row(psql, attempt_id):
    """(state, round) of an attempt, read from the database."""
    state, rnd = psql("select state, round from attempts where id = %d" % attempt_id).split("|")
    return state, int(rnd)


def enrollment_footprint(psql, enrollment_id):
    """Everything a refused request must leave untouched: states and row counts of one enrollment."""
    e = int(enrollment_id)
    return psql(
        "select e.state, "
        " (select string_agg(a.id || ':' || a.state || ':' || a.round, ',' order by a.id)"
        "    from attempts a where a.enrollment_id = e.id), "
        " (select count(*) from notes n where n.enrollment_id = e.id), "
        " (select count(*) from defenses d join attempts a on a.id = d.attempt_id"
        "   where a.enrollment_id = e.id), "
        " (select string_agg(d.id || ':' || d.state || ':' || d.evaluator_id, ',' order by d.id)"
        "    from defenses d join attempts a on a.id = d.attempt_id where a.enrollment_id = e.id), "
        " (select count(*) from deliverables v join attempts a on a.id = v.attempt_id"
        "   where a.enrollment_id = e.id), "
        " (select count(*) from defense_skills s join defenses d on d.id = s.defense_id"
        "   join attempts a on a.id = d.attempt_id where a.enrollment_id = e.id) "
        "from enrollments e where e.id = %d" % e)


def audit_actions(psql, entity_type, entity_id, prefix=""):
    """
    [(action, actor_id or None)] of one entity, oldest first, keeping the
    actions that start with PREFIX (a verdict may also open a sampled review).
    """
    out = psql("select action, coalesce(actor_id::text, 'NULL') from audit_log "
               "where entity_type = '%s' and entity_id = %d and starts_with(action, '%s') "
               "order by id" % (entity_type, entity_id, prefix))
    rows = []
    for line in out.splitlines():
        action, actor = line.split("|")
        rows.append((action, None if actor == "NULL" else int(actor)))
    return rows


# --------------------------------------------------------------- request bodies

def deliverables(tag="work", n=1):
    return [{"title": "%s %d" % (tag, i), "uri": "https://git.example.test/%s/%d" % (tag, i),
             "sha256": sha("%s-%d" % (tag, i))} for i in range(n)]


def handover_body(tag="work", n=1):
    return {"deliverables": deliverables(tag, n)}


def project_skill_codes(project):
    return [s["code"] for s in project["skills"]]


def verdict_body(project, verdict="validated", not_acquired=(), comment=None, tag="rec"):
    body = {"verdict": verdict,
            "skills": [{"code": c, "acquired": c not in not_acquired}
                       for c in project_skill_codes(project)],
            "recording": {"uri": "https://video.example.test/%s" % tag, "sha256": sha(tag)}}
    if comment is not None:
        body["comment"] = comment
    return body


def needs_improvement_body(project, tag="rec"):
    first = project_skill_codes(project)[0]
    return verdict_body(project, "needs_improvement", not_acquired=(first,),
                        comment="%s is not there yet" % first, tag=tag)


def path_body(code, n_projects=3, n_skills=2):
    return {"code": code, "title": "Path %s" % code,
            "projects": [{"code": "p%d" % (i + 1), "title": "Project %d" % (i + 1),
                          "skills": [{"code": "p%d-s%d" % (i + 1, k + 1),
                                      "title": "Skill %d of project %d" % (k + 1, i + 1)}
                                     for k in range(n_skills)]}
                         for i in range(n_projects)]}


# --------------------------------------------------------------- world building

def create_path(admin, n_projects=3, n_skills=2):
    code = "loop-" + uid()
    r = admin.post("/v1/paths", path_body(code, n_projects, n_skills))
    assert r.status == 201, r
    return r.json()


def qualify(admin, user_id, path_id):
    r = admin.post("/v1/users/%d/qualifications" % user_id, {"path_id": path_id})
    assert r.status == 201, r
    return r.json()


def declare_conflict(admin, evaluator_id, student_id, reason="former colleague"):
    r = admin.post("/v1/conflicts", {"evaluator_id": evaluator_id, "student_id": student_id,
                                     "reason": reason})
    assert r.status == 201, r
    return r.json()


def enroll(admin, student_id, path_id, mentor_id, projects=None):
    body = {"student_id": student_id, "path_id": path_id, "mentor_id": mentor_id}
    if projects is not None:
        body["projects"] = list(projects)
    r = admin.post("/v1/enrollments", body)
    assert r.status == 201, r
    return r.json()


class World:
    """
    One path of its own with N_EVALUATORS qualified evaluators, a mentor and a
    student enrolled for the diploma (or a certificate of PROJECTS).
    clients maps a user id to its Client; evaluator(defense) finds the drawn one.
    """

    def __init__(self, admin, make_user, n_projects=3, n_skills=2, n_evaluators=2,
                 projects=None):
        self.admin = admin
        self.make_user = make_user
        self.clients = {}
        self.path = create_path(admin, n_projects, n_skills)
        self.projects = {p["code"]: p for p in self.path["projects"]}
        self.mentor, self.mentor_c = self.user(["mentor"], "Mentor")
        self.student, self.student_c = self.user(["student"], "Student")
        self.evaluators = []
        for i in range(n_evaluators):
            self.add_evaluator("Evaluator %d" % i)
        self.enrollment = enroll(admin, self.student["id"], self.path["id"], self.mentor["id"],
                                 projects)

    def user(self, roles, name):
        u, c = self.make_user(roles, name=name)
        self.clients[u["id"]] = c
        return u, c

    def add_evaluator(self, name="Evaluator", qualified=True):
        u, c = self.user(["evaluator"], name)
        if qualified:
            qualify(self.admin, u["id"], self.path["id"])
        self.evaluators.append(u)
        return u, c

    @property
    def eid(self):
        return self.enrollment["id"]

    def attempt(self, code, enrollment=None):
        """The attempt json of project CODE in ENROLLMENT (default: the world's), fetched fresh."""
        e = self.view(enrollment)
        for a in e["attempts"]:
            if a["project_code"] == code:
                return a
        raise AssertionError("no attempt of %s in %r" % (code, e))

    def view(self, enrollment=None):
        eid = enrollment["id"] if enrollment is not None else self.eid
        r = self.admin.get("/v1/enrollments/%d" % eid)
        assert r.status == 200, r
        return r.json()

    def handover(self, attempt_id, tag="work", mentor_c=None):
        r = (mentor_c or self.mentor_c).post("/v1/attempts/%d/handover" % attempt_id,
                                             handover_body(tag))
        assert r.status == 200, r
        return r.json()

    def evaluator_c(self, evaluator_id):
        return self.clients[evaluator_id]

    def verdict(self, defense, project_code, verdict="validated", tag="rec"):
        p = self.projects[project_code]
        body = (verdict_body(p, tag=tag) if verdict == "validated"
                else needs_improvement_body(p, tag=tag))
        r = self.evaluator_c(defense["evaluator_id"]).post(
            "/v1/defenses/%d/verdict" % defense["id"], body)
        assert r.status == 200, r
        return r.json()


def certflow_cli(stack, *args, timeout=60):
    return subprocess.run([str(stack.certflow), "-c", str(stack.conf)] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=timeout * slowness(),
                          stdin=subprocess.DEVNULL)
