"""Sign-in: OAuth2 password flow issuing bearer tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.deps import CurrentActor, SessionDep, SettingsDep
from core.login_throttle import ThrottleKind, ThrottlePolicy, current, retry_after_seconds
from core.records import AuditRecord
from db import audit as audit_journal
from db import login_throttle
from db.models import User, utcnow
from infra.security import actor_of, issue_token, verify_password
from infra.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Token(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    """Who the token belongs to."""

    username: str
    roles: list[str]
    department: str | None


def throttle_policies(settings: Settings) -> dict[ThrottleKind, ThrottlePolicy]:
    """The sign-in throttling numbers from settings: usernames back off and lock, addresses back off."""
    base, cap = (
        timedelta(seconds=settings.login_base_delay_seconds),
        timedelta(seconds=settings.login_max_delay_seconds),
    )
    reset = timedelta(minutes=settings.login_reset_minutes)
    return {
        ThrottleKind.USER: ThrottlePolicy(
            free_failures=settings.login_free_failures,
            base_delay=base,
            max_delay=cap,
            reset_after=reset,
            lockout_after=settings.login_lockout_after,
            lockout=timedelta(minutes=settings.login_lockout_minutes),
        ),
        ThrottleKind.ADDRESS: ThrottlePolicy(
            free_failures=settings.login_address_free_failures, base_delay=base, max_delay=cap, reset_after=reset
        ),
    }


async def _refuse_if_throttled(
    session: AsyncSession,
    counters: dict[ThrottleKind, str],
    policies: dict[ThrottleKind, ThrottlePolicy],
    now: datetime,
) -> None:
    """429 with Retry-After while either counter is backing off or the username is locked."""
    waits: list[tuple[int, bool]] = []
    for kind, subject in counters.items():
        state = current(await login_throttle.load(session, kind, subject), policies[kind], now)
        if (wait := retry_after_seconds(state, now)) is not None:
            waits.append((wait, state.locked))
    if waits:
        wait, locked = max(waits)
        detail = (
            f"locked after repeated failed sign-ins: an administrator can unlock it, or try again in {wait} s"
            if locked
            else f"too many failed sign-ins: try again in {wait} s"
        )
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail, {"Retry-After": str(wait)})


async def _count_failure(
    session: AsyncSession,
    counters: dict[ThrottleKind, str],
    policies: dict[ThrottleKind, ThrottlePolicy],
    now: datetime,
) -> None:
    """Count a failed sign-in on both counters; a username that locks now is journaled."""
    for kind, subject in counters.items():
        state = await login_throttle.record_failure(session, kind, subject, policies[kind], now)
        if kind is ThrottleKind.USER and state.locked:
            await audit_journal.append(
                session,
                AuditRecord(
                    at=now,
                    actor="anonymous",  # whoever tried; not necessarily the account's owner
                    action="login.lockout",
                    subject_type="user",
                    subject_id=subject,
                    outcome="refused",
                    reason=f"{state.failures} failed sign-ins in a row",
                    request_id=f"login.lockout:{subject}:{now.isoformat()}",
                    details={
                        "address": counters[ThrottleKind.ADDRESS],
                        "locked_until": state.blocked_until.isoformat() if state.blocked_until else None,
                    },
                ),
            )
    await session.commit()


@router.post(
    "/token",
    response_model=Token,
    summary="Exchange username and password for a bearer token",
    responses={429: {"description": "too many failed sign-ins for this username or address (see Retry-After)"}},
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """OAuth2 password flow, throttled per username and per client address; unknown users cost a hash too."""
    now = utcnow()
    policies = throttle_policies(settings)
    counters = {
        ThrottleKind.USER: form.username[:200],
        ThrottleKind.ADDRESS: request.client.host if request.client else "unknown",
    }
    await _refuse_if_throttled(session, counters, policies, now)
    user = await session.scalar(select(User).where(col(User.username) == form.username))
    # The hash runs whatever the username, so the answer's timing does not tell who exists.
    matches = verify_password(form.password, user.password_hash if user else None)
    if user is None or not user.active or not matches:
        await _count_failure(session, counters, policies, now)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password", {"WWW-Authenticate": "Bearer"})
    await login_throttle.clear(session, ThrottleKind.USER, counters[ThrottleKind.USER])
    await session.commit()
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    actor = actor_of(user.username, user.roles, user.department)
    return Token(
        access_token=issue_token(actor, secret=settings.token_secret, ttl=ttl), expires_in=int(ttl.total_seconds())
    )


@router.get("/me", response_model=Me, summary="The signed-in user")
async def me(actor: CurrentActor) -> Me:
    """Username, roles and department of the token's owner."""
    return Me(username=actor.username, roles=[r.value for r in actor.roles], department=actor.department)
