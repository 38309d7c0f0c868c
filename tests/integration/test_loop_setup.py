"""Paths, qualifications, conflicts and enrollments: what is created, and what is refused."""

from cfclient import assert_problem
from loop_helpers import World, count, create_path, enroll, path_body, qualify, uid


def test_a_path_is_created_read_back_and_listed(admin, make_user):
    code = "loop-" + uid()
    r = admin.post("/v1/paths", path_body(code, n_projects=2, n_skills=5))
    assert r.status == 201, r
    path = r.json()
    assert path["code"] == code
    assert [(p["code"], p["position"], len(p["skills"])) for p in path["projects"]] == [
        ("p1", 1, 5), ("p2", 2, 5)]
    student, student_c = make_user(["student"])
    assert student_c.get("/v1/paths/%d" % path["id"]).json() == path
    listed = [p for p in student_c.get("/v1/paths").json() if p["id"] == path["id"]]
    assert listed == [{"id": path["id"], "code": code, "title": path["title"], "projects": 2}]
    assert_problem(student_c.get("/v1/paths/999999999"), 404)
    pedagogy, pedagogy_c = make_user(["pedagogy"])
    assert pedagogy_c.post("/v1/paths", path_body("loop-" + uid())).status == 201
    for roles in (["student"], ["mentor"], ["evaluator"]):
        _, c = make_user(roles)
        assert_problem(c.post("/v1/paths", path_body("loop-" + uid())), 403)


def test_a_duplicate_path_code_is_409(admin, psql):
    path = create_path(admin)
    body = path_body(path["code"], n_projects=1)
    body["title"] = "Impostor"
    assert_problem(admin.post("/v1/paths", body), 409, field="code")
    assert psql("select title from paths where code = '%s'" % path["code"]) == path["title"]


def test_a_duplicate_project_or_skill_in_the_body_is_422_and_leaves_no_path(admin, psql):
    code = "loop-" + uid()
    body = path_body(code, n_projects=3)
    body["projects"][1]["code"] = "p1"
    assert_problem(admin.post("/v1/paths", body), 422, field="projects[1].code")
    assert count(psql, "select count(*) from paths where code = '%s'" % code) == 0
    body = path_body(code, n_projects=2)
    body["projects"][1]["skills"][1]["code"] = body["projects"][1]["skills"][0]["code"]
    assert_problem(admin.post("/v1/paths", body), 422, field="projects[1].skills[1].code")
    assert count(psql, "select count(*) from paths where code = '%s'" % code) == 0
    # The same code is free afterwards: nothing was left behind.
    assert admin.post("/v1/paths", path_body(code)).status == 201


def test_path_bodies_out_of_bounds_are_422(admin, psql):
    code = "loop-" + uid()
    cases = [
        (path_body(code, n_projects=1, n_skills=6), "projects[0].skills"),
        (path_body(code, n_projects=1, n_skills=0), "projects[0].skills"),
        (dict(path_body(code), projects=[]), "projects"),
        (dict(path_body(code), code="has space"), "code"),
        (dict(path_body(code), owner="me"), "owner"),
    ]
    for body, field in cases:
        assert_problem(admin.post("/v1/paths", body), 422, field=field)
    assert count(psql, "select count(*) from paths where code = '%s'" % code) == 0


def test_qualifications_and_conflicts_check_the_roles(admin, make_user, psql):
    path = create_path(admin)
    mentor, _ = make_user(["mentor"])
    evaluator, evaluator_c = make_user(["evaluator"])
    student, _ = make_user(["student"])
    url = "/v1/users/%d/qualifications"
    assert_problem(admin.post(url % mentor["id"], {"path_id": path["id"]}), 409)
    assert_problem(admin.post(url % 999999999, {"path_id": path["id"]}), 404)
    assert_problem(admin.post(url % evaluator["id"], {"path_id": 999999999}), 422, field="path_id")
    q = qualify(admin, evaluator["id"], path["id"])
    assert (q["evaluator_id"], q["path_id"]) == (evaluator["id"], path["id"])
    assert_problem(admin.post(url % evaluator["id"], {"path_id": path["id"]}), 409)
    assert_problem(evaluator_c.post(url % evaluator["id"], {"path_id": path["id"]}), 403)
    assert count(psql, "select count(*) from qualifications where path_id = %d" % path["id"]) == 1

    body = {"evaluator_id": evaluator["id"], "student_id": mentor["id"], "reason": "family"}
    assert_problem(admin.post("/v1/conflicts", body), 422, field="student_id")
    body = {"evaluator_id": student["id"], "student_id": student["id"], "reason": "self"}
    assert_problem(admin.post("/v1/conflicts", body), 422, field="evaluator_id")
    body = {"evaluator_id": evaluator["id"], "student_id": student["id"], "reason": "family"}
    r = admin.post("/v1/conflicts", body)
    assert r.status == 201, r
    assert_problem(admin.post("/v1/conflicts", body), 409)
    assert_problem(evaluator_c.post("/v1/conflicts", body), 403)
    assert count(psql, "select count(*) from conflicts where student_id = %d" % student["id"]) == 1


def test_enrollments_check_roles_projects_and_uniqueness(admin, make_user, psql):
    w = World(admin, make_user, n_projects=3, n_evaluators=0)
    pid, sid, mid = w.path["id"], w.student["id"], w.mentor["id"]
    not_mentor, _ = make_user(["evaluator"])

    def refused(body, status, field=None):
        before = count(psql, "select count(*) from enrollments where student_id = %d" % sid)
        assert_problem(admin.post("/v1/enrollments", body), status, field=field)
        assert count(psql, "select count(*) from enrollments where student_id = %d" % sid) == before

    base = {"student_id": sid, "path_id": pid, "mentor_id": mid}
    refused(dict(base, mentor_id=not_mentor["id"]), 422, "mentor_id")
    refused(dict(base, student_id=mid), 422, "student_id")
    refused(dict(base, path_id=999999999), 422, "path_id")
    refused(dict(base, projects=["p9"]), 422, "projects[0]")
    refused(dict(base, projects=["p1", "nope"]), 422, "projects[1]")
    refused(dict(base, projects=["p2", "p2"]), 422, "projects[1]")
    refused(dict(base, projects=["p1", "p2", "p3"]), 422, "projects")
    refused(dict(base, projects=[]), 422, "projects")
    # The world already enrolled this student for the diploma: a second one is refused.
    refused(dict(base), 409)
    # A certificate of the same path is another kind: allowed, and ordered by position.
    c = enroll(admin, sid, pid, mid, projects=["p3", "p1"])
    assert c["kind"] == "certificate"
    assert [(a["project_code"], a["state"]) for a in c["attempts"]] == [
        ("p1", "mentoring"), ("p3", "pending")]
    refused(dict(base, projects=["p2"]), 409)
    assert_problem(w.mentor_c.post("/v1/enrollments", base), 403)
