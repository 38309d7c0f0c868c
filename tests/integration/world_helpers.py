"""
world_helpers.py - building blocks for the non-interference tests and the
route x role matrix (test_noninterference.py, test_route_matrix.py):

- route_table(): every (method, pattern) of daemon/routes.c, read from the
  source, so that a route added there without an expectation fails a test;
- module_instance(): a certflowd of its own, sharing the stack's database and
  certificates, for a whole test module (conftest's extra_instance lives as
  long as one test);
- TaggedWorld: users, paths and enrollments whose every name, e-mail and
  code carries the world's tag, talking to one certflowd;
- calls_for(ctx): one or more requests for every route of the table, with the
  ids of a world (a context dict) and bodies that pass validation, so that
  the answer reflects who asks and what the world holds;
- Normaliser: takes ids, timestamps, request ids, receipts, UUIDs and the
  world's tag out of an answer, so that the answers of two worlds can be
  compared byte for byte;
- a snapshot and restore of the rate-limit counters (shared by every test
  from 127.0.0.1).

Never prints a token.
"""

import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import uuid
from pathlib import Path

from cfclient import Client, slowness, wait_until

REPO = Path(__file__).resolve().parents[2]
ROUTES_C = REPO / "daemon" / "routes.c"

# An id no row has (canonical, positive, 64-bit) and a UUID no credential has.
MISSING = 1 << 62
MISSING_UUID = "00000000-0000-4000-8000-00000000abcd"
MISSING_RECEIPT = "00000-00000-00000-00000-00000"


# --------------------------------------------------------------- the route table

_TABLE_RE = re.compile(r"const struct route routes\[\]\s*=\s*\{(.*?)\n\};", re.S)
_MACRO_RE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD)\(\s*\"([^\"]+)\"")
_EXPLICIT_RE = re.compile(r"\.method\s*=\s*METHOD_([A-Z]+)\s*,\s*\.pattern\s*=\s*\"([^\"]+)\"")
_ROW_FLAGS_RE = re.compile(r"\.flags\s*=\s*([A-Z_| ]+)")
_ROW_VERSIONED_RE = re.compile(r"\.versioned\s*=\s*\"([a-z_]+)\"")


def route_table(path=ROUTES_C):
    """
    [(method, pattern, flags)] of the route table in daemon/routes.c, in table
    order; flags is a set such as {"ROUTE_PUBLIC"}, with "VERSIONED" for a
    route that takes If-Match (.versioned). Both the GET(...)/POST(...)
    macro rows and the explicit { .method = METHOD_X, .pattern = ... } rows.
    """
    text = Path(path).read_text()
    m = _TABLE_RE.search(text)
    assert m, "no 'const struct route routes[] = {...};' in %s" % path
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    starts = sorted([(x.start(), x.group(1), x.group(2)) for x in _MACRO_RE.finditer(body)] +
                    [(x.start(), x.group(1), x.group(2)) for x in _EXPLICIT_RE.finditer(body)])
    out = []
    for i, (pos, method, pattern) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(body)
        f = _ROW_FLAGS_RE.search(body, pos, end)
        flags = {x.strip() for x in f.group(1).split("|") if x.strip()} if f else set()
        if _ROW_VERSIONED_RE.search(body, pos, end):
            flags.add("VERSIONED")
        out.append((method, pattern, flags))
    keys = [(mth, p) for mth, p, _ in out]
    assert len(keys) == len(set(keys)), "a route appears twice in %s" % path
    assert len(out) >= 40, "parsed only %d routes from %s: is the parser out of date?" % (
        len(out), path)
    return out


def route_keys():
    return {(m, p) for m, p, _ in route_table()}


# --------------------------------------------------------------- a module's own certflowd

def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _conf_with(text, keys):
    lines = text.splitlines()
    for k in keys:
        lines = [l for l in lines if not re.match(r"^\s*%s\s*=" % re.escape(k), l)]
    for k, v in keys.items():
        lines.append("%s = %s" % (k, v))
    return "\n".join(lines) + "\n"


class OwnInstance:
    """A certflowd on a free port sharing the stack's database, CA and configuration."""

    def __init__(self, stack, directory, settings):
        self.stack = stack
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        self.ca = stack.ca
        keys = {"listen_port": str(self.port)}
        keys.update(settings)
        self.conf = Path(directory) / "certflowd-own.conf"
        self.conf.write_text(_conf_with(stack.conf_text(), keys))
        self.log = stack.var / ("certflowd-own-%s.log" % uuid.uuid4().hex[:8])
        # conftest's session teardown searches it for sanitizer reports and tokens
        stack.extra_logs.append(self.log)
        argv = shlex.split(os.environ.get("CERTFLOWD_WRAPPER", "")) + [
            str(stack.certflowd), "-c", str(self.conf)]
        with open(self.log, "wb") as lf:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf,
                                         stderr=subprocess.STDOUT, cwd=str(REPO))

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("own certflowd exited with %d during startup:\n%s"
                                     % (self.proc.returncode, self.log_text()[-3000:]))
            c = Client(self, timeout=5)
            try:
                return c.get("/healthz").status == 200
            except Exception:
                return False
            finally:
                c.close()
        try:
            wait_until(ready, 30, interval=0.1, what="own certflowd /healthz 200")
        except BaseException:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            raise

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self):
        """SIGTERM, then the problems found ([] when it stopped cleanly with 0)."""
        if self.proc.poll() is not None:
            return ["own certflowd on port %d had exited with %d:\n%s"
                    % (self.port, self.proc.returncode, self.log_text()[-3000:])]
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30 * slowness())
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return ["own certflowd on port %d did not exit within 30 s of SIGTERM" % self.port]
        if rc != 0:
            return ["own certflowd on port %d exited with %d after SIGTERM:\n%s"
                    % (self.port, rc, self.log_text()[-3000:])]
        return []


# --------------------------------------------------------------- rate-limit counters

def rate_limits_snapshot(psql):
    return psql("select coalesce(json_agg(json_build_object('source', encode(source, 'hex'), "
                "'bucket', bucket, 'window_start', window_start, 'hits', hits)), '[]')::text "
                "from rate_limits")


def rate_limits_restore(psql, snapshot):
    """Puts the counters back as SNAPSHOT had them: a module's own requests cost no one."""
    psql("begin; delete from rate_limits; "
         "insert into rate_limits (source, bucket, window_start, hits) "
         "select decode(x ->> 'source', 'hex'), x ->> 'bucket', "
         "(x ->> 'window_start')::timestamptz, (x ->> 'hits')::int "
         "from json_array_elements('%s'::json) x; commit;" % snapshot.replace("'", "''"))


# --------------------------------------------------------------- request bodies

def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def path_body(code, n_projects=1, n_skills=2):
    return {"code": code, "title": "Path %s" % code,
            "projects": [{"code": "p%d" % (i + 1), "title": "Project %d" % (i + 1),
                          "skills": [{"code": "p%d-s%d" % (i + 1, k + 1),
                                      "title": "Skill %d of project %d" % (k + 1, i + 1)}
                                     for k in range(n_skills)]}
                         for i in range(n_projects)]}


def handover_body(tag="work"):
    return {"deliverables": [{"title": "%s 0" % tag,
                              "uri": "https://git.example.test/%s/0" % tag,
                              "sha256": sha("%s-0" % tag)}]}


def verdict_body(codes, verdict="validated", not_acquired=(), comment=None, rec="rec"):
    body = {"verdict": verdict,
            "skills": [{"code": c, "acquired": c not in not_acquired} for c in codes],
            "recording": {"uri": "https://video.example.test/%s" % rec, "sha256": sha(rec)}}
    if comment is not None:
        body["comment"] = comment
    return body


def review_body(codes, verdict="validated", not_acquired=(), comment=None):
    body = {"verdict": verdict,
            "skills": [{"code": c, "acquired": c not in not_acquired} for c in codes]}
    if comment is not None:
        body["comment"] = comment
    return body


def report_body(enrollment_id=None, description=None, project_code=None,
                category="plagiarism", text="The report says what happened, in detail."):
    subject = {}
    if enrollment_id is not None:
        subject["enrollment_id"] = enrollment_id
    if description is not None:
        subject["description"] = description
    body = {"subject": subject, "category": category, "body": text,
            "evidence": [{"uri": "https://files.example.test/evidence/e1", "sha256": sha("e1")}]}
    if project_code is not None:
        body["project_code"] = project_code
    return body


def note_body(week, body="steady work", progress=50, at_risk=False):
    return {"week": week, "progress": progress, "body": body, "at_risk": at_risk}


SCHEDULED_AT = "2031-01-15T09:00:00Z"
JURY_CATEGORIES = ("expert", "recruiter", "pedagogy", "mentor")


# --------------------------------------------------------------- worlds

class TaggedWorld:
    """
    Users created by ADMIN (a Client on TARGET with the admin token) whose
    names and e-mails carry TAG; each user's Client talks to TARGET. Paths
    are coded "PREFIX-TAG". users maps a label to (user json, Client).
    """

    def __init__(self, admin, target, tag=None, prefix="nw"):
        self.admin = admin
        self.target = target
        self.tag = tag or uuid.uuid4().hex[:10]
        self.prefix = prefix
        self.users = {}
        self.clients = []

    def close(self):
        for c in self.clients:
            c.close()

    def user(self, label, roles, jury_category=None, name=None):
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        body = {"name": "%s %s" % (name or label, self.tag),
                "email": "%s-%s@example.test" % (slug, self.tag), "roles": list(roles)}
        if jury_category is not None:
            body["jury_category"] = jury_category
        r = self.admin.post("/v1/users", body)
        assert r.status == 201, r
        u = r.json()
        c = Client(self.target, token=u["token"])
        self.clients.append(c)
        self.users[label] = (u, c)
        return u, c

    def id(self, label):
        return self.users[label][0]["id"]

    def c(self, label):
        return self.users[label][1]

    def path(self, n_projects=1, n_skills=2, code=None):
        r = self.admin.post("/v1/paths", path_body(code or "%s-%s" % (self.prefix, self.tag),
                                                   n_projects, n_skills))
        assert r.status == 201, r
        return r.json()

    def qualify(self, label, path):
        r = self.admin.post("/v1/users/%d/qualifications" % self.id(label), {"path_id": path["id"]})
        assert r.status == 201, r

    def enroll(self, student, mentor, path, projects=None):
        body = {"student_id": self.id(student), "path_id": path["id"],
                "mentor_id": self.id(mentor)}
        if projects is not None:
            body["projects"] = list(projects)
        r = self.admin.post("/v1/enrollments", body)
        assert r.status == 201, r
        return r.json()

    def view(self, enrollment_id):
        r = self.admin.get("/v1/enrollments/%d" % enrollment_id)
        assert r.status == 200, r
        return r.json()

    def attempt(self, enrollment_id, position=1):
        return next(a for a in self.view(enrollment_id)["attempts"] if a["position"] == position)

    def handover(self, mentor, attempt_id, tag="work"):
        r = self.c(mentor).post("/v1/attempts/%d/handover" % attempt_id, handover_body(tag))
        assert r.status == 200, r
        return r.json()["defense"]

    def verdict(self, evaluator, defense, codes, verdict="validated", comment=None):
        not_acquired = (codes[0],) if verdict == "needs_improvement" else ()
        r = self.c(evaluator).post("/v1/defenses/%d/verdict" % defense["id"],
                                   verdict_body(codes, verdict, not_acquired, comment))
        assert r.status == 200, r
        return r.json()


def skill_codes(path, position=1):
    return [s["code"] for s in path["projects"][position - 1]["skills"]]


# --------------------------------------------------------------- every route, with a world's ids

def _ids(ctx, key):
    v = ctx.get(key)
    if v is None:
        return [MISSING]
    return list(v) if isinstance(v, (list, tuple)) else [v]


def calls_for(ctx):
    """
    {(method, pattern): [(label, method, path, body, headers)]}: requests for every
    route of the table, built from CTX (a world's ids):

      me          the caller's user id
      users       {label: user id} of the world (read with GET /v1/users/{id})
      path        the world's path id; codes: the skill codes of its first project
      enrollments, attempts, defenses, reviews   ids (lists)
      evaluators  user ids whose calibration is asked for
      student, mentor, evaluator   user ids for bodies naming them
      report, receipt, session, case, credential, status_list   when the world has them
      tag         the world's tag (in codes and e-mails of bodies)

    Ids the world lacks are MISSING (no row has them). Bodies are valid, so
    that the answer says who may do what, not that a field is wrong. A
    review's verdict is tried with wrong bodies first, then submitted, then
    submitted again. Every request of a route that takes If-Match is also
    tried with If-Match: "1" right after (a version must not answer for a
    resource the caller may not touch).
    """
    tag = ctx["tag"]
    codes = ctx.get("codes") or ["p1-s1", "p1-s2"]
    me = ctx["me"]
    path = ctx.get("path", MISSING)
    out = {}

    def add(method, pattern, label, url, body=None):
        out.setdefault((method, pattern), []).append((label, method, url, body, None))

    add("GET", "/healthz", "healthz", "/healthz")
    add("GET", "/metrics", "metrics", "/metrics")
    add("GET", "/v1/me", "me", "/v1/me")
    add("GET", "/v1/users/{id}", "user me", "/v1/users/%d" % me)
    add("POST", "/v1/users", "create a user", "/v1/users",
        {"name": "New %s" % tag, "email": "new-%s@example.test" % tag, "roles": ["student"]})
    for label, uid in sorted(ctx.get("users", {}).items()):
        add("GET", "/v1/users/{id}", "user %s" % label, "/v1/users/%d" % uid)
    add("POST", "/v1/users/{id}/tokens", "token for me", "/v1/users/%d/tokens" % me, {})
    add("DELETE", "/v1/tokens/{id}", "revoke a token", "/v1/tokens/%d" % MISSING)
    add("POST", "/v1/paths", "create a path", "/v1/paths", path_body("new-%s" % tag))
    add("GET", "/v1/paths", "paths", "/v1/paths")
    add("GET", "/v1/paths/{id}", "path", "/v1/paths/%d" % path)
    add("POST", "/v1/users/{id}/qualifications", "qualify me",
        "/v1/users/%d/qualifications" % me, {"path_id": path})
    add("POST", "/v1/conflicts", "declare a conflict", "/v1/conflicts",
        {"evaluator_id": ctx.get("evaluator", MISSING), "student_id": ctx.get("student", MISSING),
         "reason": "former colleague"})
    add("POST", "/v1/enrollments", "enroll", "/v1/enrollments",
        {"student_id": ctx.get("student", MISSING), "path_id": path,
         "mentor_id": ctx.get("mentor", MISSING)})
    for i, e in enumerate(_ids(ctx, "enrollments")):
        add("GET", "/v1/enrollments/{id}", "enrollment %d" % i, "/v1/enrollments/%d" % e)
        add("GET", "/v1/enrollments/{id}/notes", "notes %d" % i, "/v1/enrollments/%d/notes" % e)
        add("POST", "/v1/enrollments/{id}/notes", "write a note %d" % i,
            "/v1/enrollments/%d/notes" % e, note_body("2031-W%02d" % (20 + i)))
        add("POST", "/v1/enrollments/{id}/credential", "issue a credential %d" % i,
            "/v1/enrollments/%d/credential" % e, {})
    add("GET", "/v1/alerts", "alerts", "/v1/alerts")
    for i, a in enumerate(_ids(ctx, "attempts")):
        add("POST", "/v1/attempts/{id}/handover", "hand over %d" % i,
            "/v1/attempts/%d/handover" % a, handover_body())
    add("GET", "/v1/defenses", "defenses mine", "/v1/defenses?mine=1")
    add("GET", "/v1/defenses", "defenses all", "/v1/defenses")
    for i, d in enumerate(_ids(ctx, "defenses")):
        add("POST", "/v1/defenses/{id}/verdict", "verdict %d" % i,
            "/v1/defenses/%d/verdict" % d, verdict_body(codes))
        add("POST", "/v1/defenses/{id}/reassign", "reassign %d" % i,
            "/v1/defenses/%d/reassign" % d, {})
        add("POST", "/v1/defenses/{id}/reviews", "request a review %d" % i,
            "/v1/defenses/%d/reviews" % d, {})
    add("GET", "/v1/reviews", "reviews mine", "/v1/reviews?mine=1")
    add("GET", "/v1/reviews", "reviews all", "/v1/reviews")
    for i, rv in enumerate(_ids(ctx, "reviews")):
        url = "/v1/reviews/%d/verdict" % rv
        for label, body in (
                ("no body", {}),
                ("unknown skill", review_body(["nope"] + codes[1:])),
                ("missing skill", review_body(codes[:1])),
                ("skill twice", review_body([codes[0]] + codes)),
                ("validated, not acquired", review_body(codes, "validated", (codes[-1],))),
                ("submit", review_body(codes, "needs_improvement", (codes[0],), "not quite")),
                ("submit again", review_body(codes))):
            add("POST", "/v1/reviews/{id}/verdict", "review %d: %s" % (i, label), url, body)
    add("GET", "/v1/disagreements", "disagreements", "/v1/disagreements")
    add("GET", "/v1/disagreements", "open disagreements", "/v1/disagreements?state=open")
    add("POST", "/v1/disagreements/{id}/resolve", "resolve",
        "/v1/disagreements/%d/resolve" % ctx.get("disagreement", MISSING),
        {"outcome": "original_upheld", "comment": "upheld"})
    for i, ev in enumerate(_ids(ctx, "evaluators")):
        add("GET", "/v1/evaluators/{id}/calibration", "calibration %d" % i,
            "/v1/evaluators/%d/calibration" % ev)
    add("GET", "/v1/calibration", "calibration", "/v1/calibration")
    add("POST", "/v1/reports", "report", "/v1/reports",
        report_body(description="someone copied a project"))
    add("POST", "/v1/reports/follow-up", "follow up", "/v1/reports/follow-up",
        {"receipt": ctx.get("receipt", MISSING_RECEIPT)})
    add("POST", "/v1/reports/follow-up/messages", "follow-up message",
        "/v1/reports/follow-up/messages",
        {"receipt": ctx.get("receipt", MISSING_RECEIPT), "body": "one more thing"})
    add("GET", "/v1/reports", "reports", "/v1/reports")
    rp = ctx.get("report", MISSING)
    add("GET", "/v1/reports/{id}", "report by id", "/v1/reports/%d" % rp)
    add("POST", "/v1/reports/{id}/acknowledge", "acknowledge",
        "/v1/reports/%d/acknowledge" % rp, {})
    add("POST", "/v1/reports/{id}/messages", "investigator message",
        "/v1/reports/%d/messages" % rp, {"body": "a question"})
    add("POST", "/v1/reports/{id}/link", "link", "/v1/reports/%d/link" % rp,
        {"enrollment_id": _ids(ctx, "enrollments")[0]})
    add("POST", "/v1/reports/{id}/notify-subject", "notify",
        "/v1/reports/%d/notify-subject" % rp, {})
    add("POST", "/v1/reports/{id}/close", "close", "/v1/reports/%d/close" % rp,
        {"outcome": "unfounded", "consequence": "none", "feedback": "examined"})
    add("POST", "/v1/jury-sessions", "create a session", "/v1/jury-sessions",
        {"path_id": path, "scheduled_at": SCHEDULED_AT, "members": [me]})
    sess = ctx.get("session", MISSING)
    case = ctx.get("case", MISSING)
    add("GET", "/v1/jury-sessions/{id}", "session", "/v1/jury-sessions/%d" % sess)
    add("POST", "/v1/jury-sessions/{id}/cases", "open a case", "/v1/jury-sessions/%d/cases" % sess,
        {"enrollment_id": _ids(ctx, "enrollments")[0]})
    add("GET", "/v1/jury-cases/{id}", "case", "/v1/jury-cases/%d" % case)
    add("GET", "/v1/jury-cases/{id}/dossier", "dossier", "/v1/jury-cases/%d/dossier" % case)
    add("POST", "/v1/jury-cases/{id}/votes", "vote", "/v1/jury-cases/%d/votes" % case,
        {"decision": "award", "comment": "deserved"})
    add("POST", "/v1/jury-cases/{id}/close", "close the case", "/v1/jury-cases/%d/close" % case, {})
    add("POST", "/v1/jury-cases/{id}/extra-project", "extra project",
        "/v1/jury-cases/%d/extra-project" % case,
        {"title": "One more", "skills": [{"code": "x1", "title": "X"}], "interview": False})
    cred = ctx.get("credential", MISSING_UUID)
    add("GET", "/v1/credentials/{uuid}", "credential", "/v1/credentials/%s" % cred)
    add("GET", "/v1/credentials/{uuid}/status", "credential status",
        "/v1/credentials/%s/status" % cred)
    add("POST", "/v1/credentials/{uuid}/revoke", "revoke the credential",
        "/v1/credentials/%s/revoke" % cred, {"reason": "by mistake"})
    add("GET", "/v1/status-lists/{id}", "status list",
        "/v1/status-lists/%d" % ctx.get("status_list", MISSING))
    add("GET", "/.well-known/certflow/keys", "keys", "/.well-known/certflow/keys")
    for method, pattern, flags in route_table():
        if "VERSIONED" in flags and (method, pattern) in out:
            with_if_match = []
            for label, m, url, body, _ in out[method, pattern]:
                with_if_match.append((label, m, url, body, None))
                with_if_match.append((label + " (If-Match 1)", m, url, body, {"If-Match": '"1"'}))
            out[method, pattern] = with_if_match
    return out


def missing_routes(calls):
    """Routes of daemon/routes.c for which CALLS has no request."""
    return sorted(route_keys() - set(calls))


# --------------------------------------------------------------- comparing answers

TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?")
UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
RECEIPT_RE = re.compile(r"\b\d{5}(-\d{5}){4}\b")
TOKEN_RE = re.compile(r"cf_[A-Za-z0-9_-]{43}")
ID_KEY_RE = re.compile(r"^(id|.*_id|.*_by)$")
# Strings in which ids of the world are named (problem details, reasons).
PROSE_KEYS = {"detail", "reopened_reason", "blocked_by"}
# Headers whose value is compared too (the others vary: Date, lengths, request ids).
VALUE_HEADERS = {"etag", "allow", "www-authenticate", "retry-after", "content-type",
                 "cache-control"}
# Answers whose body is the process's own state (counters), not the world's.
BODY_NOT_COMPARED = {"metrics"}


class Normaliser:
    """
    Takes a world out of its answers. In a JSON body: an integer under an id
    key ("id", "*_id", "*_by") becomes "#n", numbered by first appearance
    among the values found at the same place (the call's label and the keys
    leading to it, list positions left out), so that equal ids stay equal and
    different ones stay apart; every id of the world (IDS: {id: name}) inside
    a string becomes "<name>"; timestamps become "TS", UUIDs "UUID", receipts
    "RECEIPT", tokens "TOKEN", the request id "RID", and each string of
    REPLACE (the world's tag) its placeholder.
    """

    def __init__(self, replace, ids=None):
        self.replace = dict(replace)
        self.ids = {}
        self.named = {int(k): v for k, v in (ids or {}).items()}

    def _id(self, where, v):
        seen = self.ids.setdefault(where, {})
        if v not in seen:
            seen[v] = "#%d" % (len(seen) + 1)
        return seen[v]

    def text(self, s, key=None):
        for k, v in self.replace.items():
            s = s.replace(k, v)
        s = TOKEN_RE.sub("TOKEN", s)
        s = TIMESTAMP_RE.sub("TS", s)
        s = UUID_RE.sub("UUID", s)
        s = RECEIPT_RE.sub("RECEIPT", s)
        if self.named and (key is None or key in PROSE_KEYS):
            s = re.sub(r"(?<![\w#])\d+(?!\w)",
                       lambda m: ("<%s>" % self.named[int(m.group(0))]
                                  if int(m.group(0)) in self.named else m.group(0)), s)
        return s

    def _walk(self, x, where=""):
        key = where.rpartition(".")[2]
        if isinstance(x, dict):
            return {k: self._walk(v, where + "." + k) for k, v in x.items()}
        if isinstance(x, list):
            return [self._walk(v, where) for v in x]
        if isinstance(x, bool) or x is None:
            return x
        if isinstance(x, int) and ID_KEY_RE.match(key):
            return self._id(where, x)
        if isinstance(x, str):
            return "RID" if key == "request_id" else self.text(x, key)
        return x

    def body(self, r, label="", keep=None):
        """The normalised body text; KEEP filters a parsed JSON body first."""
        try:
            obj = r.json()
        except ValueError:
            return self.text(r.body.decode("utf-8", "replace"))
        if keep is not None:
            obj = keep(obj)
        return json.dumps(self._walk(obj, label), sort_keys=False)

    def response(self, r, label="", keep=None):
        """
        (status, content type, headers, normalised body) of a Response; headers
        are the sorted header names, with the value of those in VALUE_HEADERS
        (an ETag is a resource's version: it must not move with a secret).
        """
        names = tuple(sorted({(k.lower(), v if k.lower() in VALUE_HEADERS else None)
                              for k, v in r.headers.items()}))
        body = "(not compared)" if label in BODY_NOT_COMPARED else self.body(r, label, keep)
        return r.status, r.content_type, names, body


def first_difference(a, b):
    """A short description of where two normalised answers differ."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            if isinstance(x, str) and isinstance(y, str):
                j = next((k for k, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
                return "part %d differs at %d:\n  %r\n  %r" % (i, j, x[max(0, j - 120):j + 120],
                                                              y[max(0, j - 120):j + 120])
            return "part %d differs: %r != %r" % (i, x, y)
    return "no difference"
