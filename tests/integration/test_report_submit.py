"""
Submitting a fraud report (POST /v1/reports): anonymous or confidential with
a token, a receipt of 5 groups of 5 digits, and an answer that never depends
on the subject, so that the route cannot be used to probe enrollments.
"""

import uuid
from datetime import datetime, timedelta

import pytest

from cfclient import assert_problem
from loop_helpers import World
from report_helpers import (DAY, RECEIPT_RE, UNLIMITED, client, marker, report_body,
                            report_id_of, row_json)
from review_helpers import TIMESTAMP_RE

ANSWER_KEYS = {"state", "received_at", "acknowledgement_due_at", "receipt"}


def ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_received(r):
    """R is a 201 submission answer; returns its json."""
    assert r.status == 201, r
    assert r.content_type == "application/json", r.headers
    j = r.json()
    assert set(j) == ANSWER_KEYS, j
    assert j["state"] == "received"
    assert RECEIPT_RE.match(j["receipt"]), "the receipt is not 5 groups of 5 digits"
    assert ts(j["acknowledgement_due_at"]) - ts(j["received_at"]) == timedelta(days=7), j
    return j


def count_reports(psql):
    return int(psql("select count(*) from reports"))


def test_an_anonymous_report_is_received_with_a_receipt_and_is_stored_as_anonymous(
        stack, psql, extra_instance):
    inst = extra_instance(extra_conf=UNLIMITED)
    c = client(inst)
    try:
        r = c.post("/v1/reports", report_body(description="someone in cohort 12"))
        j = assert_received(r)
        rid = report_id_of(psql, r)
        row = row_json(psql, "reports", rid)
        assert row["kind"] == "anonymous"
        assert row["state"] == "received"
        assert row["reporter_key_sealed"] is None and row["reporter_ct"] is None
        assert row["reporter_check"] is None
        # Two submissions never share a receipt.
        j2 = assert_received(c.post("/v1/reports", report_body(description="another one")))
        assert j2["receipt"] != j["receipt"]
    finally:
        c.close()


@pytest.mark.parametrize("role", ["student", "mentor"])
def test_a_confidential_report_with_a_token_has_the_same_shape_and_is_stored_as_confidential(
        stack, psql, make_user, role):
    user, c = make_user([role])
    r = c.post("/v1/reports", report_body(description="a defense last week"))
    assert_received(r)
    row = row_json(psql, "reports", report_id_of(psql, r))
    assert row["kind"] == "confidential"
    assert row["reporter_key_sealed"] and row["reporter_ct"] is not None
    assert row["reporter_check"]


def test_a_malformed_unknown_or_revoked_token_is_401_and_stores_nothing(
        stack, admin, psql, make_user):
    user, c = make_user(["student"])
    body = report_body(description="x")
    before = count_reports(psql)
    assert_problem(c.post("/v1/reports", body, token="not-a-token"), 401)
    assert_problem(c.post("/v1/reports", body, headers={"Authorization": "Basic Zm9vOmJhcg=="},
                          token=""), 401)
    assert_problem(c.post("/v1/reports", body, token="cf_" + "A" * 43), 401)
    assert admin.delete("/v1/tokens/%d" % user["token_id"]).status == 204
    assert_problem(c.post("/v1/reports", body), 401)
    assert count_reports(psql) == before


def issued_credential(admin, make_user):
    """(enrollment id, credential id) of a one-project certificate just completed."""
    w = World(admin, make_user, n_projects=1, n_evaluators=1, projects=["p1"])
    d = w.handover(w.attempt("p1")["id"])["defense"]
    assert w.verdict(d, "p1")["enrollment"]["state"] == "completed"
    cid = w.view()["credential_id"]
    assert cid, w.view()
    return w.eid, cid


def test_the_answer_is_the_same_for_a_known_an_unknown_and_no_enrollment(
        stack, admin, make_user, psql, extra_instance):
    inst = extra_instance(extra_conf=UNLIMITED)
    w = World(admin, make_user, n_projects=1, n_evaluators=1)
    unknown = int(psql("select coalesce(max(id), 0) + 1000000 from enrollments"))
    issued_eid, issued = issued_credential(admin, make_user)
    unknown_cid = str(uuid.uuid4())
    assert psql("select count(*) from credentials where id = '%s'" % unknown_cid) == "0"
    c = client(inst)
    try:
        answers = []
        ids = []
        for body in (report_body(enrollment_id=w.eid, project_code="p1"),
                     report_body(enrollment_id=unknown, project_code="p1"),
                     report_body(description="the student with the red bike",
                                 project_code="p1"),
                     report_body(credential_id=issued, project_code="p1"),
                     report_body(credential_id=unknown_cid, project_code="p1")):
            r = c.post("/v1/reports", body)
            assert_received(r)
            ids.append(report_id_of(psql, r))
            j = r.json()
            # everything but the moment and the receipt
            answers.append((r.status, r.content_type, sorted(r.headers.keys()),
                            TIMESTAMP_RE.sub("TS", r.body.decode().replace(j["receipt"], "R"))))
        assert all(a == answers[0] for a in answers), answers
    finally:
        c.close()
    # ...while the report itself keeps the known enrollment and drops the unknown one,
    # and links a known credential to its enrollment, keeping an unknown one to link.
    rows = [row_json(psql, "reports", i) for i in ids]
    assert [(x["enrollment_id"], x["credential_id"]) for x in rows] == [
        (w.eid, None), (None, None), (None, None), (issued_eid, issued), (None, unknown_cid)], rows


@pytest.mark.parametrize("anonymous", [True, False])
def test_a_subject_naming_nothing_is_422_subject(stack, psql, make_user, extra_instance,
                                                 anonymous):
    if anonymous:
        inst = extra_instance(extra_conf=UNLIMITED)
        c = client(inst)
    else:
        user, c = make_user(["student"])
    try:
        before = count_reports(psql)
        body = report_body(description="x")
        body["subject"] = {}
        assert_problem(c.post("/v1/reports", body), 422, field="subject")
        assert count_reports(psql) == before
    finally:
        if anonymous:
            c.close()


@pytest.mark.parametrize("change,field", [
    (lambda b: b.update(bogus=1), "bogus"),
    # a reporter cannot hand in a sealed value of its own
    (lambda b: b.update(body_sealed="v1.dev1.AAAA"), "body_sealed"),
    (lambda b: b.update(reporter_id=1), "reporter_id"),
    (lambda b: b["subject"].update(description_sealed="v1.dev1.AAAA"),
     "subject.description_sealed"),
    (lambda b: b["subject"].update(student_id=1), "subject.student_id"),
    (lambda b: b["evidence"][0].update(note="x"), "evidence[0].note"),
    (lambda b: b.pop("category"), "category"),
    (lambda b: b.update(category="gossip"), "category"),
    (lambda b: b.pop("body"), "body"),
    (lambda b: b.update(body=""), "body"),
    (lambda b: b.pop("subject"), "subject"),
    (lambda b: b["subject"].update(enrollment_id="12"), "subject.enrollment_id"),
    (lambda b: b.update(project_code="not a code!"), "project_code"),
])
def test_an_unknown_or_bad_field_is_422_naming_it_and_stores_nothing(
        stack, psql, make_user, change, field):
    user, c = make_user(["student"])
    body = report_body(description=marker("desc"))
    change(body)
    before = count_reports(psql)
    assert_problem(c.post("/v1/reports", body), 422, field=field)
    assert count_reports(psql) == before


def test_the_acknowledgement_deadline_follows_report_ack_days(
        stack, psql, make_user, extra_instance):
    inst = extra_instance(extra_conf="report_ack_days = 3")
    user, _ = make_user(["student"])
    c = client(inst, user)
    try:
        r = c.post("/v1/reports", report_body(description="x"))
        assert r.status == 201, r
        j = r.json()
        assert ts(j["acknowledgement_due_at"]) - ts(j["received_at"]) == timedelta(days=3)
        row = row_json(psql, "reports", report_id_of(psql, r))
        assert (ts(row["ack_due_at"]) - ts(row["received_at"])).total_seconds() == 3 * DAY
    finally:
        c.close()
