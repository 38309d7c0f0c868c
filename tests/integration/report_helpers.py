"""
report_helpers.py - building blocks for the whistleblowing tests (sql/0004,
daemon/route_report.c): request bodies that carry unique marker strings, a
reporter's and an investigator's calls, the report id of a submission (read
from the audit log by request id, since the answer never names it), psql
readers of the stored rows, and the rate-limit counters. Never prints a
token or a receipt.

Rate limits are per client address and hour, and every test comes from
127.0.0.1: anonymous submissions and follow-ups go to an extra instance
started with UNLIMITED, so that no test spends another's allowance.
"""

import hashlib
import json
import re

from cfclient import Client
from loop_helpers import uid

UNLIMITED = "report_rate_limit = 100000\nreport_followup_rate_limit = 100000"

RECEIPT_RE = re.compile(r"^\d{5}(-\d{5}){4}$")
SEALED_RE = re.compile(r"^v1\.(.+)\.[A-Za-z0-9_-]+$")

DAY = 86400


def clock_conf(offset_s):
    """certflowd.conf lines that move "now" (api.now) OFFSET_S seconds ahead."""
    return "test_clock_enabled = yes\ntest_clock_offset_s = %d" % offset_s


def marker(what):
    """A string found nowhere else: a plaintext that must never be stored or logged."""
    return "MARK-%s-%s" % (what, uid())


def evidence(tag):
    """One evidence item whose URI carries TAG."""
    return [{"uri": "https://files.example.test/evidence/%s" % tag,
             "sha256": hashlib.sha256(tag.encode()).hexdigest()}]


def report_body(enrollment_id=None, description=None, credential_id=None, project_code=None,
                category="plagiarism", body=None, evidence_tag=None):
    """A POST /v1/reports body; the subject holds the given members only."""
    subject = {}
    if enrollment_id is not None:
        subject["enrollment_id"] = enrollment_id
    if credential_id is not None:
        subject["credential_id"] = credential_id
    if description is not None:
        subject["description"] = description
    out = {"subject": subject, "category": category,
           "body": body or "The report says what happened, in detail.",
           "evidence": evidence(evidence_tag or uid())}
    if project_code is not None:
        out["project_code"] = project_code
    return out


def client(target, user=None):
    """A Client on TARGET with USER's token (anonymous without); the caller closes it."""
    return Client(target, token=user["token"] if user else None)


def report_id_of(psql, resp):
    """The id of the report a 201 submission created, by the answer's X-Request-Id."""
    rid = resp.headers.get("X-Request-Id")
    assert rid and re.match(r"^[A-Za-z0-9._-]{1,64}$", rid), resp.headers
    out = psql("select entity_id from audit_log where action = 'report.receive' "
               "and request_id = '%s'" % rid)
    assert out and "\n" not in out, "one report.receive audit row for %s: %r" % (rid, out)
    return int(out)


def submit(c, psql, body, status=201):
    """Submits BODY with C; returns (answer json, report id)."""
    r = c.post("/v1/reports", body)
    assert r.status == status, r
    j = r.json()
    assert RECEIPT_RE.match(j.get("receipt", "")), "the receipt is 5 groups of 5 digits"
    return j, report_id_of(psql, r)


def follow_up(c, receipt):
    r = c.post("/v1/reports/follow-up", {"receipt": receipt}, token="")
    assert r.status == 200, r
    return r.json()


def get_report(pedagogy_c, report_id):
    r = pedagogy_c.get("/v1/reports/%d" % report_id)
    assert r.status == 200, r
    return r.json()


def acknowledge(pedagogy_c, report_id):
    r = pedagogy_c.post("/v1/reports/%d/acknowledge" % report_id, {})
    assert r.status == 200, r
    return r.json()


def close(pedagogy_c, report_id, outcome="unfounded", consequence="none", feedback=None):
    r = pedagogy_c.post("/v1/reports/%d/close" % report_id,
                        {"outcome": outcome, "consequence": consequence,
                         "feedback": feedback or "Thank you; the report was examined."})
    assert r.status == 200, r
    return r.json()


def listed(pedagogy_c, report_id, query=""):
    """The summary of REPORT_ID in GET /v1/reports (QUERY appended), or None."""
    r = pedagogy_c.get("/v1/reports" + query)
    assert r.status == 200, r
    return next((x for x in r.json() if x["id"] == report_id), None)


def row_json(psql, table, row_id):
    """One row of TABLE as a dict (to_jsonb), or None."""
    out = psql("select to_jsonb(t)::text from %s t where id = %d" % (table, row_id))
    return json.loads(out) if out else None


def message_rows(psql, report_id):
    out = psql("select coalesce(json_agg(to_jsonb(m) order by m.id), '[]')::text "
               "from report_messages m where report_id = %d" % report_id)
    return json.loads(out)


def audit_rows(psql, report_id):
    """[{action, actor_id, details}] of one report, oldest first."""
    out = psql("select coalesce(json_agg(json_build_object('action', action, "
               "'actor_id', actor_id, 'details', details) order by id), '[]')::text "
               "from audit_log where entity_type = 'report' and entity_id = %d" % report_id)
    return json.loads(out)


def clear_rate_limits(psql):
    psql("delete from rate_limits")
