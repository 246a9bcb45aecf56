"""Sign-in: OAuth2 password flow issuing bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import col

from api.deps import CurrentActor, SessionDep, SettingsDep
from db.models import User
from infra.security import actor_of, issue_token, verify_password

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


@router.post("/token", response_model=Token, summary="Exchange username and password for a bearer token")
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, settings: SettingsDep
) -> Token:
    """OAuth2 password flow."""
    user = await session.scalar(select(User).where(col(User.username) == form.username))
    if user is None or not user.active or not verify_password(form.password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password", {"WWW-Authenticate": "Bearer"})
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    actor = actor_of(user.username, user.roles, user.department)
    return Token(
        access_token=issue_token(actor, secret=settings.token_secret, ttl=ttl), expires_in=int(ttl.total_seconds())
    )


@router.get("/me", response_model=Me, summary="The signed-in user")
async def me(actor: CurrentActor) -> Me:
    """Username, roles and department of the token's owner."""
    return Me(username=actor.username, roles=[r.value for r in actor.roles], department=actor.department)
