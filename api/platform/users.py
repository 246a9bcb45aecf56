"""User administration (admin only)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlmodel import col

from api.deps import Admin, SessionDep
from core.contacts import masked_contact
from core.login_throttle import ThrottleKind
from core.records import AuditRecord
from core.roles import Role
from db import audit as audit_journal
from db import login_throttle
from db.models import User, utcnow
from infra.security import hash_password

router = APIRouter(prefix="/api/users", tags=["users"])
NotifyChannel = Literal["email", "sms"]
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"  # quiet hours: a time of day in the center's time zone, "22:00"


class UserOut(BaseModel):
    """A user without secrets."""

    username: str
    full_name: str
    roles: list[Role]
    department: str | None
    active: bool
    created_at: datetime
    email: str | None = None  # masked
    mobile: str | None = None  # masked
    notify_by: list[NotifyChannel] = []
    quiet_from: str | None = None  # HH:MM, the center's time; non-urgent e-mail/SMS waits until quiet_until
    quiet_until: str | None = None


class UserCreate(BaseModel):
    """A new user."""

    username: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    full_name: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=10, max_length=256)
    roles: list[Role] = Field(min_length=1)
    department: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _department_role_needs_department(self) -> UserCreate:
        if Role.DEPARTMENT in self.roles and not self.department:
            raise ValueError("department: required for the department role")
        return self


class UserUpdate(BaseModel):
    """Changes to a user; omitted fields stay as they are."""

    full_name: str | None = Field(default=None, min_length=1, max_length=128)
    password: str | None = Field(default=None, min_length=10, max_length=256)
    roles: list[Role] | None = Field(default=None, min_length=1)
    department: str | None = Field(default=None, max_length=64)
    active: bool | None = None
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    mobile: str | None = Field(default=None, max_length=32, pattern=r"^(\+?86)?1[3-9]\d{9}$")
    notify_by: list[NotifyChannel] | None = Field(default=None, max_length=2, description="besides the console")
    quiet_from: str | None = Field(default=None, pattern=_HHMM, description="quiet hours start, HH:MM center time")
    quiet_until: str | None = Field(default=None, pattern=_HHMM, description="quiet hours end; set both or neither")

    @model_validator(mode="after")
    def _quiet_hours_in_pairs(self) -> UserUpdate:
        quiet = {"quiet_from", "quiet_until"} & self.model_fields_set
        if quiet and len(quiet) == 1:
            raise ValueError("quiet_from, quiet_until: set both together (null both to clear)")
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise ValueError("quiet_from, quiet_until: both times or both null")
        if self.quiet_from is not None and self.quiet_from == self.quiet_until:
            raise ValueError("quiet_until: must differ from quiet_from")
        return self

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> UserUpdate:
        # Only department may be cleared; null elsewhere used to reach the database (500).
        for field in ("full_name", "password", "roles", "active", "notify_by"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field}: may not be null (omit it to keep the current value)")
        return self


def _out(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        full_name=user.full_name,
        roles=[Role(r) for r in user.roles],
        department=user.department,
        active=user.active,
        created_at=user.created_at,
        email=masked_contact(user.email),
        mobile=masked_contact(user.mobile),
        notify_by=[c for c in user.notify_by if c in ("email", "sms")],
        quiet_from=f"{user.quiet_from:%H:%M}" if user.quiet_from else None,
        quiet_until=f"{user.quiet_until:%H:%M}" if user.quiet_until else None,
    )


async def _journal(session: SessionDep, admin: Admin, action: str, username: str, details: dict[str, Any]) -> None:
    await audit_journal.append(
        session,
        AuditRecord.by(
            admin,
            action,
            "user",
            username,
            at=utcnow(),
            request_id=f"{action}:{username}:{utcnow().isoformat()}",
            details=details,
        ),
    )


@router.get("", response_model=list[UserOut], summary="List users")
async def list_users(admin: Admin, session: SessionDep) -> list[UserOut]:
    """Every user, by username."""
    return [_out(u) for u in await session.scalars(select(User).order_by(col(User.username)))]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Create a user")
async def create_user(body: UserCreate, admin: Admin, session: SessionDep) -> UserOut:
    """Create a user with a hashed password."""
    if await session.scalar(select(User).where(col(User.username) == body.username)):
        raise HTTPException(status.HTTP_409_CONFLICT, f"username: {body.username} already exists")
    user = User(
        username=body.username,
        full_name=body.full_name,
        password_hash=hash_password(body.password),
        roles=[r.value for r in body.roles],
        department=body.department,
    )
    session.add(user)
    await _journal(session, admin, "user.create", body.username, {"roles": user.roles, "department": user.department})
    await session.commit()
    return _out(user)


@router.patch("/{username}", response_model=UserOut, summary="Change a user")
async def update_user(username: str, body: UserUpdate, admin: Admin, session: SessionDep) -> UserOut:
    """Change name, password, roles, department or active flag."""
    user = await session.scalar(select(User).where(col(User.username) == username))
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {username} does not exist")
    changes = body.model_dump(exclude_unset=True)
    if username == admin.username and (
        changes.get("active") is False or ("roles" in changes and Role.ADMIN not in changes["roles"])
    ):
        raise HTTPException(status.HTTP_409_CONFLICT, "an administrator cannot deactivate or demote themselves")
    roles = changes.get("roles", [Role(r) for r in user.roles])
    if Role.DEPARTMENT in roles and not changes.get("department", user.department):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "department: required for the department role")
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
        changes["password"] = "changed"
    for field in ("full_name", "department", "active", "email", "mobile", "notify_by"):
        if field in changes:
            setattr(user, field, changes[field])
    for field in ("quiet_from", "quiet_until"):
        if field in changes:
            setattr(user, field, time.fromisoformat(changes[field]) if changes[field] else None)
    for field in ("email", "mobile"):  # the journal keeps that it changed, not the address
        if field in changes:
            changes[field] = "changed"
    if "roles" in changes:
        user.roles = [r.value for r in changes["roles"]]
    session.add(user)
    await _journal(session, admin, "user.update", username, {k: str(v) for k, v in changes.items()})
    await session.commit()
    return _out(user)


class UnlockOut(BaseModel):
    """What an unlock lifted."""

    username: str
    was_locked: bool
    failures: int


@router.post("/{username}/unlock", response_model=UnlockOut, summary="Lift a sign-in lockout or backoff")
async def unlock_user(username: str, admin: Admin, session: SessionDep) -> UnlockOut:
    """Forget the user's failed sign-ins (lockout and backoff); journaled. Address counters are left alone."""
    if await session.scalar(select(col(User.id)).where(col(User.username) == username)) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {username} does not exist")
    before = await login_throttle.clear(session, ThrottleKind.USER, username)
    await _journal(session, admin, "user.unlock", username, {"was_locked": before.locked, "failures": before.failures})
    await session.commit()
    return UnlockOut(username=username, was_locked=before.locked, failures=before.failures)
