"""
Investigation clocks (EU Directive 2019/1937, Art. 9): acknowledgement due
report_ack_days after receipt, feedback report_feedback_months after
acknowledgement; GET /v1/reports lists overdue reports first and GET
/v1/alerts reminds pedagogy report_reminder_days before each deadline and
once it is past. Instances with a test clock (test_clock_enabled,
test_clock_offset_s) move "now" forward instead of sleeping.
"""

import subprocess
from datetime import datetime

from cfclient import slowness
from conftest import certflowd_argv, conf_with
from report_helpers import (DAY, acknowledge, client, close, listed, report_body, submit,
                            clock_conf as clock)


def ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def report_alerts(c, report_id):
    r = c.get("/v1/alerts")
    assert r.status == 200, r
    return [a for a in r.json() if a.get("kind") == "report" and a["report_id"] == report_id]


def test_reports_become_due_soon_then_overdue_and_are_listed_overdue_first(
        stack, psql, make_user, extra_instance):
    ped, ped_c = make_user(["pedagogy"])
    reporter, reporter_c = make_user(["student"])
    _, late = submit(reporter_c, psql, report_body(description="late one"))
    _, done = submit(reporter_c, psql, report_body(description="closed one"))
    close(ped_c, done)

    # Now: nothing is due yet.
    assert listed(ped_c, late)["overdue"] is None
    assert report_alerts(ped_c, late) == []
    assert report_alerts(ped_c, done) == []

    # 6 days later: the acknowledgement is due within report_reminder_days (2).
    six = extra_instance(extra_conf=clock(6 * DAY))
    c6 = client(six, ped)
    try:
        assert listed(c6, late)["overdue"] is None
        alerts = report_alerts(c6, late)
        assert len(alerts) == 1, alerts
        a = alerts[0]
        assert a["reason"] == "acknowledgement_due_soon", a
        assert a["kind"] == "report" and a["detail"]
        assert ts(a["due_at"]) == ts(listed(c6, late)["acknowledgement_due_at"])
        assert report_alerts(c6, done) == []
    finally:
        c6.close()

    # 8 days later: overdue, listed before a closed report of an earlier date.
    eight = extra_instance(extra_conf=clock(8 * DAY))
    c8 = client(eight, ped)
    r8 = client(eight, reporter)
    try:
        _, fresh = submit(r8, psql, report_body(description="received on day 8"))
        s = listed(c8, late)
        assert s["overdue"] == "acknowledgement", s
        assert listed(c8, done)["overdue"] is None
        assert listed(c8, fresh)["overdue"] is None
        assert ts(listed(c8, done)["closed_at"]) < ts(s["acknowledgement_due_at"])
        order = c8.get("/v1/reports").json()
        ids = [x["id"] for x in order]
        assert ids.index(late) < ids.index(done) and ids.index(late) < ids.index(fresh)
        flags = [x["overdue"] is not None for x in order]
        assert flags == sorted(flags, reverse=True), "an overdue report after one that is not"
        alerts = report_alerts(c8, late)
        assert [(a["kind"], a["report_id"], a["reason"]) for a in alerts] == [
            ("report", late, "acknowledgement_overdue")]
        assert report_alerts(c8, fresh) == []
        # ?state= filters, and the clock does not move the stored deadlines
        assert listed(c8, late, "?state=received") is not None
        assert listed(c8, late, "?state=closed") is None
        assert listed(c8, done, "?state=closed") is not None
    finally:
        c8.close()
        r8.close()

    # Acknowledged (now): feedback due 3 months later; the alerts follow it.
    ack = acknowledge(ped_c, late)
    assert ack["state"] == "acknowledged" and ack["overdue"] is None
    assert psql("select feedback_due_at = acknowledged_at + interval '3 months' "
                "from reports where id = %d" % late) == "t"
    assert report_alerts(ped_c, late) == []
    span = int((ts(ack["feedback_due_at"]) - ts(ack["acknowledged_at"])).total_seconds())

    soon = extra_instance(extra_conf=clock(span - DAY))
    cs = client(soon, ped)
    try:
        assert listed(cs, late)["overdue"] is None
        assert [a["reason"] for a in report_alerts(cs, late)] == ["feedback_due_soon"]
    finally:
        cs.close()

    far = extra_instance(extra_conf=clock(95 * DAY))
    cf = client(far, ped)
    try:
        assert listed(cf, late)["overdue"] == "feedback"
        alerts = report_alerts(cf, late)
        assert [a["reason"] for a in alerts] == ["feedback_overdue"], alerts
        assert ts(alerts[0]["due_at"]) == ts(ack["feedback_due_at"])
        assert report_alerts(cf, done) == []
    finally:
        cf.close()

    # Closed: no clock runs any more.
    close(ped_c, late)
    far2 = extra_instance(extra_conf=clock(400 * DAY))
    c400 = client(far2, ped)
    try:
        assert listed(c400, late)["overdue"] is None
        assert report_alerts(c400, late) == []
    finally:
        c400.close()


def test_the_clock_offset_is_ignored_unless_enabled_and_refused_by_check_config(
        stack, tmp_path):
    def check(**keys):
        conf = tmp_path / "clock.conf"
        conf.write_text(conf_with(stack.conf_text(), **keys))
        return subprocess.run(certflowd_argv(stack, "--check-config", "-c", str(conf)),
                              capture_output=True, text=True, timeout=60 * slowness(),
                              stdin=subprocess.DEVNULL)

    p = check(test_clock_offset_s="691200")
    assert p.returncode != 0
    assert "test_clock_offset_s" in p.stdout + p.stderr, p.stdout + p.stderr
    p = check(test_clock_enabled="no", test_clock_offset_s="691200")
    assert p.returncode != 0
    assert "test_clock_offset_s" in p.stdout + p.stderr
    p = check(test_clock_enabled="yes", test_clock_offset_s="691200")
    assert p.returncode == 0, p.stdout + p.stderr
