"""
Retries and concurrent edits (sql/0008_idempotency.sql, daemon/route_dispatch.c):
Idempotency-Key on POST routes replays the first answer without repeating
the effect, refuses the same key for another request, and expires; If-Match
with a stale version is refused with 412 and changes nothing; versioned
resources carry their version and GETs their ETag.
"""

import subprocess
import threading

from cfclient import Client, assert_problem
from conftest import pg_environ
from loop_helpers import World as LoopWorld, count, uid


def note(week, text="Steady progress this week."):
    return {"week": week, "progress": 40, "body": text, "at_risk": False}


def notes_of(psql, eid):
    return count(psql, "select count(*) from notes where enrollment_id = %d" % eid)


def audit_count(psql, action, entity_id):
    return count(psql, "select count(*) from audit_log where action = '%s' and entity_id = %d"
                 % (action, entity_id))


def test_a_retry_with_the_same_key_replays_the_first_answer(stack, admin, make_user, psql):
    w = LoopWorld(admin, make_user)
    key = "retry-" + uid()
    hdrs = {"Idempotency-Key": key}
    first = w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, note("2026-W10"), headers=hdrs)
    assert first.status == 201, first
    assert "Idempotent-Replayed" not in first.headers
    again = w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, note("2026-W10"), headers=hdrs)
    assert again.status == 201, again
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert notes_of(psql, w.eid) == 1
    assert audit_count(psql, "note.create", first.json()["id"]) <= 1

    # the same key for another body, or another route: 422, nothing done
    r = w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, note("2026-W11"), headers=hdrs)
    assert_problem(r, 422, "Idempotency-Key")
    assert notes_of(psql, w.eid) == 1
    # another caller's key space is its own
    r = admin.post("/v1/paths", {"code": "k-" + uid(), "title": "Keyed",
                                 "projects": [{"code": "p1", "title": "P",
                                               "skills": [{"code": "s", "title": "S"}]}]},
                   headers=hdrs)
    assert r.status == 201, r


def test_concurrent_requests_with_one_key_have_one_effect(stack, admin, make_user, psql):
    w = LoopWorld(admin, make_user)
    key = "race-" + uid()
    answers, errors = [], []

    def go():
        c = Client(stack, token=w.mentor["token"])
        try:
            r = c.post("/v1/enrollments/%d/notes" % w.eid, note("2026-W20"),
                       headers={"Idempotency-Key": key})
            answers.append((r.status, r.body))
        except BaseException as e:     # reported below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert {a for a in answers} == {answers[0]} and answers[0][0] == 201, answers
    assert notes_of(psql, w.eid) == 1


def test_an_expired_key_runs_again_and_secrets_are_never_replayed(stack, admin, psql):
    key = "exp-" + uid()
    body = {"name": "Keyed user", "email": "keyed-%s@example.test" % uid(), "roles": ["student"]}
    first = admin.post("/v1/users", body, headers={"Idempotency-Key": key})
    assert first.status == 201 and first.json().get("token"), first
    again = admin.post("/v1/users", body, headers={"Idempotency-Key": key})
    assert again.status == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert "token" not in again.json(), "a token is shown once, never replayed"
    assert again.json()["id"] == first.json()["id"]
    psql("update idempotency_keys set expires_at = now() - interval '1 second' "
         "where key = '%s'" % key)
    third = admin.post("/v1/users", body, headers={"Idempotency-Key": key})
    assert third.status == 409, third     # ran again: the e-mail is taken
    assert "Idempotent-Replayed" not in third.headers


def test_malformed_headers_are_refused(stack, admin, make_user):
    w = LoopWorld(admin, make_user)
    url = "/v1/enrollments/%d/notes" % w.eid
    assert_problem(w.mentor_c.post(url, note("2026-W30"), headers={"Idempotency-Key": "a" * 256}),
                   400, "Idempotency-Key")
    assert_problem(w.mentor_c.post(url, note("2026-W30"), headers={"Idempotency-Key": "sp ace"}),
                   400, "Idempotency-Key")
    for bad in ('"0"', "abc", '"3', '"1", "2"', "-1"):
        assert_problem(w.mentor_c.post(url, note("2026-W30"), headers={"If-Match": bad}),
                       400, "If-Match")
    # a route that changes no versioned resource takes no If-Match
    body = {"code": "m-" + uid(), "title": "T",
            "projects": [{"code": "p1", "title": "P", "skills": [{"code": "s", "title": "S"}]}]}
    assert_problem(admin.post("/v1/paths", body, headers={"If-Match": '"1"'}), 400, "If-Match")


def test_if_match_with_a_stale_version_changes_nothing(stack, admin, make_user, psql):
    w = LoopWorld(admin, make_user)
    r = w.mentor_c.get("/v1/enrollments/%d" % w.eid)
    version = r.json()["version"]
    assert r.headers.get("ETag") == '"%d"' % version
    url = "/v1/enrollments/%d/notes" % w.eid
    ok = w.mentor_c.post(url, note("2026-W40"), headers={"If-Match": '"%d"' % version})
    assert ok.status == 201, ok
    # the note changed the enrollment: the version the client read is stale
    stale = w.mentor_c.post(url, note("2026-W41"), headers={"If-Match": '"%d"' % version})
    assert_problem(stale, 412, "If-Match")
    assert notes_of(psql, w.eid) == 1
    fresh = w.mentor_c.get("/v1/enrollments/%d" % w.eid)
    assert fresh.json()["version"] == version + 1
    r = w.mentor_c.post(url, note("2026-W41"), headers={"If-Match": fresh.headers["ETag"]})
    assert r.status == 201, r
    assert w.mentor_c.post(url, note("2026-W42"), headers={"If-Match": "*"}).status == 201


def test_if_match_tells_nothing_to_who_may_not_act(stack, admin, make_user):
    w = LoopWorld(admin, make_user)
    stranger, stranger_c = make_user(["mentor"])
    r = stranger_c.post("/v1/enrollments/%d/notes" % w.eid, note("2026-W43"),
                        headers={"If-Match": '"999"'})
    assert r.status in (403, 404), r


def test_a_revoked_token_gets_no_replay(stack, admin, make_user, psql):
    w = LoopWorld(admin, make_user)
    hdrs = {"Idempotency-Key": "revoked-" + uid()}
    first = w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, note("2026-W44"), headers=hdrs)
    assert first.status == 201, first
    r = admin.delete("/v1/tokens/%d" % w.mentor["token_id"])
    assert r.status in (200, 204), r
    assert_problem(w.mentor_c.post("/v1/enrollments/%d/notes" % w.eid, note("2026-W44"),
                                   headers=hdrs), 401)


def test_the_evaluator_reads_the_version_of_a_pending_defense(stack, admin, make_user):
    w = LoopWorld(admin, make_user)
    a = w.attempt("p1")
    d = w.handover(a["id"])["defense"]
    ev_c = w.evaluator_c(d["evaluator_id"])
    mine = ev_c.get("/v1/defenses?mine=1").json()
    listed = [x for x in mine if x["id"] == d["id"]]
    assert len(listed) == 1 and listed[0]["version"] >= 1, mine
    from loop_helpers import verdict_body
    r = ev_c.post("/v1/defenses/%d/verdict" % d["id"], verdict_body(w.projects["p1"]),
                  headers={"If-Match": '"%d"' % listed[0]["version"]})
    assert r.status == 200, r


def test_versions_bump_once_per_transaction_under_one_setting_name(stack, admin, make_user, psql):
    """
    A session that changes many versioned rows, each in its own transaction,
    keeps a fixed set of setting names (sql/0010_session_settings.sql): a
    name per row made a pooled connection slower with every row it touched.
    In one transaction a row changed twice is bumped once, and
    api.version_before still tells the version it had before.
    """
    w = LoopWorld(admin, make_user, n_projects=8)
    eid = w.enrollment["id"]
    attempts = [a["id"] for a in w.enrollment["attempts"]]
    assert len(attempts) == 8
    before = {int(i): int(v) for i, v in (
        row.split("|") for row in psql("select id, version from attempts where enrollment_id = %d"
                                       % eid).split())}
    # one session, several transactions: psql reading a script (psql -c would send
    # it all as one transaction)
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
                         env=pg_environ(stack), capture_output=True, text=True, timeout=60,
                         input="""
        do $$ declare r record; begin
            for r in select id from attempts where enrollment_id = %(e)d order by id loop
                update attempts set round = round where id = r.id;
                commit;
            end loop;
        end $$;
        update enrollments set last_note_at = last_note_at where id = %(e)d;
        begin;
        update attempts set round = round where id = %(a)d;
        update attempts set round = round where id = %(a)d;
        select 'inside', version, api.version_before('attempts', %(a)d),
               api.version_before('enrollments', %(e)d)
        from attempts where id = %(a)d;
        commit;
        select 'names', count(*) filter (where current_setting(
                   format('certflow.v_attempts_%%s', id), true) is not null)
        from attempts where enrollment_id = %(e)d;
        """ % {"e": eid, "a": attempts[0]})
    assert out.returncode == 0, out.stderr
    out = out.stdout
    rows = {line.split("|")[0]: line.split("|")[1:] for line in out.split()}
    # the loop bumped each attempt once; the transaction bumped the first once more
    assert rows["inside"] == [str(before[attempts[0]] + 2), str(before[attempts[0]] + 1),
                              str(int(psql("select version from enrollments where id = %d"
                                           % eid)))], rows
    after = {int(i): int(v) for i, v in (
        row.split("|") for row in psql("select id, version from attempts where enrollment_id = %d"
                                       % eid).split())}
    assert after == {a: before[a] + (2 if a == attempts[0] else 1) for a in attempts}, after
    # eight attempts changed in their own transactions: the session learnt no
    # setting name for any of them (a name it has used stays known: '' not NULL)
    assert rows["names"] == ["0"], rows
