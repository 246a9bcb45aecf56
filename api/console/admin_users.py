"""Administration: users and their roles — list, create, change roles and department, deactivate and reactivate.

Every change goes through the API's own user functions (api/platform/users.py): the same models, the same
refusals (no self-demotion, a department for the department role), the same journal rows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.console.errors import ConsoleRoute, split_errors
from api.console.forms import sent_values
from api.console.pages import _gate
from api.console.rendering import render
from api.console.session import ConsoleUser, SignedIn
from api.deps import DbDep, SessionDep
from api.errors import field_errors
from api.platform import users
from core.roles import Role

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute, include_in_schema=False)

ROLES = tuple(r.value for r in Role)
NEW_USER_FIELDS = ("username", "full_name", "password", "roles", "department")
CHANGE_FIELDS = ("full_name", "roles", "department")


def model_errors(err: ValidationError) -> str:
    """The model's refusals as 'field: why; …', a whole-model check ('department: required …') at its field too."""
    return field_errors(err.errors()).replace("body: Value error, ", "")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def new_user_values(form: FormData) -> dict[str, Any]:
    """The create form as the API's UserCreate body (an empty department is no department)."""
    return {
        "username": _text(form, "username"),
        "full_name": _text(form, "full_name"),
        "password": form.get("password") or "",
        "roles": [r for r in form.getlist("roles") if isinstance(r, str)],
        "department": _text(form, "department") or None,
    }


def change_values(form: FormData) -> dict[str, Any]:
    """The change form as the API's UserUpdate body: name, roles, department (empty: cleared)."""
    return {
        "full_name": _text(form, "full_name"),
        "roles": [r for r in form.getlist("roles") if isinstance(r, str)],
        "department": _text(form, "department") or None,
    }


async def _users_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    *,
    values: Any = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    listed = await users.list_users(user.actor, session)
    context = {
        "user": user,
        "users": listed,
        "roles": ROLES,
        "values": values or {},
        "errors": errors or {},
        "refusal": refusal,
        "done": request.query_params.get("done"),
        "who": request.query_params.get("who", "")[:64],
    }
    return render(request, "admin_users.html", context, status_code=status_code)


@router.get("/users")
async def users_page(request: Request, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """Every user with their roles, department and state; the form for a new one."""
    await _gate(request, user, db, Role.ADMIN)
    return await _users_page(request, user, session)


@router.post("/users")
async def create_user(request: Request, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """Create a user through the API's create_user; refusals shown at their fields."""
    admin = await _gate(request, user, db, Role.ADMIN)
    form = await request.form()
    shown = {**sent_values(form), "password": "", "roles": form.getlist("roles")}  # a password is never sent back
    try:
        body = users.UserCreate.model_validate(new_user_values(form))
        await users.create_user(body, admin, session)
    except ValidationError as err:
        errors, general = split_errors(model_errors(err), set(NEW_USER_FIELDS))
        refusal = "; ".join(general) or None
        return await _users_page(request, user, session, values=shown, errors=errors, refusal=refusal, status_code=422)
    except HTTPException as refused:
        await session.rollback()
        errors, general = split_errors(str(refused.detail), set(NEW_USER_FIELDS))
        return await _users_page(
            request,
            user,
            session,
            values=shown,
            errors=errors,
            refusal="; ".join(general) or None,
            status_code=refused.status_code,
        )
    return RedirectResponse(f"/console/admin/users?done=created&who={quote(body.username)}", status_code=303)


async def _user_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    username: str,
    *,
    values: Any = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    status_code: int = 200,
) -> Response:
    found = next((u for u in await users.list_users(user.actor, session) if u.username == username), None)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {username} does not exist")
    shown = values or {"full_name": found.full_name, "roles": found.roles, "department": found.department or ""}
    context = {
        "user": user,
        "shown": found,
        "roles": ROLES,
        "values": shown,
        "errors": errors or {},
        "refusal": refusal,
        "done": request.query_params.get("done"),
        "is_self": username == user.actor.username,
    }
    return render(request, "admin_user.html", context, status_code=status_code)


@router.get("/users/{username}")
async def user_page(request: Request, username: str, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """One user: change their name, roles and department; deactivate or reactivate them."""
    await _gate(request, user, db, Role.ADMIN)
    return await _user_page(request, user, session, username)


async def _update(
    request: Request, user: ConsoleUser, session: SessionDep, username: str, body: dict[str, Any], done: str
) -> Response:
    admin = user.actor
    try:
        await users.update_user(username, users.UserUpdate.model_validate(body), admin, session)
    except ValidationError as err:
        errors, general = split_errors(model_errors(err), set(CHANGE_FIELDS))
        values = body | {"department": body.get("department") or ""}
        refusal = "; ".join(general) or None
        return await _user_page(
            request, user, session, username, values=values, errors=errors, refusal=refusal, status_code=422
        )
    except HTTPException as refused:
        await session.rollback()
        if refused.status_code == status.HTTP_404_NOT_FOUND:
            raise
        errors, general = split_errors(str(refused.detail), set(CHANGE_FIELDS))
        kept = body | {"department": body.get("department") or ""} if "roles" in body else None
        return await _user_page(
            request,
            user,
            session,
            username,
            values=kept,
            errors=errors,
            refusal="; ".join(general) or None,
            status_code=refused.status_code,
        )
    return RedirectResponse(f"/console/admin/users/{quote(username)}?done={done}", status_code=303)


@router.post("/users/{username}")
async def change_user(request: Request, username: str, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """Change a user's name, roles and department through the API's update_user."""
    await _gate(request, user, db, Role.ADMIN)
    return await _update(request, user, session, username, change_values(await request.form()), "changed")


@router.post("/users/{username}/active")
async def set_active(request: Request, username: str, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """Deactivate (active=0) or reactivate (active=1) a user through the API's update_user."""
    await _gate(request, user, db, Role.ADMIN)
    active = (await request.form()).get("active") == "1"
    return await _update(
        request, user, session, username, {"active": active}, "reactivated" if active else "deactivated"
    )
