"""
Rate limits per client address and hour (sql/0004 api.rate_hit): anonymous
submissions beyond report_rate_limit and follow-ups beyond
report_followup_rate_limit (right or wrong receipts alike) are 429 with a
Retry-After; confidential submissions are not limited. The counters live in
rate_limits, shared by every test from 127.0.0.1: cleared before and after.
"""

import time

import pytest

from cfclient import assert_problem
from report_helpers import clear_rate_limits, client, report_body, report_id_of

SUBMIT_LIMIT = 2
FOLLOW_UP_LIMIT = 3


@pytest.fixture
def limited(stack, psql, extra_instance):
    """An instance with small limits, its counters empty, and not too close to the hour."""
    # The counters restart every hour: keep the test inside one window.
    left = float(psql("select extract(epoch from date_trunc('hour', now()) "
                      "+ interval '1 hour' - now())"))
    if left < 30:
        time.sleep(left + 1)
    clear_rate_limits(psql)
    inst = extra_instance(extra_conf="report_rate_limit = %d\nreport_followup_rate_limit = %d"
                          % (SUBMIT_LIMIT, FOLLOW_UP_LIMIT))
    try:
        yield inst
    finally:
        clear_rate_limits(psql)


def assert_rate_limited(r):
    p = assert_problem(r, 429)
    wait = r.headers.get("Retry-After")
    assert wait is not None and wait.isdigit(), r.headers
    assert 0 < int(wait) <= 3600, wait
    return p


def test_anonymous_reports_beyond_the_limit_are_429_but_confidential_ones_are_not(
        limited, psql, make_user):
    anon = client(limited)
    user, _ = make_user(["student"])
    conf = client(limited, user)
    try:
        before = int(psql("select count(*) from reports"))
        for _ in range(SUBMIT_LIMIT):
            assert anon.post("/v1/reports", report_body(description="x")).status == 201
        assert_rate_limited(anon.post("/v1/reports", report_body(description="x")))
        assert_rate_limited(anon.post("/v1/reports", report_body(description="x")))
        assert int(psql("select count(*) from reports")) == before + SUBMIT_LIMIT
        for _ in range(SUBMIT_LIMIT + 2):
            r = conf.post("/v1/reports", report_body(description="x"))
            assert r.status == 201, r
        assert int(psql("select count(*) from reports")) == before + 2 * SUBMIT_LIMIT + 2
        # the counter never holds the address itself
        assert "127.0.0.1" not in psql("select string_agg(encode(source, 'escape'), ',') "
                                       "from rate_limits")
    finally:
        anon.close()
        conf.close()


def test_follow_ups_beyond_the_limit_are_429_for_right_and_wrong_receipts_alike(
        limited, psql, make_user):
    user, _ = make_user(["student"])
    conf = client(limited, user)
    anon = client(limited)
    try:
        # a confidential submission: it spends no follow-up or submission allowance
        r = conf.post("/v1/reports", report_body(description="x"))
        assert r.status == 201, r
        receipt = r.json()["receipt"]
        rid = report_id_of(psql, r)
        digits = receipt.replace("-", "")
        wrong = ("0" if digits[0] != "0" else "1") + digits[1:]
        assert anon.post("/v1/reports/follow-up", {"receipt": receipt}).status == 200
        assert_problem(anon.post("/v1/reports/follow-up", {"receipt": wrong}), 404)
        # a malformed receipt is refused before it is counted
        assert_problem(anon.post("/v1/reports/follow-up", {"receipt": "123"}), 422)
        assert anon.post("/v1/reports/follow-up/messages",
                         {"receipt": receipt, "body": "hello"}).status == 201
        assert_rate_limited(anon.post("/v1/reports/follow-up", {"receipt": wrong}))
        assert_rate_limited(anon.post("/v1/reports/follow-up", {"receipt": receipt}))
        assert_rate_limited(anon.post("/v1/reports/follow-up/messages",
                                      {"receipt": receipt, "body": "hello again"}))
        # ...also for a caller with a token: the route is public
        assert_rate_limited(conf.post("/v1/reports/follow-up", {"receipt": receipt}))
        assert int(psql("select count(*) from report_messages where report_id = %d"
                        % rid)) == 1
    finally:
        anon.close()
        conf.close()
