"""User administration over the real HTTP API: create, validate, change, and the audit trail of each act."""

from __future__ import annotations

from sqlalchemy import select

from db.models import User
from infra.security import verify_password
from tests.support import audit_rows, headers_for, token_for, unique

PASSWORD = "first-password-123"


def user_row(sync_session, username: str) -> User | None:
    with sync_session() as s:
        row = s.scalar(select(User).where(User.username == username))
        if row is not None:
            s.expunge(row)
        return row


def accepted(sync_session, username: str, action: str) -> list:
    return audit_rows(sync_session, subject_id=username, action=action, outcome="accepted")


async def create(http, admin, username: str, **fields):
    body = {"username": username, "full_name": "Test User", "password": PASSWORD, "roles": ["agent"], **fields}
    return await http.post("/api/users", json=body, headers=admin)


async def test_admin_creates_a_user(http, login, sync_session):
    admin = await login("admin")
    username = unique("kx-new")
    response = await create(
        http,
        admin,
        username,
        full_name="新用户 New User",
        roles=["engineer", "coordinator"],
        department="technical-support",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("username", "full_name", "roles", "department", "active")} == {
        "username": username,
        "full_name": "新用户 New User",
        "roles": ["engineer", "coordinator"],
        "department": "technical-support",
        "active": True,
    }
    assert "password" not in body and "password_hash" not in body

    row = user_row(sync_session, username)
    assert row.roles == ["engineer", "coordinator"] and row.department == "technical-support" and row.active
    assert row.password_hash != PASSWORD and verify_password(PASSWORD, row.password_hash)

    journal = accepted(sync_session, username, "user.create")
    assert len(journal) == 1
    entry = journal[0]
    assert (entry.actor, entry.actor_roles, entry.subject_type) == ("admin", ["admin"], "user")
    assert entry.details == {"roles": ["engineer", "coordinator"], "department": "technical-support"}
    assert PASSWORD not in str(entry.details)

    # The new user signs in with their password and sees their roles.
    me = await http.get("/api/auth/me", headers=await headers_for(http, username, PASSWORD))
    assert me.json() == {"username": username, "roles": ["engineer", "coordinator"], "department": "technical-support"}
    # And the admin's list shows them.
    listed = await http.get("/api/users", headers=admin)
    assert listed.status_code == 200
    assert next(u for u in listed.json() if u["username"] == username)["roles"] == ["engineer", "coordinator"]
    names = [u["username"] for u in listed.json()]
    assert names == sorted(names) and "agent1" in names


async def test_duplicate_username_conflicts(http, login, sync_session):
    admin = await login("admin")
    username = unique("kx-dup")
    assert (await create(http, admin, username)).status_code == 201
    again = await create(http, admin, username, full_name="Someone Else", roles=["admin"])
    assert again.status_code == 409
    assert again.json()["detail"].startswith("username:")
    row = user_row(sync_session, username)
    assert (row.full_name, row.roles) == ("Test User", ["agent"])  # the first user is untouched
    assert len(accepted(sync_session, username, "user.create")) == 1
    # A demo user too.
    assert (await create(http, admin, "agent1")).status_code == 409


async def test_invalid_username_is_rejected_naming_the_field(http, login, sync_session):
    admin = await login("admin")
    for bad in ("Has Space", "UPPER", "-leading-dash", "x", "a" * 65, "名字"):
        response = await create(http, admin, bad)
        assert response.status_code == 422, f"{bad!r}: {response.text}"
        locs = [err["loc"] for err in response.json()["detail"]]
        assert ["body", "username"] in locs, f"{bad!r}: {locs}"
        assert user_row(sync_session, bad) is None


async def test_other_invalid_fields_are_named(http, login):
    admin = await login("admin")
    cases = {
        "password": {"password": "short"},
        "roles": {"roles": []},
        "full_name": {"full_name": ""},
    }
    for field, change in cases.items():
        response = await create(http, admin, unique("kx-bad"), **change)
        assert response.status_code == 422, f"{field}: {response.text}"
        assert ["body", field] in [err["loc"] for err in response.json()["detail"]], response.text
    unknown_role = await create(http, admin, unique("kx-bad"), roles=["superuser"])
    assert unknown_role.status_code == 422
    assert any(err["loc"][:2] == ["body", "roles"] for err in unknown_role.json()["detail"])


async def test_department_role_needs_a_department(http, login, sync_session):
    admin = await login("admin")
    username = unique("kx-dept")
    response = await create(http, admin, username, roles=["department"])
    assert response.status_code == 422, response.text
    assert "department" in response.json()["detail"][0]["msg"]
    assert user_row(sync_session, username) is None
    assert accepted(sync_session, username, "user.create") == []

    ok = await create(http, admin, username, roles=["department"], department="operations")
    assert ok.status_code == 201, ok.text

    # Through PATCH: giving the department role to a user without a department is refused too.
    plain = unique("kx-nodept")
    assert (await create(http, admin, plain)).status_code == 201
    patched = await http.patch(f"/api/users/{plain}", json={"roles": ["department"]}, headers=admin)
    assert patched.status_code == 422
    assert patched.json()["detail"].startswith("department:")
    assert user_row(sync_session, plain).roles == ["agent"]
    # ... and so is removing the department of a department-role user.
    cleared = await http.patch(f"/api/users/{username}", json={"department": None}, headers=admin)
    assert cleared.status_code == 422
    assert user_row(sync_session, username).department == "operations"
    assert accepted(sync_session, plain, "user.update") == [] and accepted(sync_session, username, "user.update") == []


async def test_patch_roles_takes_effect_on_the_next_request(http, login, sync_session):
    admin = await login("admin")
    username = unique("kx-roles")
    assert (await create(http, admin, username)).status_code == 201
    session = await headers_for(http, username, PASSWORD)
    assert (await http.get("/api/tasks", params={"scope": "all"}, headers=session)).status_code == 403

    response = await http.patch(f"/api/users/{username}", json={"roles": ["agent", "supervisor"]}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["agent", "supervisor"]
    assert user_row(sync_session, username).roles == ["agent", "supervisor"]

    # Roles are read from the database per request: the token issued before the change already carries them.
    me = await http.get("/api/auth/me", headers=session)
    assert me.json()["roles"] == ["agent", "supervisor"]
    assert (await http.get("/api/tasks", params={"scope": "all"}, headers=session)).status_code == 200

    journal = accepted(sync_session, username, "user.update")
    assert len(journal) == 1
    assert journal[0].actor == "admin" and set(journal[0].details) == {"roles"}
    assert "supervisor" in journal[0].details["roles"]

    # A role change the other way is just as immediate.
    assert (await http.patch(f"/api/users/{username}", json={"roles": ["agent"]}, headers=admin)).status_code == 200
    assert (await http.get("/api/tasks", params={"scope": "all"}, headers=session)).status_code == 403
    assert len(accepted(sync_session, username, "user.update")) == 2


async def test_password_change_works_for_login(http, login, sync_session):
    admin = await login("admin")
    username = unique("kx-pw")
    assert (await create(http, admin, username)).status_code == 201
    assert (await token_for(http, username, PASSWORD)).status_code == 200

    new_password = "second-password-456"
    response = await http.patch(f"/api/users/{username}", json={"password": new_password}, headers=admin)
    assert response.status_code == 200, response.text

    assert (await token_for(http, username, PASSWORD)).status_code == 401
    assert (await token_for(http, username, new_password)).status_code == 200
    journal = accepted(sync_session, username, "user.update")
    assert len(journal) == 1
    assert journal[0].details == {"password": "changed"}  # never the password itself
    assert new_password not in str(journal[0].details)

    too_short = await http.patch(f"/api/users/{username}", json={"password": "short"}, headers=admin)
    assert too_short.status_code == 422
    assert ["body", "password"] in [err["loc"] for err in too_short.json()["detail"]]
    assert (await token_for(http, username, new_password)).status_code == 200


async def test_patch_name_department_and_unknown_user(http, login, sync_session):
    admin = await login("admin")
    username = unique("kx-edit")
    assert (await create(http, admin, username)).status_code == 201
    response = await http.patch(
        f"/api/users/{username}", json={"full_name": "Renamed", "department": "operations"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert (response.json()["full_name"], response.json()["department"]) == ("Renamed", "operations")
    row = user_row(sync_session, username)
    assert (row.full_name, row.department, row.roles, row.active) == ("Renamed", "operations", ["agent"], True)

    missing = await http.patch(f"/api/users/{unique('kx-ghost')}", json={"full_name": "Nobody"}, headers=admin)
    assert missing.status_code == 404


async def test_explicit_nulls_are_refused_naming_the_field(http, login, sync_session):
    """`null` for a field that cannot be empty is a 422 naming the field (it used to be a 500)."""
    admin = await login("admin")
    username = unique("kx-null")
    assert (await create(http, admin, username, department="operations")).status_code == 201
    for field in ("full_name", "password", "roles", "active"):
        response = await http.patch(f"/api/users/{username}", json={field: None}, headers=admin)
        assert response.status_code == 422, f"{field}: {response.status_code} {response.text}"
        assert response.json()["detail"][0]["msg"].startswith(f"Value error, {field}:"), response.text
    row = user_row(sync_session, username)
    assert (row.full_name, row.roles, row.active) == ("Test User", ["agent"], True)
    assert (await token_for(http, username, PASSWORD)).status_code == 200
    assert accepted(sync_session, username, "user.update") == []
    # department is the one field that may be cleared.
    cleared = await http.patch(f"/api/users/{username}", json={"department": None}, headers=admin)
    assert cleared.status_code == 200 and cleared.json()["department"] is None
    assert user_row(sync_session, username).department is None


async def test_admin_cannot_deactivate_or_demote_themself(http, login, sync_session):
    # A second administrator of our own, so a regression cannot lock the shared demo admin out of other tests.
    admin = await login("admin")
    username = unique("kx-admin")
    assert (await create(http, admin, username, roles=["admin"])).status_code == 201
    me = await headers_for(http, username, PASSWORD)

    deactivate = await http.patch(f"/api/users/{username}", json={"active": False}, headers=me)
    assert deactivate.status_code == 409
    assert "cannot deactivate" in deactivate.json()["detail"]
    demote = await http.patch(f"/api/users/{username}", json={"roles": ["agent"]}, headers=me)
    assert demote.status_code == 409
    row = user_row(sync_session, username)
    assert (row.active, row.roles) == (True, ["admin"])
    assert accepted(sync_session, username, "user.update") == []

    # Keeping the admin role while adding another, and renaming oneself, are fine.
    grow = await http.patch(
        f"/api/users/{username}", json={"roles": ["admin", "auditor"], "full_name": "Me"}, headers=me
    )
    assert grow.status_code == 200, grow.text
    # Another administrator may deactivate them.
    other = await http.patch(f"/api/users/{username}", json={"active": False}, headers=admin)
    assert other.status_code == 200 and other.json()["active"] is False
    assert (await http.get("/api/auth/me", headers=me)).status_code == 401
    journal = accepted(sync_session, username, "user.update")
    assert [(e.actor, e.details.get("active")) for e in journal] == [(username, None), ("admin", "False")]
