"""The console's sign-in session: a signed, expiring, HttpOnly cookie naming the user, and its CSRF token.

The cookie is a JWT signed with a key derived from the token secret for the console alone, so an API bearer
token is no session and a session no bearer token. Roles are read fresh from the database on every request,
as the API does. Every POST carries the session's CSRF token (form field `csrf` or header `X-CSRF-Token`);
before sign-in (the sign-in form, the public survey) a random token in a cookie of its own stands in for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

import jwt
from fastapi import Depends, HTTPException, Request, Response, status
from sqlalchemy import select
from sqlmodel import col

from api.deps import SessionDep, SettingsDep
from core.roles import Actor
from db.models import User
from infra.security import actor_of
from infra.settings import Settings

SESSION_COOKIE = "kx_console"
ANON_CSRF_COOKIE = "kx_csrf"
LANG_COOKIE = "kx_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
_AUDIENCE = "kexiang-console"
_ALGORITHM = "HS256"


def session_key(settings: Settings) -> bytes:
    """The console's signing key, derived from the token secret (never the bearer tokens' key itself)."""
    return hmac.new(settings.token_secret.encode(), b"kexiang console session", hashlib.sha256).digest()


def new_session(settings: Settings, username: str) -> tuple[str, str]:
    """(cookie value, CSRF token) of a fresh session for `username`."""
    now = datetime.now(UTC)
    csrf = secrets.token_urlsafe(32)
    claims = {
        "sub": username,
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=settings.console_session_minutes),
        "csrf": csrf,
    }
    return jwt.encode(claims, session_key(settings), algorithm=_ALGORITHM), csrf


def read_session(settings: Settings, cookie: str | None) -> tuple[str, str] | None:
    """(username, CSRF token) of a valid, unexpired session cookie; None otherwise."""
    if not cookie:
        return None
    try:
        claims = jwt.decode(
            cookie,
            session_key(settings),
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "exp", "csrf"]},
        )
    except jwt.InvalidTokenError:
        return None
    return str(claims["sub"]), str(claims["csrf"])


def secure_cookies(settings: Settings) -> bool:
    """Cookies are marked Secure when the public address is https (production behind TLS)."""
    return settings.public_base_url.startswith("https://")


def set_session_cookie(response: Response, settings: Settings, value: str) -> None:
    """Put the session cookie on a response: HttpOnly, SameSite=Lax, expiring with the session."""
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=settings.console_session_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        path="/",
    )


def anonymous_csrf(request: Request, response: Response, settings: Settings) -> str:
    """The pre-sign-in CSRF token: the one in the request's cookie, or a new one set on the response."""
    token = request.cookies.get(ANON_CSRF_COOKIE)
    if not token or len(token) < 32:
        token = secrets.token_urlsafe(32)
    response.set_cookie(
        ANON_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure_cookies(settings), path="/"
    )
    return token


async def _sent_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if "form" in content_type:
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def check_csrf(request: Request, expected: str | None) -> None:
    """Refuse (403) a POST whose CSRF token is missing or does not match the expected one."""
    sent = await _sent_csrf(request)
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "CSRF token missing or wrong: reload the page and try again")


class SignInRequired(Exception):
    """No valid session: the console answers with the sign-in page (or HX-Redirect to it)."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class ConsoleUser:
    """The signed-in user of a console request, with the session's CSRF token."""

    def __init__(self, actor: Actor, csrf: str, full_name: str) -> None:
        self.actor = actor
        self.csrf = csrf
        self.full_name = full_name


async def console_user(request: Request, settings: SettingsDep, session: SessionDep) -> ConsoleUser:
    """The signed-in, active user (roles fresh from the database); a POST must carry the session's CSRF token."""
    found = read_session(settings, request.cookies.get(SESSION_COOKIE))
    user = None
    if found is not None:
        user = await session.scalar(select(User).where(col(User.username) == found[0]))
    if found is None or user is None or not user.active:
        if request.method == "POST":  # no session: the post is refused like a forged one
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not signed in: sign in and try again")
        raise SignInRequired(quote(request.url.path + (f"?{request.url.query}" if request.url.query else "")))
    if request.method == "POST":
        await check_csrf(request, found[1])
    return ConsoleUser(actor_of(user.username, user.roles, user.department), found[1], user.full_name or "")


SignedIn = Annotated[ConsoleUser, Depends(console_user)]
