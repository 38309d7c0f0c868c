"""
Following a report up with its receipt (POST /v1/reports/follow-up and
/follow-up/messages): the reporter's view of the state and the messages, a
conversation with the investigator both ways, the outcome and feedback once
closed; wrong and malformed receipts.
"""

import pytest

from cfclient import assert_problem
from report_helpers import (UNLIMITED, client, close, follow_up, get_report, marker,
                            report_body, submit)

FOLLOW_UP_KEYS = {"state", "category", "received_at", "acknowledged_at", "messages", "outcome",
                  "closed_at", "feedback"}


@pytest.fixture
def world(stack, psql, make_user, extra_instance):
    """(instance, anonymous reporter Client, pedagogy Client) on an unlimited instance."""
    inst = extra_instance(extra_conf=UNLIMITED)
    ped, _ = make_user(["pedagogy"])
    reporter = client(inst)
    ped_c = client(inst, ped)
    yield inst, reporter, ped_c, ped
    reporter.close()
    ped_c.close()


def test_the_reporter_and_the_investigator_talk_through_the_receipt_until_closed(world, psql):
    inst, reporter, ped_c, ped = world
    j, rid = submit(reporter, psql, report_body(description="someone", category="cheating"))
    receipt = j["receipt"]

    v = follow_up(reporter, receipt)
    assert set(v) == FOLLOW_UP_KEYS, v
    assert v["state"] == "received" and v["category"] == "cheating"
    assert v["messages"] == [] and v["outcome"] is None and v["feedback"] is None
    assert v["acknowledged_at"] is None and v["closed_at"] is None
    assert v["received_at"] == j["received_at"]

    # The receipt as typed by a person: spaces, or no separator at all.
    assert follow_up(reporter, receipt.replace("-", " ")) == v
    assert follow_up(reporter, receipt.replace("-", "")) == v

    # The investigator asks; the reporter reads it.
    question = marker("question")
    r = ped_c.post("/v1/reports/%d/messages" % rid, {"body": question})
    assert r.status == 201, r
    assert r.json()["from"] == "investigator"
    v = follow_up(reporter, receipt)
    assert [(m["from"], m["body"]) for m in v["messages"]] == [("investigator", question)]
    assert set(v["messages"][0]) == {"id", "from", "body", "at"}, v["messages"][0]

    # The reporter answers with the receipt; the investigator reads it.
    answer = marker("answer")
    r = reporter.post("/v1/reports/follow-up/messages",
                      {"receipt": receipt.replace("-", " "), "body": answer})
    assert r.status == 201, r
    assert r.json()["from"] == "reporter"
    g = get_report(ped_c, rid)
    assert [(m["from"], m["body"]) for m in g["messages"]] == [
        ("investigator", question), ("reporter", answer)]
    v = follow_up(reporter, receipt)
    assert [m["from"] for m in v["messages"]] == ["investigator", "reporter"]

    # Closed: the outcome and the feedback, and the conversation is over.
    feedback = marker("feedback")
    close(ped_c, rid, "unfounded", "none", feedback)
    v = follow_up(reporter, receipt)
    assert v["state"] == "closed" and v["outcome"] == "unfounded"
    assert v["feedback"] == feedback and v["closed_at"] is not None
    assert v["acknowledged_at"] is not None, "closing acknowledges too"
    assert len(v["messages"]) == 2
    assert_problem(reporter.post("/v1/reports/follow-up/messages",
                                 {"receipt": receipt, "body": "one more thing"}), 409)
    assert_problem(ped_c.post("/v1/reports/%d/messages" % rid, {"body": "and another"}), 409)
    assert len(get_report(ped_c, rid)["messages"]) == 2


def test_a_follow_up_never_shows_the_reporter_who_investigates(world, psql):
    inst, reporter, ped_c, ped = world
    j, rid = submit(reporter, psql, report_body(description="someone"))
    assert ped_c.post("/v1/reports/%d/messages" % rid, {"body": "which week?"}).status == 201
    r = reporter.post("/v1/reports/follow-up", {"receipt": j["receipt"]})
    assert r.status == 200, r
    text = r.body.decode()
    assert "investigator_id" not in text and ped["email"] not in text


def test_a_wrong_receipt_is_404_and_a_malformed_one_is_422(world, psql):
    inst, reporter, ped_c, ped = world
    j, rid = submit(reporter, psql, report_body(description="someone"))
    digits = j["receipt"].replace("-", "")
    wrong = ("0" if digits[0] != "0" else "1") + digits[1:]
    assert_problem(reporter.post("/v1/reports/follow-up", {"receipt": wrong}), 404,
                   field="receipt")
    assert_problem(reporter.post("/v1/reports/follow-up/messages",
                                 {"receipt": wrong, "body": "hello"}), 404, field="receipt")
    for bad in (digits[:-1], digits + "1", digits[:5] + "x" + digits[6:], "",
                "abcde-" * 4 + "abcde", digits[:10] + "/" + digits[10:]):
        assert_problem(reporter.post("/v1/reports/follow-up", {"receipt": bad}), 422,
                       field="receipt")
        assert_problem(reporter.post("/v1/reports/follow-up/messages",
                                     {"receipt": bad, "body": "hello"}), 422, field="receipt")
    assert_problem(reporter.post("/v1/reports/follow-up", {"receipt": 1234}), 422,
                   field="receipt")
    assert_problem(reporter.post("/v1/reports/follow-up", {}), 422, field="receipt")
    assert_problem(reporter.post("/v1/reports/follow-up",
                                 {"receipt": j["receipt"], "bogus": 1}), 422, field="bogus")
    # none of these left a message
    assert get_report(ped_c, rid)["messages"] == []
