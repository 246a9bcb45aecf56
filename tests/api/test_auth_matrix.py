"""Authentication and authorisation over the real HTTP API.

Every route that needs a token is discovered from the app itself, so a new router is covered
(401 without, with a garbage, a forged or an expired token) without touching this module.
The 403 matrix checks each role gate with users lacking the role; a refused write must leave
exactly one `refused` audit row naming the actor, and change nothing else.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import pytest_asyncio
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from api.main import create_app
from core.calendar import default_cn_calendar
from core.sla import default_sla_policy
from db.models import CalendarVersion, SlaPolicyVersion, User
from db.seed import DEMO_USERS
from infra.settings import Settings
from tests.support import (
    approval_task,
    audit_rows,
    close_approval,
    count_audit,
    headers_for,
    request_approval,
    task_row,
    token_for,
    unique,
)

# ------------------------------------------------------------------------------------------
# Route discovery
# ------------------------------------------------------------------------------------------

PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/docs",
    "/docs/oauth2-redirect",
    "/openapi.json",
    "/redoc",
    "/api/auth/token",
    "/api/survey/{token}",  # the customer's survey: the unguessable token in the link is the only credential
}

# Plausible values for path parameters, by name; anything else gets "x".
PATH_VALUES = {
    "username": "agent1",
    "name": "standard",
    "version": "1",
    "task_id": "approval-no-such-workflow:approval:1",
    "workflow_id": "approval-no-such-workflow",
}
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]+)?}")


def _route_entries(app) -> list[tuple[str, str]]:
    """(method, path template) for every HTTP route, whatever FastAPI version builds the route table."""
    try:  # FastAPI >= 0.16x keeps included routers as branches in app.routes
        from fastapi.routing import iter_route_contexts

        routes = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is already flat
        routes = list(app.routes)
    entries = set()
    for route in routes:
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
        for method in getattr(route, "methods", None) or ():
            if path and method != "HEAD":
                entries.add((method, path))
    return sorted(entries, key=lambda e: (e[1], e[0]))


ALL_ROUTES = _route_entries(create_app(Settings(kexiang_env="test")))
# The web console signs in with a session cookie, not a bearer token: tests/console covers its gates.
CONSOLE_PREFIXES = ("/console", "/survey/")
PROTECTED_ROUTES = [(m, p) for m, p in ALL_ROUTES if p not in PUBLIC_PATHS and not p.startswith(CONSOLE_PREFIXES)]


def concrete(path: str) -> str:
    """The route template with plausible path-parameter values."""
    return _PARAM.sub(lambda m: PATH_VALUES.get(m.group(1), "x"), path)


def test_route_discovery_found_every_router():
    """Sanity check on the discovery itself: each router of the app contributes its routes."""
    assert len(PROTECTED_ROUTES) >= 20
    found = set(PROTECTED_ROUTES)
    for expected in [
        ("GET", "/api/auth/me"),
        ("GET", "/api/users"),
        ("POST", "/api/users"),
        ("PATCH", "/api/users/{username}"),
        ("GET", "/api/calendars"),
        ("POST", "/api/calendars/{name}"),
        ("GET", "/api/calendars/{name}/versions/{version}"),
        ("GET", "/api/sla-policies"),
        ("POST", "/api/sla-policies/{name}"),
        ("GET", "/api/tasks"),
        ("POST", "/api/tasks/{task_id}/decision"),
        ("POST", "/api/tasks/{task_id}/claim"),
        ("GET", "/api/tasks/{task_id}"),
        ("POST", "/api/approvals"),
        ("GET", "/api/approvals/{workflow_id}"),
        ("GET", "/api/notifications"),
        ("GET", "/api/audit"),
        ("GET", "/api/audit/workflows/{workflow_id}/timeline"),
        ("GET", "/api/audit/timeline"),
        ("POST", "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"),
        ("GET", "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification/{id}"),
        ("POST", "/api/resource-checks/{check_id}/acts"),
        ("GET", "/api/resource-checks/ledger"),
        ("POST", "/tmf-api/serviceOrdering/v4/serviceOrder"),
        ("GET", "/tmf-api/serviceOrdering/v4/serviceOrder/{id}"),
        ("POST", "/tmf-api/serviceOrdering/v4/cancelServiceOrder"),
        ("POST", "/api/provisioning-orders/{order_id}/review"),
        ("POST", "/api/provisioning-orders/{order_id}/steps/{step}/complete"),
        ("GET", "/api/circuit-ledger"),
        ("POST", "/api/circuit-ledger/{circuit_id}/closure"),
        ("POST", "/api/presales-demands"),
        ("POST", "/api/provisioning-rules/{name}"),
    ]:
        assert expected in found, f"{expected} not discovered"
    assert ("POST", "/api/auth/token") not in found and ("GET", "/healthz") not in found


# ------------------------------------------------------------------------------------------
# Token endpoint
# ------------------------------------------------------------------------------------------


async def test_token_good_login(http, settings):
    response = await token_for(http, "supervisor1")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_ttl_minutes * 60
    claims = jwt.decode(body["access_token"], settings.token_secret, algorithms=["HS256"])
    assert claims["sub"] == "supervisor1"
    me = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == "supervisor1"


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("supervisor1", "wrong-password"),
        ("supervisor1", "kexiang-demo "),
        ("nobody-such-user", "kexiang-demo"),
        ("SUPERVISOR1", "kexiang-demo"),
    ],
    ids=["wrong-password", "password-with-trailing-space", "unknown-user", "username-case-differs"],
)
async def test_token_refused(http, username, password):
    response = await token_for(http, username, password)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "wrong username or password"}  # same answer for unknown users


async def test_token_without_password_is_malformed(http):
    response = await http.post("/api/auth/token", data={"username": "supervisor1"})
    assert response.status_code == 422
    assert any(err["loc"][-1] == "password" for err in response.json()["detail"])


async def test_deactivated_user_cannot_sign_in_and_loses_open_sessions(http, login):
    admin = await login("admin")
    username = unique("kx-deact")
    created = await http.post(
        "/api/users",
        json={
            "username": username,
            "full_name": "To Be Deactivated",
            "password": "a-long-password",
            "roles": ["agent"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    old_session = await headers_for(http, username, "a-long-password")
    assert (await http.get("/api/auth/me", headers=old_session)).status_code == 200

    patched = await http.patch(f"/api/users/{username}", json={"active": False}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False

    refused = await token_for(http, username, "a-long-password")
    assert refused.status_code == 401
    # A token issued before the deactivation no longer works either (users are re-read per request).
    me = await http.get("/api/auth/me", headers=old_session)
    assert me.status_code == 401
    assert me.json()["detail"] == "user is unknown or deactivated"

    reactivated = await http.patch(f"/api/users/{username}", json={"active": True}, headers=admin)
    assert reactivated.status_code == 200 and reactivated.json()["active"] is True
    assert (await token_for(http, username, "a-long-password")).status_code == 200


# ------------------------------------------------------------------------------------------
# 401 on every protected route
# ------------------------------------------------------------------------------------------


def _forge(settings: Settings, variant: str) -> str | None:
    now = datetime.now(UTC)
    if variant == "none":
        return None
    if variant == "garbage":
        return "not-a-jwt"
    if variant == "expired":
        claims = {"sub": "admin", "iat": now - timedelta(hours=9), "exp": now - timedelta(minutes=1)}
        return jwt.encode(claims, settings.token_secret, algorithm="HS256")
    if variant == "wrong-secret":
        claims = {"sub": "admin", "iat": now, "exp": now + timedelta(hours=1)}
        return jwt.encode(claims, "some-other-secret-of-sufficient-length!", algorithm="HS256")
    if variant == "no-exp":
        return jwt.encode({"sub": "admin", "iat": now}, settings.token_secret, algorithm="HS256")
    if variant == "alg-none":
        return jwt.encode({"sub": "admin", "exp": now + timedelta(hours=1)}, None, algorithm="none")
    if variant == "unknown-user":
        claims = {"sub": "nobody-such-user", "iat": now, "exp": now + timedelta(hours=1)}
        return jwt.encode(claims, settings.token_secret, algorithm="HS256")
    raise AssertionError(variant)


TOKEN_VARIANTS = ["none", "garbage", "expired", "wrong-secret", "no-exp", "alg-none", "unknown-user"]


@pytest.mark.parametrize("variant", TOKEN_VARIANTS)
@pytest.mark.parametrize(("method", "path"), PROTECTED_ROUTES, ids=[f"{m} {p}" for m, p in PROTECTED_ROUTES])
async def test_protected_route_requires_valid_token(http, settings, sync_session, method, path, variant):
    token = _forge(settings, variant)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = concrete(path)
    before = count_audit(sync_session, subject_id=url)
    kwargs = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    response = await http.request(method, url, headers=headers, **kwargs)
    assert response.status_code == 401, f"{method} {url} with {variant} token: {response.status_code} {response.text}"
    assert response.headers.get("www-authenticate") == "Bearer"
    assert count_audit(sync_session, subject_id=url) == before  # nobody to journal: nothing written


async def test_valid_token_passes_the_gate(http, login):
    """Control for the 401 matrix: the same kind of request with a real token is not refused."""
    headers = await login("admin")
    for path in ("/api/auth/me", "/api/users", "/api/calendars", "/api/sla-policies/standard", "/api/audit?limit=1"):
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, f"{path}: {response.text}"


# ------------------------------------------------------------------------------------------
# /api/auth/me
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "roles", "department"), [(u, r, d) for u, _, r, d in DEMO_USERS], ids=[u[0] for u in DEMO_USERS]
)
async def test_me_returns_roles(http, login, username, roles, department):
    response = await http.get("/api/auth/me", headers=await login(username))
    assert response.status_code == 200, response.text
    assert response.json() == {"username": username, "roles": [r.value for r in roles], "department": department}


# ------------------------------------------------------------------------------------------
# 403 matrix
# ------------------------------------------------------------------------------------------

ROLES_OF = {u: [r.value for r in roles] for u, _, roles, _ in DEMO_USERS}
NON_ADMINS = [u for u, roles in ROLES_OF.items() if "admin" not in roles]
NON_OVERSEERS = [u for u, roles in ROLES_OF.items() if not {"admin", "supervisor", "auditor"} & set(roles)]
OVERSEERS = ["admin", "supervisor1", "auditor1"]


def assert_one_refusal(
    sync_session, before: int, *, actor: str, method: str, path: str, template: str, reason: str
) -> None:
    """Exactly one new `refused` row for this actor and endpoint, naming the actor, their roles and the endpoint."""
    rows = audit_rows(sync_session, actor=actor, subject_id=path, outcome="refused")
    assert len(rows) == before + 1, [(r.action, r.reason) for r in rows]
    row = rows[-1]
    assert row.actor == actor
    assert row.actor_roles == ROLES_OF[actor]
    assert row.subject_type == "endpoint"
    # The action names the endpoint: its route template (or the concrete path), clipped to the column width.
    plain_template = _PARAM.sub(lambda m: "{" + m.group(1) + "}", template)
    assert row.action in {f"{method} {p}"[:64] for p in (template, plain_template, path)}, row.action
    assert row.reason == reason
    assert row.request_id.startswith("refused:")


def refusals(sync_session, actor: str, path: str) -> int:
    return count_audit(sync_session, actor=actor, subject_id=path, outcome="refused")


@pytest.mark.parametrize("username", NON_ADMINS)
async def test_list_users_needs_admin(http, login, sync_session, username):
    response = await http.get("/api/users", headers=await login(username))
    assert response.status_code == 403
    assert response.json()["detail"] == "role admin required"
    # Refused reads are not journaled (only writes are).
    assert count_audit(sync_session, actor=username, action="GET /api/users") == 0


@pytest.mark.parametrize("username", NON_ADMINS)
async def test_create_user_needs_admin(http, login, sync_session, username):
    new_user = unique("kx-sneaky")
    before = refusals(sync_session, username, "/api/users")
    response = await http.post(
        "/api/users",
        json={"username": new_user, "full_name": "Sneaky", "password": "a-long-password", "roles": ["admin"]},
        headers=await login(username),
    )
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == "role admin required"
    assert_one_refusal(
        sync_session,
        before,
        actor=username,
        method="POST",
        path="/api/users",
        template="/api/users",
        reason="role admin required",
    )
    with sync_session() as s:
        assert s.scalar(select(User).where(User.username == new_user)) is None
    assert count_audit(sync_session, subject_id=new_user) == 0
    assert (await token_for(http, new_user, "a-long-password")).status_code == 401


@pytest.mark.parametrize("username", NON_ADMINS)
async def test_self_promotion_needs_admin(http, login, sync_session, username):
    path = f"/api/users/{username}"
    with sync_session() as s:
        before_row = s.scalar(select(User).where(User.username == username))
        roles_before, name_before = list(before_row.roles), before_row.full_name
    before = refusals(sync_session, username, path)
    response = await http.patch(path, json={"roles": ["admin"], "full_name": "Promoted"}, headers=await login(username))
    assert response.status_code == 403, response.text
    assert_one_refusal(
        sync_session,
        before,
        actor=username,
        method="PATCH",
        path=path,
        template="/api/users/{username}",
        reason="role admin required",
    )
    with sync_session() as s:
        row = s.scalar(select(User).where(User.username == username))
        assert (list(row.roles), row.full_name) == (roles_before, name_before)
    me = await http.get("/api/auth/me", headers=await login(username))
    assert me.json()["roles"] == roles_before


PUBLISH_TARGETS = [
    ("calendars", CalendarVersion, lambda: default_cn_calendar().model_dump(mode="json")),
    ("sla-policies", SlaPolicyVersion, lambda: default_sla_policy().model_dump(mode="json")),
]


@pytest.mark.parametrize(("kind", "table", "document"), PUBLISH_TARGETS, ids=[t[0] for t in PUBLISH_TARGETS])
@pytest.mark.parametrize("username", NON_ADMINS)
async def test_publishing_config_needs_admin(http, login, sync_session, username, kind, table, document):
    name = unique("kx-refused")
    path = f"/api/{kind}/{name}"
    before = refusals(sync_session, username, path)
    headers = await login(username)
    response = await http.post(path, json=document(), headers=headers)
    assert response.status_code == 403, response.text
    assert_one_refusal(
        sync_session,
        before,
        actor=username,
        method="POST",
        path=path,
        template=f"/api/{kind}/{{name}}",
        reason="role admin required",
    )
    with sync_session() as s:
        assert s.scalars(select(table).where(table.name == name)).all() == []
    assert (await http.get(path, headers=headers)).status_code == 404


@pytest.mark.parametrize("username", NON_OVERSEERS)
async def test_audit_journal_needs_an_overseer(http, login, sync_session, username):
    response = await http.get("/api/audit", headers=await login(username))
    assert response.status_code == 403
    assert response.json()["detail"] == "role auditor or admin or supervisor required"
    assert count_audit(sync_session, actor=username, action="GET /api/audit") == 0


@pytest.mark.parametrize("username", OVERSEERS)
async def test_overseers_read_the_audit_journal(http, login, username):
    response = await http.get("/api/audit", params={"outcome": "refused", "limit": 5}, headers=await login(username))
    assert response.status_code == 200, response.text
    assert all(item["outcome"] == "refused" for item in response.json()["items"])


@pytest.mark.parametrize("username", NON_OVERSEERS)
async def test_inbox_scope_all_needs_an_overseer(http, login, username):
    headers = await login(username)
    response = await http.get("/api/tasks", params={"scope": "all"}, headers=headers)
    assert response.status_code == 403
    assert "scope=all" in response.json()["detail"]
    for scope in ("mine", "candidate"):  # their own inbox is fine
        assert (await http.get("/api/tasks", params={"scope": scope}, headers=headers)).status_code == 200


@pytest.mark.parametrize("username", OVERSEERS)
async def test_overseers_see_all_tasks(http, login, username):
    response = await http.get("/api/tasks", params={"scope": "all", "status": "any"}, headers=await login(username))
    assert response.status_code == 200, response.text


async def test_auditor_cannot_request_an_approval(http, login, sync_session, env):
    key = uuid.uuid4().hex
    workflow_id = f"approval-{key}"
    before = refusals(sync_session, "auditor1", "/api/approvals")
    response = await http.post(
        "/api/approvals",
        json={"subject": "audit me", "reason": "should not start"},
        headers={**await login("auditor1"), "Idempotency-Key": key},
    )
    assert response.status_code == 403, response.text
    reason = (
        "role "
        + " or ".join(r for r in ("agent", "engineer", "supervisor", "coordinator", "department", "reviewer", "admin"))
        + " required"
    )
    assert response.json()["detail"] == reason
    assert_one_refusal(
        sync_session,
        before,
        actor="auditor1",
        method="POST",
        path="/api/approvals",
        template="/api/approvals",
        reason=reason,
    )
    # No workflow was started, and nothing reached the read model.
    with pytest.raises(RPCError) as missing:
        await env.client.get_workflow_handle(workflow_id).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert (await http.get(f"/api/approvals/{workflow_id}", headers=await login("supervisor1"))).status_code == 404


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def open_task(http, login):
    """A real open approval task (requested by agent1), approved by supervisor1 afterwards."""
    workflow_id = await request_approval(http, await login("agent1"), subject="auth-matrix approval")
    task = await approval_task(http, await login("supervisor1"), workflow_id)
    yield task
    await close_approval(http, await login("supervisor1"), task["task_id"])


@pytest.mark.parametrize(
    ("act", "body"), [("decision", {"outcome": "approve"}), ("claim", {}), ("claim", {"release": True})]
)
async def test_auditor_cannot_act_on_tasks(http, login, sync_session, open_task, act, body):
    task_id = open_task["task_id"]
    path = f"/api/tasks/{task_id}/{act}"
    before = refusals(sync_session, "auditor1", path)
    response = await http.post(path, json=body, headers=await login("auditor1"))
    assert response.status_code == 403, response.text
    assert "required" in response.json()["detail"]
    assert_one_refusal(
        sync_session,
        before,
        actor="auditor1",
        method="POST",
        path=path,
        template=f"/api/tasks/{{task_id}}/{act}",
        reason=response.json()["detail"],
    )
    row = task_row(sync_session, task_id)
    assert (row.status, row.claimed_by, row.outcome, row.decided_by) == ("open", None, None, None)
    # The workflow saw nothing either: no accepted act on the task.
    assert count_audit(sync_session, subject_id=task_id, outcome="accepted") == 0
    view = await http.get(f"/api/tasks/{task_id}", headers=await login("auditor1"))  # reading is fine
    assert view.status_code == 200 and view.json()["status"] == "open"


async def test_refused_act_with_a_long_outcome_is_journaled(http, login, sync_session, open_task):
    """A refusal whose action name exceeds the journal's column is still answered and journaled (not a 500)."""
    task_id = open_task["task_id"]
    outcome = "x" * 64  # the longest outcome the API accepts; "task." + outcome is wider than the action column
    before = count_audit(sync_session, actor="supervisor1", subject_id=task_id, outcome="refused")
    response = await http.post(
        f"/api/tasks/{task_id}/decision", json={"outcome": outcome}, headers=await login("supervisor1")
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("outcome:")
    rows = audit_rows(sync_session, actor="supervisor1", subject_id=task_id, outcome="refused")
    assert len(rows) == before + 1
    assert rows[-1].subject_type == "task" and rows[-1].workflow_id == open_task["workflow_id"]
    assert rows[-1].action.startswith("task.xxx") and len(rows[-1].action) <= 64
    assert task_row(sync_session, task_id).status == "open"
