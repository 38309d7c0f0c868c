"""
Signed credentials (sql/0006_credentials.sql, daemon/credentials.c,
lib/vc.c): a diploma issued by a jury award, a certificate issued when a
one-project enrollment is completed, both served publicly as W3C Verifiable
Credentials with an eddsa-jcs-2022 proof that `certflow verify` checks
offline; revocation by an admin and by a substantiated fraud report, seen in
the status list; an open report blocks issuance; key rotation keeps old
credentials verifiable.
"""

import json
import subprocess

from cfclient import Client, assert_problem, wait_until
from jury_helpers import Diploma, jury_members, new_session, open_case, vote
from loop_helpers import (count, create_path, enroll, handover_body, qualify, scalar,
                          verdict_body)
from report_helpers import close, report_body, submit


def public(stack):
    return Client(stack)


def credential_of(admin, enrollment_id):
    r = admin.get("/v1/enrollments/%d" % enrollment_id)
    assert r.status == 200, r
    return r.json()


def award(admin, make_user, n_projects=2):
    """A diploma world brought to awarded by a unanimous jury; returns it."""
    w = Diploma(admin, make_user, n_projects=n_projects)
    w.complete()
    members = jury_members(make_user)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    s = new_session(pedagogy_c, w.path["id"], [u["id"] for u, _ in members])
    case = open_case(pedagogy_c, s["id"], w.eid)
    for _, c in members:
        vote(c, case["id"], "award")
    w.case = case
    w.session = s
    w.pedagogy_c = pedagogy_c
    return w


def pass_only_project(mentor_c, ev_c, enrollment, project):
    """Hands over and validates the enrollment's one project; returns the verdict answer."""
    a = enrollment["attempts"][0]
    r = mentor_c.post("/v1/attempts/%d/handover" % a["id"], handover_body())
    assert r.status == 200, r
    d = r.json()["defense"]
    r = ev_c.post("/v1/defenses/%d/verdict" % d["id"], verdict_body(project))
    assert r.status == 200, r
    return r.json()


def certificate_world(admin, make_user, n_projects=3, index=1):
    """A certificate enrollment for one project of a fresh path, not started."""
    path = create_path(admin, n_projects=n_projects, n_skills=2)
    mentor, mentor_c = make_user(["mentor"])
    student, student_c = make_user(["student"], name="Ada Certificate")
    ev, ev_c = make_user(["evaluator"])
    qualify(admin, ev["id"], path["id"])
    p = path["projects"][index]
    e = enroll(admin, student["id"], path["id"], mentor["id"], projects=[p["code"]])
    return e, p, mentor_c, ev_c, student_c


def certificate(admin, make_user):
    """A one-project certificate enrollment, completed; returns (enrollment id, project)."""
    e, p, mentor_c, ev_c, _ = certificate_world(admin, make_user)
    assert pass_only_project(mentor_c, ev_c, e, p)["enrollment"]["state"] == "completed"
    return e["id"], p


def fetch_credential(stack, cid):
    with public(stack) as c:
        r = c.get("/v1/credentials/%s" % cid)
    assert r.status == 200, r
    return r.body


def verify(stack, tmp_path, doc_bytes, *extra, name="cred.json"):
    f = tmp_path / name
    f.write_bytes(doc_bytes)
    p = subprocess.run([str(stack.certflow), "verify", str(f)] + list(extra),
                       capture_output=True, text=True, timeout=60,
                       env={"CERTFLOW_CA": stack.ca, "PATH": "/usr/bin:/bin"})
    return p


def keys_file(stack, tmp_path):
    with public(stack) as c:
        r = c.get("/.well-known/certflow/keys")
    assert r.status == 200, r
    f = tmp_path / "keys.json"
    f.write_bytes(r.body)
    return f


def test_award_issues_a_signed_diploma_that_verifies_offline(stack, admin, make_user, tmp_path):
    w = award(admin, make_user)
    view = credential_of(admin, w.eid)
    assert view["state"] == "awarded"
    cid = view["credential_id"]
    assert cid and len(cid) == 36, view
    assert view["credential"]["state"] == "issued"
    # the student sees it too
    r = w.student_c.get("/v1/enrollments/%d" % w.eid)
    assert r.json()["credential_id"] == cid

    body = fetch_credential(stack, cid)
    doc = json.loads(body)
    assert doc["type"] == ["VerifiableCredential", "CertflowDiploma"]
    assert doc["issuer"] == stack.url
    assert doc["id"] == "%s/v1/credentials/%s" % (stack.url, cid)
    subj = doc["credentialSubject"]
    assert subj["name"] == w.student["name"]
    assert subj["path"]["code"] == w.path["code"]
    assert {s["code"] for s in subj["skills"]} == {
        s["code"] for p in w.path["projects"] for s in p["skills"]}
    assert subj["jury"]["session"] == str(w.session["id"])
    st = doc["credentialStatus"]
    assert st["type"] == "BitstringStatusListEntry" and st["statusPurpose"] == "revocation"
    assert doc["proof"]["cryptosuite"] == "eddsa-jcs-2022"

    keys = keys_file(stack, tmp_path)
    p = verify(stack, tmp_path, body, "--keys", str(keys))
    assert p.returncode == 0, p.stderr
    assert w.student["name"] in p.stdout and w.path["code"] in p.stdout
    # served byte-identical, before and after the signer stored it
    wait_until(lambda: fetch_credential(stack, cid) == body, 30, what="the same bytes")


def test_one_altered_byte_fails_verification(stack, admin, make_user, tmp_path):
    w = award(admin, make_user, n_projects=1)
    cid = credential_of(admin, w.eid)["credential_id"]
    body = fetch_credential(stack, cid)
    keys = keys_file(stack, tmp_path)
    name = w.student["name"].encode()
    i = body.index(name)
    tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
    p = verify(stack, tmp_path, tampered, "--keys", str(keys), name="bad.json")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "certflow verify:" in p.stderr and "signature" in p.stderr
    assert "valid" not in p.stdout


def test_certificate_for_a_one_project_enrollment(stack, admin, make_user, tmp_path):
    eid, project = certificate(admin, make_user)
    view = credential_of(admin, eid)
    cid = view["credential_id"]
    assert cid, view
    doc = json.loads(fetch_credential(stack, cid))
    assert doc["type"] == ["VerifiableCredential", "CertflowCertificate"]
    subj = doc["credentialSubject"]
    assert [p["code"] for p in subj["projects"]] == [project["code"]]
    assert {s["code"] for s in subj["skills"]} == {s["code"] for s in project["skills"]}
    assert "jury" not in subj
    p = verify(stack, tmp_path, json.dumps(doc).encode(), "--keys", str(keys_file(stack, tmp_path)))
    assert p.returncode == 0, p.stderr


def test_admin_revocation_shows_in_the_status_list(stack, admin, make_user, tmp_path):
    eid, _ = certificate(admin, make_user)
    cid = credential_of(admin, eid)["credential_id"]
    body = fetch_credential(stack, cid)
    doc = json.loads(body)
    list_url = doc["credentialStatus"]["statusListCredential"]
    keys = keys_file(stack, tmp_path)
    p = verify(stack, tmp_path, body, "--keys", str(keys), "--status", list_url)
    assert p.returncode == 0, p.stderr
    assert "not revoked" in p.stdout

    pedagogy, pedagogy_c = make_user(["pedagogy"])
    r = pedagogy_c.post("/v1/credentials/%s/revoke" % cid, {"reason": "issued by mistake"})
    assert_problem(r, 403)
    r = admin.post("/v1/credentials/%s/revoke" % cid, {})
    assert_problem(r, 422, "reason")
    r = admin.post("/v1/credentials/%s/revoke" % cid, {"reason": "issued by mistake"})
    assert r.status == 200, r
    assert r.json()["state"] == "revoked" and r.json()["reason_category"] == "administrative"
    r = admin.post("/v1/credentials/%s/revoke" % cid, {"reason": "again"})
    assert_problem(r, 409)

    # still signed, still served; the list says revoked
    assert fetch_credential(stack, cid) == body
    p = verify(stack, tmp_path, body, "--keys", str(keys), "--status", list_url)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert "REVOKED" in p.stdout
    with public(stack) as c:
        r = c.get("/v1/credentials/%s/status" % cid)
    assert r.status == 200 and r.json()["state"] == "revoked", r
    assert "reason" not in r.json()     # the admin's words stay private
    assert credential_of(admin, eid)["credential"]["state"] == "revoked"


def test_unknown_credentials_and_lists(stack):
    with public(stack) as c:
        assert_problem(c.get("/v1/credentials/00000000-0000-4000-8000-000000000000"), 404)
        assert_problem(c.get("/v1/credentials/00000000-0000-4000-8000-000000000000/status"), 404)
        assert_problem(c.get("/v1/status-lists/999999"), 404)
        r = c.get("/v1/credentials/1")
        assert r.status == 404, r
        r = c.post("/v1/credentials/00000000-0000-4000-8000-000000000000/revoke",
                   {"reason": "x"})
        assert_problem(r, 401)


def test_an_open_report_blocks_issuance_until_closed(stack, admin, make_user, psql, tmp_path):
    e, p, mentor_c, ev_c, student_c = certificate_world(admin, make_user, n_projects=1, index=0)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    with Client(stack) as anon:
        _, rid = submit(anon, psql, report_body(enrollment_id=e["id"], project_code=p["code"]))
    assert pass_only_project(mentor_c, ev_c, e, p)["enrollment"]["state"] == "completed"

    # the student sees "pending", never why
    view = student_c.get("/v1/enrollments/%d" % e["id"]).json()
    assert view["credential_id"] is None
    assert view["credential"] == {"state": "pending"}
    assert "report" not in json.dumps(view["credential"])
    # pedagogy reads why
    view = pedagogy_c.get("/v1/enrollments/%d" % e["id"]).json()
    assert "report %d" % rid in view["credential"]["blocked_by"]
    r = pedagogy_c.post("/v1/enrollments/%d/credential" % e["id"], {})
    assert_problem(r, 409)
    assert "report %d" % rid in r.json()["detail"]

    close(pedagogy_c, rid, "unfounded", "none")
    view = student_c.get("/v1/enrollments/%d" % e["id"]).json()
    assert view["credential_id"] and view["credential"]["state"] == "issued", view
    r = pedagogy_c.post("/v1/enrollments/%d/credential" % e["id"], {})
    assert r.status == 200 and r.json()["id"] == view["credential_id"], r


def test_substantiated_report_revokes_with_its_category(stack, admin, make_user, psql, tmp_path):
    w = award(admin, make_user, n_projects=1)
    cid = credential_of(admin, w.eid)["credential_id"]
    with Client(stack) as anon:
        _, rid = submit(anon, psql, report_body(credential_id=cid))
    assert scalar(psql, "select enrollment_id from reports where id = %d" % rid) == str(w.eid)
    close(w.pedagogy_c, rid, "substantiated", "revoke_credential")
    with public(stack) as c:
        r = c.get("/v1/credentials/%s/status" % cid)
    assert r.json()["state"] == "revoked" and r.json()["reason_category"] == "plagiarism", r
    body = fetch_credential(stack, cid)
    url = json.loads(body)["credentialStatus"]["statusListCredential"]
    p = verify(stack, tmp_path, body, "--keys", str(keys_file(stack, tmp_path)), "--status", url)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert count(psql, "select count(*) from credentials where enrollment_id = %d "
                       "and state = 'issued'" % w.eid) == 0


def test_excluding_an_awarded_student_revokes_the_diploma(stack, admin, make_user, psql):
    w = award(admin, make_user, n_projects=1)
    cid = credential_of(admin, w.eid)["credential_id"]
    _, pedagogy_c = make_user(["pedagogy"])
    with Client(stack) as c:
        _, rid = submit(c, psql, report_body(enrollment_id=w.eid, category="impersonation"))
    close(pedagogy_c, rid, "substantiated", "exclude_student")
    view = credential_of(admin, w.eid)
    assert view["state"] == "excluded" and view["credential_id"] is None, view
    assert view["credential"]["state"] == "revoked"
    with public(stack) as c:
        r = c.get("/v1/credentials/%s/status" % cid)
    assert (r.json()["state"], r.json()["reason_category"]) == ("revoked", "impersonation"), r


def test_revoke_credential_before_issuance_withholds_it(stack, admin, make_user, psql):
    e, p, mentor_c, ev_c, student_c = certificate_world(admin, make_user, n_projects=1, index=0)
    _, pedagogy_c = make_user(["pedagogy"])
    with Client(stack) as c:
        _, rid = submit(c, psql, report_body(enrollment_id=e["id"]))
    assert pass_only_project(mentor_c, ev_c, e, p)["enrollment"]["state"] == "completed"
    out = close(pedagogy_c, rid, "substantiated", "revoke_credential")
    assert out["effect"]["applied"] is True, out
    view = student_c.get("/v1/enrollments/%d" % e["id"]).json()
    assert view["credential"] == {"state": "withheld"} and view["credential_id"] is None, view
    assert count(psql, "select count(*) from credentials where enrollment_id = %d" % e["id"]) == 0
    r = pedagogy_c.post("/v1/enrollments/%d/credential" % e["id"], {})
    assert_problem(r, 409)
    assert "withheld" in r.json()["detail"]
