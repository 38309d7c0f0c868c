"""
Rotating the report sealing key (etc/certflowd.conf report_key_file,
cli/cmd_keys.c): append a key, SIGHUP certflowd, run "certflow keys
rotate-reports"; every sealed value of every report and message is then
under the new key and still opens, for investigators and reporters alike.
Appending is permanent for the session, so this module runs late; no other
test depends on which key is current.
"""

import os
import re
import secrets
import signal
import stat
from pathlib import Path

import pytest

from cfclient import wait_until
from loop_helpers import certflow_cli, uid
from report_helpers import (SEALED_RE, UNLIMITED, client, close, evidence, follow_up,
                            get_report, marker, report_body, submit)

SEALED_COLUMNS = ("subject_sealed", "body_sealed", "evidence_sealed", "feedback_sealed",
                  "reporter_key_sealed")


def conf_value(text, key):
    m = re.search(r"^\s*%s\s*=\s*(.*?)\s*$" % re.escape(key), text, re.M)
    assert m, "%s is not in the configuration" % key
    return m.group(1)


def key_ids_in_use(psql):
    """Every key id the database names: key_id columns and the ids inside sealed values."""
    sql = " union ".join(
        ["select key_id from reports", "select key_id from report_messages",
         "select api.sealed_key_id(body_sealed) from report_messages"] +
        ["select api.sealed_key_id(%s) from reports where %s is not null" % (c, c)
         for c in SEALED_COLUMNS])
    return set(psql(sql).split())


def reload_seen(log_path, start, new_id):
    text = Path(log_path).read_text(errors="replace")[start:]
    return "the current one is %s" % new_id in text


def keys_file_of(stack):
    return Path(conf_value(stack.conf_text(), "report_key_file"))


def append_key(stack):
    """Appends a new current key to the stack's report_key_file; returns its id."""
    new_id = "rot-" + uid()
    with open(keys_file_of(stack), "a") as f:
        f.write("%s %s\n" % (new_id, secrets.token_hex(32)))
    return new_id


def reload_keys(pid, log, new_id):
    """SIGHUPs certflowd PID and waits until LOG says NEW_ID is the current key."""
    start = len(Path(log).read_text(errors="replace"))
    os.kill(pid, signal.SIGHUP)
    wait_until(lambda: reload_seen(log, start, new_id), 15,
               what="certflowd %d to reload the report keys" % pid)


def sealed_state(psql):
    """A digest of every key id and sealed value of reports and messages."""
    return psql("select md5(coalesce((select string_agg(concat_ws('|', id, key_id, %s), ',' "
                "order by id) from reports), '') || coalesce((select string_agg(concat_ws('|', "
                "id, key_id, body_sealed), ',' order by id) from report_messages), ''))"
                % ", ".join(SEALED_COLUMNS))


def test_rotating_the_report_key_reseals_everything_and_it_still_opens(
        stack, psql, make_user, extra_instance):
    inst = extra_instance(extra_conf=UNLIMITED)
    ped, ped_stack_c = make_user(["pedagogy"])
    student, student_c = make_user(["student"])
    ped_c = client(inst, ped)
    anon_c = client(inst)
    try:
        m = {k: marker(k) for k in ("body", "evidence", "desc", "question", "answer",
                                    "feedback", "cbody")}
        # Under the old key: an anonymous report with a conversation, closed with
        # feedback, and a confidential one.
        aj, aid = submit(anon_c, psql, report_body(description=m["desc"], body=m["body"],
                                                   evidence_tag=m["evidence"]))
        assert ped_c.post("/v1/reports/%d/messages" % aid, {"body": m["question"]}).status == 201
        assert anon_c.post("/v1/reports/follow-up/messages",
                           {"receipt": aj["receipt"], "body": m["answer"]}).status == 201
        close(ped_c, aid, "unfounded", "none", m["feedback"])
        cj, cid = submit(student_c, psql, report_body(description="x", body=m["cbody"]))

        keys_file = keys_file_of(stack)
        old_ids = {line.split()[0] for line in keys_file.read_text().splitlines() if line.strip()}
        assert key_ids_in_use(psql) <= old_ids
        before = {"reports": int(psql("select count(*) from reports")),
                  "messages": int(psql("select count(*) from report_messages")),
                  "body": psql("select body_sealed from reports where id = %d" % aid)}

        # A new key, appended; the file stays private.
        new_id = append_key(stack)
        assert stat.S_IMODE(os.stat(keys_file).st_mode) == 0o600

        # Both running certflowds reload it.
        reload_keys(stack.pid, stack.log, new_id)
        reload_keys(inst.proc.pid, inst.log, new_id)
        assert inst.proc.poll() is None

        p = certflow_cli(stack, "keys", "rotate-reports")
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "re-sealed %d reports and %d messages under key %s" % (
            before["reports"], before["messages"], new_id), p.stdout
        assert key_ids_in_use(psql) == {new_id}
        assert psql("select body_sealed from reports where id = %d" % aid) != before["body"]
        assert psql("select count(*) from audit_log where action = 'reports.rotate_keys' "
                    "and details ->> 'key_id' = '%s'" % new_id) == "1"
        stored = psql("select string_agg(to_jsonb(r)::text, ' ') from reports r")
        for name, text in m.items():
            assert text not in stored, name

        # Everything still opens, on both certflowds, for pedagogy and the reporter.
        for c in (ped_c, ped_stack_c):
            a = get_report(c, aid)
            assert a["body"] == m["body"] and a["subject"]["description"] == m["desc"]
            assert a["evidence"] == evidence(m["evidence"]) and a["feedback"] == m["feedback"]
            assert [x["body"] for x in a["messages"]] == [m["question"], m["answer"]]
            assert a["reporter_id"] is None
            cr = get_report(c, cid)
            assert cr["body"] == m["cbody"] and cr["reporter_id"] == student["id"]
        v = follow_up(anon_c, aj["receipt"])
        assert v["feedback"] == m["feedback"]
        assert [x["body"] for x in v["messages"]] == [m["question"], m["answer"]]

        # New values are sealed under the new key; a second rotation has nothing to do.
        _, nid = submit(student_c, psql, report_body(description="after", body="after"))
        assert psql("select key_id from reports where id = %d" % nid) == new_id
        assert SEALED_RE.match(psql("select body_sealed from reports where id = %d" % nid)
                               ).group(1) == new_id
        p = certflow_cli(stack, "keys", "rotate-reports")
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "re-sealed 0 reports and 0 messages under key %s" % new_id
    finally:
        ped_c.close()
        anon_c.close()


def test_rotate_reports_refuses_bad_usage(stack):
    p = certflow_cli(stack, "keys")
    assert p.returncode == 2 and "rotate-reports" in p.stderr
    p = certflow_cli(stack, "keys", "rotate-everything")
    assert p.returncode == 2 and "rotate-reports" in p.stderr


@pytest.fixture
def failed_rotation(stack, psql, make_user):
    """
    A rotation to a new key that meets a value it cannot open (a body sealed
    for another purpose): yields (the CLI's result, the sealed state before,
    the sealed state after). Then repairs the value, rotates for real and
    reloads the stack, so that later tests find everything under the current key.
    """
    student, c = make_user(["student"])
    _, rid = submit(c, psql, report_body(description="moved", body="kept"))
    original = psql("select body_sealed from reports where id = %d" % rid)
    new_id = append_key(stack)
    psql("update reports set body_sealed = subject_sealed where id = %d" % rid)
    try:
        before = sealed_state(psql)
        p = certflow_cli(stack, "keys", "rotate-reports")
        yield p, before, sealed_state(psql), rid
    finally:
        psql("update reports set body_sealed = '%s' where id = %d" % (original, rid))
        p = certflow_cli(stack, "keys", "rotate-reports")
        assert p.returncode == 0, p.stderr
        reload_keys(stack.pid, stack.log, new_id)
        assert key_ids_in_use(psql) == {new_id}


def test_a_rotation_that_meets_a_value_it_cannot_open_fails_and_changes_nothing(
        failed_rotation):
    p, before, after, rid = failed_rotation
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "re-sealed" not in p.stdout
    assert after == before


def test_a_rotation_that_fails_says_why(failed_rotation):
    p, before, after, rid = failed_rotation
    assert p.returncode == 1
    assert "report" in p.stderr, "no error message: %r" % p.stderr
