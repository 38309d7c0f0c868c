"""Users: creation rules (roles, jury category, e-mail, name), reading, /v1/me."""

import pytest

from cfclient import assert_problem
from conftest import unique_email

ROLES = ["admin", "pedagogy", "mentor", "evaluator", "jury", "student"]
JURY_CATEGORIES = ["expert", "recruiter", "pedagogy", "mentor"]


def body(**over):
    b = {"name": "Ada Lovelace", "email": unique_email("ada"), "roles": ["student"]}
    b.update(over)
    return b


def test_admin_creates_a_user_and_gets_201_with_its_fields(admin):
    b = body(roles=["mentor", "evaluator"])
    r = admin.post("/v1/users", b)
    assert r.status == 201, r
    u = r.json()
    assert set(u) >= {"id", "name", "email", "roles", "jury_category", "token", "token_id"}, u
    assert isinstance(u["id"], int) and u["id"] > 0
    assert u["name"] == b["name"]
    assert u["email"] == b["email"]
    assert sorted(u["roles"]) == ["evaluator", "mentor"]
    assert u["jury_category"] is None


def test_created_user_is_readable_by_id(admin):
    r = admin.post("/v1/users", body(roles=["jury"], jury_category="recruiter"))
    assert r.status == 201, r
    u = r.json()
    g = admin.get("/v1/users/%d" % u["id"])
    assert g.status == 200, g
    got = g.json()
    for k in ("id", "name", "email", "jury_category"):
        assert got[k] == u[k], k
    assert got["roles"] == ["jury"]
    assert got["jury_category"] == "recruiter"


def test_me_describes_the_token_owner(make_user):
    user, client = make_user(["pedagogy", "jury"], jury_category="pedagogy", name="Grace Hopper")
    r = client.get("/v1/me")
    assert r.status == 200, r
    me = r.json()
    assert me["id"] == user["id"]
    assert me["name"] == "Grace Hopper"
    assert me["email"] == user["email"]
    assert sorted(me["roles"]) == ["jury", "pedagogy"]
    assert me["jury_category"] == "pedagogy"


def test_me_of_the_admin_has_the_admin_role(admin_me):
    assert "admin" in admin_me["roles"]
    assert admin_me["jury_category"] is None


def test_user_may_read_itself_by_id(make_user):
    user, client = make_user(["student"])
    r = client.get("/v1/users/%d" % user["id"])
    assert r.status == 200, r
    assert r.json()["id"] == user["id"]


def test_unknown_user_id_is_404(admin):
    assert_problem(admin.get("/v1/users/999999999"), 404)


@pytest.mark.parametrize("role", ROLES)
def test_each_single_role_is_accepted(admin, role):
    extra = {"jury_category": "expert"} if role == "jury" else {}
    r = admin.post("/v1/users", body(roles=[role], **extra))
    assert r.status == 201, r
    assert r.json()["roles"] == [role]


def test_all_six_roles_at_once_are_accepted(admin):
    r = admin.post("/v1/users", body(roles=list(ROLES), jury_category="mentor"))
    assert r.status == 201, r
    assert sorted(r.json()["roles"]) == sorted(ROLES)


@pytest.mark.parametrize("roles", [[], ["student", "student"], ROLES + ["student"]],
                         ids=["empty", "duplicate", "seven"])
def test_bad_role_list_is_422_on_roles(admin, roles):
    extra = {"jury_category": "expert"} if "jury" in roles else {}
    assert_problem(admin.post("/v1/users", body(roles=roles, **extra)), 422, field="roles")


@pytest.mark.parametrize("roles", [["wizard"], ["Student"], [1], [None]],
                         ids=["unknown", "wrong-case", "not-a-string", "null"])
def test_bad_role_item_is_422_on_roles_or_the_item(admin, roles):
    p = assert_problem(admin.post("/v1/users", body(roles=roles)), 422)
    assert p.get("field") in ("roles", "roles[0]"), p


def test_jury_without_category_is_422_on_jury_category(admin):
    assert_problem(admin.post("/v1/users", body(roles=["jury"])), 422, field="jury_category")


def test_jury_with_null_category_is_422_on_jury_category(admin):
    assert_problem(admin.post("/v1/users", body(roles=["jury"], jury_category=None)), 422,
                   field="jury_category")


def test_category_without_jury_role_is_422(admin):
    assert_problem(admin.post("/v1/users", body(roles=["mentor"], jury_category="expert")), 422,
                   field="jury_category")


@pytest.mark.parametrize("cat", JURY_CATEGORIES)
def test_each_jury_category_is_accepted(admin, cat):
    r = admin.post("/v1/users", body(roles=["jury"], jury_category=cat))
    assert r.status == 201, r
    assert r.json()["jury_category"] == cat


def test_unknown_jury_category_is_422(admin):
    assert_problem(admin.post("/v1/users", body(roles=["jury"], jury_category="judge")), 422,
                   field="jury_category")


@pytest.mark.parametrize("email", ["not-an-email", "a@@b.example", "two words@example.test",
                                   "@example.test", "user@", ""],
                         ids=["no-at", "two-ats", "space", "no-local", "no-domain", "empty"])
def test_bad_email_is_422_on_email(admin, email):
    assert_problem(admin.post("/v1/users", body(email=email)), 422, field="email")


def test_duplicate_email_is_409(admin):
    b = body()
    assert admin.post("/v1/users", b).status == 201
    again = body(email=b["email"], name="Someone Else")
    assert_problem(admin.post("/v1/users", again), 409)


def test_duplicate_email_differing_only_in_case_is_409(admin):
    b = body()
    assert admin.post("/v1/users", b).status == 201
    assert_problem(admin.post("/v1/users", body(email=b["email"].upper())), 409)


def test_empty_name_is_422_on_name(admin):
    assert_problem(admin.post("/v1/users", body(name="")), 422, field="name")


def test_name_of_201_chars_is_422_on_name(admin):
    assert_problem(admin.post("/v1/users", body(name="n" * 201)), 422, field="name")


def test_name_of_200_chars_is_accepted(admin):
    r = admin.post("/v1/users", body(name="n" * 200))
    assert r.status == 201, r
    assert r.json()["name"] == "n" * 200


def test_name_length_counts_characters_not_bytes(admin):
    name = "\u00e9" * 200          # 200 characters, 400 bytes in UTF-8
    r = admin.post("/v1/users", body(name=name))
    assert r.status == 201, r
    assert r.json()["name"] == name


def test_unicode_name_round_trips(admin):
    name = "Zo\u00eb \u6f22\u5b57 \U0001F600"
    r = admin.post("/v1/users", body(name=name))
    assert r.status == 201, r
    assert admin.get("/v1/users/%d" % r.json()["id"]).json()["name"] == name


def test_token_field_in_request_is_422(admin):
    assert_problem(admin.post("/v1/users", body(token="cf_x")), 422, field="token")
