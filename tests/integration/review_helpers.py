"""
review_helpers.py - building blocks for the double-blind review tests
(docs/REVIEW.md): a world of its own (path with a unique code, users whose
names and emails carry the world's tag) whose users talk to one certflowd
(usually an extra instance with its own review_rate), review request bodies,
psql readers for reviews and sampling decisions, the calibration statistics
recomputed in Python from docs/REVIEW.md, and a normaliser that lets two
answers be compared byte for byte once ids, timestamps and request ids are
taken out. Never prints a token.
"""

import hashlib
import json
import math
import re

from cfclient import Client
from loop_helpers import handover_body, path_body, qualify, uid

ALL_ONE = "review_rate = 1.0"      # every verdict sampled
NONE = "review_rate = 0.0"         # no verdict sampled (every factor multiplies 0)

Z95 = 1.959963984540054


# --------------------------------------------------------------- clients on an instance

class ClientPool:
    """
    pool(target, user) -> a Client for USER's token on TARGET (the stack or an
    extra certflowd). Every Client is closed when the test REQUEST ends.
    """

    def __init__(self, request):
        self.clients = []
        request.addfinalizer(self.close)

    def __call__(self, target, user):
        c = Client(target, token=user["token"])
        self.clients.append(c)
        return c

    def close(self):
        for c in self.clients:
            c.close()


# --------------------------------------------------------------- the world

class ReviewWorld:
    """
    One path of its own (code "rv-TAG"), and users created by ADMIN whose
    Clients (from POOL, a ClientPool) talk to TARGET (the stack or an extra
    certflowd sharing its database). Every name and email carries TAG, so that
    a Normaliser can take the world out of an answer. users maps a user id to
    (user json, Client).
    """

    def __init__(self, admin, target, pool, n_projects=1, n_skills=2, tag=None):
        self.admin = admin
        self.target = target
        self.pool = pool
        self.tag = tag or uid()
        self.users = {}
        r = admin.post("/v1/paths", path_body("rv-" + self.tag, n_projects, n_skills))
        assert r.status == 201, r
        self.path = r.json()
        self.projects = {p["code"]: p for p in self.path["projects"]}

    def user(self, roles, role_name, qualified=False, jury_category=None):
        """A user named "ROLE_NAME TAG" with email role_name-TAG@example.test."""
        slug = re.sub(r"[^a-z0-9]+", "-", role_name.lower()).strip("-")
        body = {"name": "%s %s" % (role_name, self.tag),
                "email": "%s-%s@example.test" % (slug, self.tag), "roles": list(roles)}
        if jury_category is not None:
            body["jury_category"] = jury_category
        r = self.admin.post("/v1/users", body)
        assert r.status == 201, r
        u = r.json()
        c = self.pool(self.target, u)
        self.users[u["id"]] = (u, c)
        if qualified:
            qualify(self.admin, u["id"], self.path["id"])
        return u, c

    def client(self, user_id):
        return self.users[user_id][1]

    def enroll(self, student, mentor):
        r = self.admin.post("/v1/enrollments", {"student_id": student["id"],
                                                "path_id": self.path["id"],
                                                "mentor_id": mentor["id"]})
        assert r.status == 201, r
        return r.json()

    def view(self, enrollment_id):
        r = self.admin.get("/v1/enrollments/%d" % enrollment_id)
        assert r.status == 200, r
        return r.json()

    def attempt(self, enrollment_id, position=1):
        return next(a for a in self.view(enrollment_id)["attempts"] if a["position"] == position)

    def handover(self, mentor_c, attempt_id, tag="work"):
        """The defense json {id, evaluator_id, due_at} the handover drew."""
        r = mentor_c.post("/v1/attempts/%d/handover" % attempt_id, handover_body(tag))
        assert r.status == 200, r
        return r.json()["defense"]

    def skill_codes(self, project_code="p1"):
        return [s["code"] for s in self.projects[project_code]["skills"]]

    def verdict(self, defense, verdict="validated", not_acquired=(), comment=None,
                project_code="p1"):
        """Posts the verdict of DEFENSE as its evaluator; returns the answer's json."""
        body = verdict_body(self.skill_codes(project_code), verdict, not_acquired, comment)
        r = self.client(defense["evaluator_id"]).post("/v1/defenses/%d/verdict" % defense["id"], body)
        assert r.status == 200, r
        return r.json()

    def review(self, review_id, reviewer_id, verdict="validated", not_acquired=(),
               comment=None, project_code="p1"):
        body = review_body(self.skill_codes(project_code), verdict, not_acquired, comment)
        r = self.client(reviewer_id).post("/v1/reviews/%d/verdict" % review_id, body)
        assert r.status == 200, r
        return r.json()


def verdict_body(codes, verdict="validated", not_acquired=(), comment=None, rec="rec"):
    body = {"verdict": verdict,
            "skills": [{"code": c, "acquired": c not in not_acquired} for c in codes],
            "recording": {"uri": "https://video.example.test/%s" % rec,
                          "sha256": hashlib.sha256(rec.encode()).hexdigest()}}
    if comment is not None:
        body["comment"] = comment
    return body


def review_body(codes, verdict="validated", not_acquired=(), comment=None):
    body = {"verdict": verdict,
            "skills": [{"code": c, "acquired": c not in not_acquired} for c in codes]}
    if comment is not None:
        body["comment"] = comment
    return body


# --------------------------------------------------------------- psql readers

def reviews_of(psql, defense_id):
    """[{id, reviewer_id, draw_id, state, requested_by, verdict}] of one defense, by id."""
    out = psql("select id, reviewer_id, draw_id, state, requested_by, coalesce(verdict, '') "
               "from reviews where defense_id = %d order by id" % defense_id)
    rows = []
    for line in out.splitlines():
        i, rv, dr, st, by, v = line.split("|")
        rows.append({"id": int(i), "reviewer_id": int(rv), "draw_id": int(dr), "state": st,
                     "requested_by": by, "verdict": v or None})
    return rows


def the_review(psql, defense_id):
    rows = reviews_of(psql, defense_id)
    assert len(rows) == 1, rows
    return rows[0]


def sample_rows(psql, defense_ids):
    """{defense_id: (seed bytes, probability float, factors list, sampled bool)}."""
    if not defense_ids:
        return {}
    out = psql("select defense_id, encode(seed, 'hex'), probability::text, "
               "array_to_string(factors, ','), sampled from review_samples "
               "where defense_id = any('{%s}'::bigint[])"
               % ",".join(str(d) for d in defense_ids))
    rows = {}
    for line in out.splitlines():
        d, seed, p, factors, sampled = line.split("|")
        rows[int(d)] = (bytes.fromhex(seed), float(p), factors.split(",") if factors else [],
                        sampled == "t")
    return rows


def calibration_row(psql, evaluator_id):
    """'vv|vn|nv|nn|overturned' of one evaluator, or '' without a row."""
    return psql("select vv || '|' || vn || '|' || nv || '|' || nn || '|' || overturned "
                "from evaluator_calibration where evaluator_id = %d" % evaluator_id)


# The calibration figures of evaluator ev.id since w.t, aggregated from the raw
# rows the plain way (every review, disagreement and miss since w.t).
RAW_FIGURES = """
    jsonb_build_object('evaluator_id', ev.id, 'since', w.t,
      'table', (SELECT jsonb_build_object(
            'vv', count(*) FILTER (WHERE d.verdict = 'validated' AND r.verdict = 'validated'),
            'vn', count(*) FILTER (WHERE d.verdict = 'validated' AND r.verdict = 'needs_improvement'),
            'nv', count(*) FILTER (WHERE d.verdict = 'needs_improvement' AND r.verdict = 'validated'),
            'nn', count(*) FILTER (WHERE d.verdict = 'needs_improvement'
                                   AND r.verdict = 'needs_improvement'))
          FROM reviews r, defenses d
          WHERE d.id = r.defense_id AND r.original_evaluator_id = ev.id
            AND r.state = 'submitted' AND r.submitted_at >= w.t),
      'per_skill', (SELECT coalesce(jsonb_agg(jsonb_build_object('project_code', j.code,
                'skill_code', k.code, 'disagreements', s.n) ORDER BY s.n DESC, k.id), '[]')
          FROM (SELECT rs.skill_id, count(*) AS n
                FROM reviews r, review_skills rs, defense_skills ds
                WHERE rs.review_id = r.id AND ds.defense_id = r.defense_id
                  AND ds.skill_id = rs.skill_id AND ds.acquired <> rs.acquired
                  AND r.original_evaluator_id = ev.id AND r.state = 'submitted'
                  AND r.submitted_at >= w.t
                GROUP BY rs.skill_id) s, skills k, projects j
          WHERE k.id = s.skill_id AND j.id = k.project_id),
      'overturned', (SELECT count(*) FROM disagreements g, defenses d
          WHERE d.id = g.defense_id AND d.evaluator_id = ev.id
            AND g.outcome = 'original_overturned' AND g.resolved_at >= w.t),
      'missed_deadlines', (SELECT count(*) FROM evaluator_misses m
          WHERE m.evaluator_id = ev.id AND m.kind IN ('deadline', 'review_deadline')
            AND m.created_at >= w.t))
"""


def calibration_mismatches(psql, evaluators_sql, windows_sql):
    """
    (pairs compared, ["evaluator|since" where api.calibration_figures differs
    from RAW_FIGURES]) for every evaluator id EVALUATORS_SQL selects and every
    non-null instant WINDOWS_SQL selects.
    """
    out = psql("WITH ev(id) AS (%s), w(t) AS (%s), "
               "pairs AS (SELECT ev.id, w.t, %s AS want FROM ev, w WHERE w.t IS NOT NULL) "
               "SELECT count(*), coalesce(string_agg(id || '|' || t, ',') "
               "  FILTER (WHERE api.calibration_figures(id, t) IS DISTINCT FROM want), '') "
               "FROM pairs" % (evaluators_sql, windows_sql, RAW_FIGURES))
    compared, differing = out.split("|", 1)
    return int(compared), [x for x in differing.split(",") if x]


# --------------------------------------------------------------- sampling, in Python

def sample_decide(seed, probability):
    """
    docs/REVIEW.md: x = the first 56 bits of SHA-256(seed || "sample");
    sampled when x < ceil(p 2^56), in integers.
    """
    x = int.from_bytes(hashlib.sha256(seed + b"sample").digest()[:7], "big")
    return x < math.ceil(probability * float(1 << 56))


# --------------------------------------------------------------- calibration, in Python

def wilson(successes, n, z=Z95):
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def expected_stats(table, floor):
    """The figures docs/REVIEW.md defines for a table {vv, vn, nv, nn} (None where undefined)."""
    vv, vn, nv, nn = table["vv"], table["vn"], table["nv"], table["nn"]
    n = vv + vn + nv + nn
    if n == 0:
        return {"reviews": 0, "agreements": 0, "agreement": None, "wilson_low": 0.0,
                "wilson_high": 1.0, "kappa": None, "ac1": None, "leniency": None,
                "severity": None, "flagged": False}
    p_o = (vv + nn) / n
    orig_v, orig_n = (vv + vn) / n, (nv + nn) / n
    rev_v, rev_n = (vv + nv) / n, (vn + nn) / n
    p_e = orig_v * rev_v + orig_n * rev_n
    kappa = 1.0 if (vv == n or nn == n) else (p_o - p_e) / (1 - p_e)
    pi_v = (orig_v + rev_v) / 2
    p_e1 = 2 * pi_v * (1 - pi_v)
    ac1 = (p_o - p_e1) / (1 - p_e1)
    low, high = wilson(vv + nn, n)
    return {"reviews": n, "agreements": vv + nn, "agreement": p_o, "wilson_low": low,
            "wilson_high": high, "kappa": kappa, "ac1": ac1, "leniency": vn / n,
            "severity": nv / n, "flagged": high < floor}


def close(a, b):
    """Equal figures, allowing for the 6 significant digits certflowd prints."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return a == b
    return math.isclose(a, b, rel_tol=2e-5, abs_tol=1e-6)


def assert_stats(obj, floor, what=""):
    """OBJ's statistics are those of its table."""
    want = expected_stats(obj["table"], floor)
    for k, v in want.items():
        if k == "flagged" and k not in obj:
            continue
        assert close(obj[k], v), "%s%s: got %r, expected %r (table %r)" % (
            what, k, obj[k], v, obj["table"])


# --------------------------------------------------------------- comparing answers

TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)?")
ID_KEY_RE = re.compile(r"^(id|.*_id|.*_by)$")


class Normaliser:
    """
    Takes a world out of its answers: an int under an id key becomes "#n",
    numbered in order of first appearance among the values found at the same
    place (the keys leading to it, list positions left out), so that equal ids
    stay equal and ids of different tables, which may collide, stay apart;
    timestamps become "TS", request ids "RID", and each string of REPLACE
    (the world's tag) its placeholder.
    """

    def __init__(self, replace):
        self.replace = dict(replace)
        self.ids = {}

    def _id(self, where, v):
        seen = self.ids.setdefault(where, {})
        if v not in seen:
            seen[v] = "#%d" % (len(seen) + 1)
        return seen[v]

    def _str(self, s):
        for k, v in self.replace.items():
            s = s.replace(k, v)
        return TIMESTAMP_RE.sub("TS", s)

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
            return "RID" if key == "request_id" else self._str(x)
        return x

    def response(self, r, label=""):
        """
        (status, content type, normalised body text) of a Response; LABEL
        (the call) keeps apart the ids of different answers at the same place.
        """
        try:
            body = json.dumps(self._walk(r.json(), label))
        except ValueError:
            body = self._str(r.body.decode("utf-8", "replace"))
        return r.status, r.content_type, body


def walk(x, key=None):
    """Yields (key, value) for every scalar of a parsed JSON value, with its nearest key."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from walk(v, k)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v, key)
    else:
        yield key, x


def keys_of(x):
    """Every object key of a parsed JSON value."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield k
            yield from keys_of(v)
    elif isinstance(x, list):
        for v in x:
            yield from keys_of(v)


def shape(x):
    """The keys of a parsed JSON value, recursively, without the values."""
    if isinstance(x, dict):
        return {k: shape(v) for k, v in x.items()}
    if isinstance(x, list):
        return [shape(v) for v in x[:1]]
    return type(x).__name__


def body_json(r):
    try:
        return r.json()
    except ValueError:
        return None


def user_id_leaks(r, user_id):
    """Keys under which USER_ID appears in R's body as a user reference."""
    user_keys = {"evaluator_id", "reviewer_id", "original_evaluator_id", "author_id",
                 "resolved_by", "requester_id", "actor_id", "user_id", "from_reviewer_id",
                 "previous_reviewer_id", "previous_evaluator_id", "student_id", "mentor_id"}
    out = []
    for k, v in walk(body_json(r)):
        if isinstance(v, int) and not isinstance(v, bool) and v == user_id and k in user_keys:
            out.append(k)
        if (isinstance(v, str) and k in ("detail", "reopened_reason")
                and re.search(r"(?<!\d)%d(?!\d)" % user_id, v)):
            out.append("%s (in text %r)" % (k, v))
    return out
