"""
Confidentiality at rest (sql/0004, daemon/route_report.c): the database holds
report texts only sealed ("v1.<key id>.<payload>"), receipts only as a slow
keyed hash, and a confidential reporter only as a value no column reveals;
the audit log names no reporter and the logs hold no receipt or text.
An investigator (pedagogy) reads everything opened, the reporter's user id
included.
"""

import hashlib
import json

from report_helpers import (SEALED_RE, UNLIMITED, audit_rows, client, close, evidence,
                            follow_up, get_report, marker, message_rows, report_body, row_json,
                            submit)

TEXT_COLUMNS = ("subject_sealed", "body_sealed", "evidence_sealed", "feedback_sealed",
                "reporter_key_sealed")


def sealed_key_ids(row, columns):
    out = set()
    for col in columns:
        if row.get(col) is not None:
            m = SEALED_RE.match(row[col])
            assert m, "%s is not a sealed value: %r" % (col, row[col][:40])
            out.add(m.group(1))
    return out


def test_reports_and_messages_are_sealed_at_rest_and_open_for_pedagogy(
        stack, psql, make_user, extra_instance):
    inst = extra_instance(extra_conf=UNLIMITED)
    ped, _ = make_user(["pedagogy"])
    student, _ = make_user(["student"])
    ped_c = client(inst, ped)
    conf_c = client(inst, student)
    anon_c = client(inst)
    try:
        marks = {k: marker(k) for k in ("body", "evidence", "desc", "question", "answer",
                                        "feedback", "abody", "adesc")}
        # A confidential report, and an anonymous one.
        cj, cid = submit(conf_c, psql, report_body(description=marks["desc"],
                                                    body=marks["body"],
                                                    evidence_tag=marks["evidence"]))
        aj, aid = submit(anon_c, psql, report_body(description=marks["adesc"],
                                                    body=marks["abody"]))
        assert ped_c.post("/v1/reports/%d/messages" % cid,
                          {"body": marks["question"]}).status == 201
        assert anon_c.post("/v1/reports/follow-up/messages",
                           {"receipt": cj["receipt"], "body": marks["answer"]}).status == 201
        close(ped_c, cid, "unfounded", "none", marks["feedback"])
        assert follow_up(anon_c, cj["receipt"])["feedback"] == marks["feedback"]

        crow = row_json(psql, "reports", cid)
        arow = row_json(psql, "reports", aid)
        rows = [crow, arow] + message_rows(psql, cid) + message_rows(psql, aid)
        stored = json.dumps(rows)
        for name, m in marks.items():
            assert m not in stored, "the %s text is stored in clear" % name
        for receipt in (cj["receipt"], aj["receipt"]):
            assert receipt not in stored and receipt.replace("-", "") not in stored

        # Every text is sealed under the current key, and says which one.
        for row in (crow, arow):
            assert row["body_sealed"].startswith("v1.")
            assert sealed_key_ids(row, TEXT_COLUMNS) == {row["key_id"]}, row
        assert crow["feedback_sealed"].startswith("v1.")
        assert crow["reporter_key_sealed"].startswith("v1.")
        assert arow["reporter_key_sealed"] is None
        for m in message_rows(psql, cid):
            assert m["body_sealed"].startswith("v1.")
            assert sealed_key_ids(m, ["body_sealed"]) == {m["key_id"]}

        # The receipt only as a 32-byte keyed hash, not a plain SHA-256.
        for rid, receipt in ((cid, cj["receipt"]), (aid, aj["receipt"])):
            h = psql("select encode(receipt_hash, 'hex') from reports where id = %d" % rid)
            assert len(bytes.fromhex(h)) == 32
            digits = receipt.replace("-", "")
            assert h not in (hashlib.sha256(receipt.encode()).hexdigest(),
                             hashlib.sha256(digits.encode()).hexdigest())

        # The confidential reporter is in no column.
        uid = student["id"]
        assert crow["reporter_ct"] != uid
        for col, value in crow.items():
            if col == "id":
                continue        # the report's own id may equal a user id by chance
            assert value != uid and value != str(uid), "%s holds the reporter's id" % col
        assert crow["reporter_check"] != hashlib.sha256(str(uid).encode()).hexdigest()

        # The audit log: no actor for the reporter's steps, and no reporter anywhere.
        for rid in (cid, aid):
            audit = audit_rows(psql, rid)
            assert audit and audit[0]["action"] == "report.receive"
            assert audit[0]["actor_id"] is None
            for a in audit:
                assert a["actor_id"] in (None, ped["id"]), a
                text = json.dumps(a["details"])
                assert str(uid) not in text.replace(str(cid), "").replace(str(aid), ""), a
                for m in marks.values():
                    assert m not in text
        reporter_msg = [a for a in audit_rows(psql, cid) if a["details"].get("from") == "reporter"]
        assert reporter_msg and all(a["actor_id"] is None for a in reporter_msg)
        assert psql("select count(*) from audit_log where actor_id = %d" % uid) == "0"

        # Pedagogy reads it all, opened, and who the confidential reporter is.
        g = get_report(ped_c, cid)
        assert g["body"] == marks["body"]
        assert g["evidence"] == evidence(marks["evidence"])
        assert g["subject"]["description"] == marks["desc"]
        assert g["feedback"] == marks["feedback"]
        assert [m["body"] for m in g["messages"]] == [marks["question"], marks["answer"]]
        assert g["reporter_id"] == uid
        assert g["kind"] == "confidential"
        assert not any(k.endswith("_sealed") for k in g) and "reporter_sealed" not in g
        a = get_report(ped_c, aid)
        assert a["body"] == marks["abody"] and a["subject"]["description"] == marks["adesc"]
        assert a["reporter_id"] is None and a["kind"] == "anonymous"

        # The logs hold no receipt and no text.
        for log_text in (inst.log_text(), stack.log.read_text(errors="replace")):
            for receipt in (cj["receipt"], aj["receipt"]):
                assert receipt not in log_text and receipt.replace("-", "") not in log_text
            for name, m in marks.items():
                assert m not in log_text, "the %s text is in a log" % name
    finally:
        for c in (ped_c, conf_c, anon_c):
            c.close()


def test_a_report_with_a_tampered_sealed_value_does_not_open(stack, psql, make_user):
    """
    A sealed value moved to another column (another purpose) does not open
    there, and a reporter whose stored parts were altered is not named.
    """
    ped, ped_c = make_user(["pedagogy"])
    student, c = make_user(["student"])
    body = marker("body")
    desc = marker("desc")
    j, rid = submit(c, psql, report_body(description=desc, body=body))
    subject_sealed, ct = psql("select subject_sealed, reporter_ct from reports "
                              "where id = %d" % rid).split("|")
    try:
        psql("update reports set subject_sealed = body_sealed where id = %d" % rid)
        g = get_report(ped_c, rid)
        assert g["body"] == body
        assert g["subject"]["description"] == "(cannot be opened with the configured keys)"
        assert g["reporter_id"] == student["id"]
        psql("update reports set reporter_ct = reporter_ct # 1 where id = %d" % rid)
        g = get_report(ped_c, rid)
        assert g["reporter_id"] == "(does not check)"
    finally:
        # a value that opens nowhere would stop every later key rotation
        psql("update reports set subject_sealed = '%s', reporter_ct = %s where id = %d"
             % (subject_sealed, ct, rid))
    g = get_report(ped_c, rid)
    assert g["subject"]["description"] == desc and g["reporter_id"] == student["id"]
