"""FastAPI dependencies: database session, Temporal gateway, the signed-in user and role gates.

Every dependency is `async def`, even those that only read app state: FastAPI runs a plain `def` dependency in
its thread pool, a thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated
from uuid import uuid4

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.gateway import TemporalGateway
from core.records import AuditRecord
from core.roles import Actor, Role
from db import audit as audit_journal
from db.models import User, utcnow
from db.session import Database
from infra.security import actor_of, read_token
from infra.settings import Settings

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    """The application database."""
    db: Database = request.app.state.db
    return db


async def get_session(db: Annotated[Database, Depends(get_db)]) -> AsyncIterator[AsyncSession]:
    """A database session per request."""
    async with db.session() as session:
        yield session


async def get_gateway(request: Request) -> TemporalGateway:
    """The Temporal gateway."""
    gateway: TemporalGateway = request.app.state.gateway
    return gateway


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
GatewayDep = Annotated[TemporalGateway, Depends(get_gateway)]
DbDep = Annotated[Database, Depends(get_db)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


# Only what an Actor needs, as plain columns: no User entity (password hash and all) loaded on every request.
_USERS = User.__table__.c  # type: ignore[attr-defined]  # SQLModel tables carry their Table
_SIGNED_IN = select(_USERS.roles, _USERS.department, _USERS.active).where(_USERS.username == bindparam("username"))


async def current_actor(
    token: Annotated[str | None, Depends(oauth2)], settings: SettingsDep, session: SessionDep
) -> Actor:
    """The signed-in, active user, with roles read fresh from the database."""
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated: send a bearer token", _UNAUTHORIZED)
    try:
        username = read_token(token, secret=settings.token_secret)
    except jwt.InvalidTokenError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token", _UNAUTHORIZED) from None
    user = (await session.execute(_SIGNED_IN, {"username": username})).first()
    if user is None or not user.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "user is unknown or deactivated", _UNAUTHORIZED)
    return actor_of(username, user.roles, user.department)


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def record_refusal(
    db: Database,
    actor: Actor,
    *,
    action: str,
    subject_type: str,
    subject_id: str,
    reason: str,
    workflow_id: str | None = None,
    request_id: str | None = None,
) -> None:
    """Journal a refused act in its own transaction (the refused request itself changes nothing)."""
    # Clip to the journal's column widths: a long path must not turn the refusal into a 500 and lose the row.
    record = AuditRecord.by(
        actor,
        action[:64],
        subject_type,
        subject_id[:200],
        at=utcnow(),
        request_id=f"refused:{request_id or uuid4()}",
        workflow_id=workflow_id,
        reason=reason,
        outcome="refused",
    )
    async with db.session() as session:
        await audit_journal.append(session, record)
        await session.commit()


def require_roles(*roles: Role, departments: tuple[str, ...] = ()) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting only holders of one of `roles` (or staff of one of `departments`); a refused write is
    journaled."""

    async def gate(request: Request, actor: CurrentActor, db: Annotated[Database, Depends(get_db)]) -> Actor:
        if actor.has_role(*roles) or any(actor.in_department(d) for d in departments):
            return actor
        needed = " or ".join(r.value for r in roles)
        reason = f"role {needed}{''.join(f' or department {d}' for d in departments)} required"
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            route = request.scope.get("route")
            template = getattr(route, "path", request.url.path)
            await record_refusal(
                db,
                actor,
                action=f"{request.method} {template}"[:64],
                subject_type="endpoint",
                subject_id=request.url.path[:200],
                reason=reason,
            )
        raise HTTPException(status.HTTP_403_FORBIDDEN, reason)

    return gate


STAFF_ROLES = tuple(r for r in Role if r != Role.AUDITOR)
Staff = Annotated[Actor, Depends(require_roles(*STAFF_ROLES))]
Admin = Annotated[Actor, Depends(require_roles(Role.ADMIN))]
Reader = Annotated[Actor, Depends(require_roles(*Role))]
Auditor = Annotated[Actor, Depends(require_roles(Role.AUDITOR, Role.ADMIN))]

# Marks a POST that changes nothing (decoding payloads, replaying histories), so auditors may call it;
# tests/audit/test_auditor_read_only.py admits exactly the routes carrying it.
READ_ONLY = {"x-read-only": True}
