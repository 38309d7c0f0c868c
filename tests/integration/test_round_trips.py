"""
One round trip per request, seen from PostgreSQL: every request a route
answers reaches the database as at most one statement, and every request it
answers with success as exactly one (the token check, the role and state
checks, the write and the audit row all inside it).

An extra certflowd connects as a role of its own, a member of certflow
with statement logging on (log_min_duration_statement = 0 for that role
only), so PostgreSQL's log holds every statement it executes and nothing of
anyone else's. In the route matrix's world (a diploma under way with a
blind review, a jury case, a certificate and its credential, a report and
its receipt), users of every kind then make every request of the route
table (world_helpers.calls_for: reads, every write, the reads again), one
at a time; for each, the statements executed while it was answered are
counted in the log. A statement's "execute" line is written before its
transaction's sync is answered, and certflowd answers the request only
after that sync: the count is complete when the answer arrives. The
instance's background jobs (audit sealer, credential signer, deadline
scanner) run their own statements meanwhile; they are told apart by name.
"""

import re
import uuid

import pytest

from test_faults import instance_conf, stack_conninfo
from test_route_matrix import SETTINGS, MatrixWorld
from world_helpers import (MISSING, calls_for, missing_routes, rate_limits_restore, rate_limits_snapshot,
                           skill_codes)

# answered by certflowd alone: its own counters, its signing keys
NO_DATABASE = {("GET", "/metrics"), ("GET", "/.well-known/certflow/keys")}
# daemon/routes.c's internal statements that no request sends
BACKGROUND = ("reassign_overdue", "credentials_unsigned", "credentials_store",
              "audit_seal_batch", "audit_head_store")
EXECUTE_RE = re.compile(r"LOG:  duration: [\d.]+ ms  execute ([^:]+): (.*)")


@pytest.fixture
def counted(stack, psql, extra_instance):
    """(an extra certflowd whose statements PostgreSQL logs, its log file, its offset)."""
    role = "cf_rt_" + uuid.uuid4().hex[:8]
    psql("create role %s login in role certflow" % role, user="postgres")
    psql("alter role %s set log_min_duration_statement = 0" % role, user="postgres")
    conninfo = re.sub(r"\buser=\S+", "user=" + role, stack_conninfo(stack))
    conf = instance_conf(stack, "cf-rt", conninfo=conninfo)
    inst = extra_instance(conf + "".join("%s = %s\n" % kv for kv in SETTINGS.items()))
    log = stack.var / "pg" / "postgres.log"
    assert log.exists(), log
    snap = rate_limits_snapshot(psql)
    yield inst, log
    rate_limits_restore(psql, snap)
    # The role stays (its sessions end with the instance); it logs nothing more.
    psql("alter role %s reset all" % role, user="postgres")
    psql("alter role %s nologin" % role, user="postgres")


class StatementLog:
    """Reads what PostgreSQL appended to LOG since the last read."""

    def __init__(self, log):
        self.f = open(log, "r", errors="replace")
        self.f.seek(0, 2)

    def new_statements(self):
        """The route statements executed since the last call (background jobs left out)."""
        out = []
        for line in self.f.read().splitlines():
            m = EXECUTE_RE.search(line)
            if m and not any("api.%s(" % b in m.group(2) for b in BACKGROUND):
                out.append(m.group(2))
        return out

    def close(self):
        self.f.close()


def matrix_ctx(w, psql, me_id):
    """calls_for's context: the ids of W's resources, as seen by the user ME_ID."""
    attempts = [a["id"] for a in w.e1["attempts"]]
    defenses = [int(x) for x in psql("select id from defenses where attempt_id in (%s) "
                                     "order by id" % ",".join(map(str, attempts))).split()]
    reviews = [x["id"] for x in w.c("reviewer").get("/v1/reviews?mine=1").json()]
    return {"tag": w.tag, "me": me_id,
            "users": {label: u["id"] for label, (u, _) in w.users.items()},
            "path": w.p["id"], "codes": skill_codes(w.p, 1), "enrollments": [w.e1["id"]],
            "attempts": attempts, "defenses": defenses, "reviews": reviews,
            "evaluators": [w.id("evaluator"), w.id("reviewer")],
            "student": w.id("student"), "mentor": w.id("mentor"), "evaluator": w.id("evaluator"),
            "report": w.report, "receipt": w.receipt, "session": w.session, "case": w.case,
            "credential": w.credential, "status_list": w.status_list}


def test_every_request_is_at_most_one_statement_and_every_success_exactly_one(stack, admin,
                                                                              psql, counted):
    inst, log = counted
    w = MatrixWorld(stack, inst, psql)
    stl = StatementLog(log)
    seen = {}          # (method, pattern) -> [(label, status, statements)]
    try:
        stl.new_statements()        # the world's set-up requests: not counted
        me = {"anonymous": MISSING, "admin": w.admin.get("/v1/me").json()["id"]}
        ctx = matrix_ctx(w, psql, MISSING)     # before any write: the review is pending
        for name in ("anonymous", "student", "mentor", "evaluator", "reviewer", "jury",
                     "pedagogy", "admin"):
            c = w.client(name)
            calls = calls_for(dict(ctx, me=me[name] if name in me else w.id(name)))
            assert missing_routes(calls) == [], missing_routes(calls)
            reads = [(k, v) for k, vs in calls.items() for v in vs if v[1] == "GET"]
            writes = [(k, v) for k, vs in calls.items() for v in vs if v[1] != "GET"]
            for key, (label, method, url, body, headers) in reads + writes + reads:
                stl.new_statements()
                r = c.request(method, url, body=body, headers=headers)
                seen.setdefault(key, []).append(("%s: %s" % (name, label), r.status,
                                                 stl.new_statements()))
    finally:
        stl.close()
        w.close()

    more = [(k, label, status, s) for k, v in seen.items() for label, status, s in v
            if len(s) > 1]
    assert more == [], "requests that took more than one statement: %r" % more[:5]
    lacking = [(k, label, status) for k, v in seen.items() for label, status, s in v
               if 200 <= status < 300 and len(s) != (0 if k in NO_DATABASE else 1)]
    assert lacking == [], "successes without their statement: %r" % lacking[:5]
    succeeded = {k for k, v in seen.items() if any(200 <= st < 300 for _, st, _ in v)}
    # The control: the log is read (successes were seen with their statement), and
    # most routes succeed for one of these users.
    assert len(succeeded) >= 40, sorted(seen.keys() - succeeded)
    print("%d requests over %d routes, %d of them answered with success; at most one "
          "statement each" % (sum(map(len, seen.values())), len(seen), len(succeeded)))
