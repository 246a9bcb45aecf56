"""Password hashing and bearer tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

from core.roles import Actor, Role

_hasher = PasswordHash.recommended()
_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """Argon2 hash of a password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """True when the password matches the stored hash."""
    return _hasher.verify(password, password_hash)


def issue_token(actor: Actor, *, secret: str, ttl: timedelta) -> str:
    """A signed bearer token naming the user; roles are re-read from the database on every request."""
    now = datetime.now(UTC)
    claims = {"sub": actor.username, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(token: str, *, secret: str) -> str:
    """The username in a valid token; raises jwt.InvalidTokenError otherwise."""
    claims = jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"require": ["sub", "exp"]})
    return str(claims["sub"])


def actor_of(username: str, roles: list[str], department: str | None) -> Actor:
    """An Actor from a user row's fields, ignoring roles this version does not know."""
    known = tuple(Role(r) for r in roles if r in Role._value2member_map_)
    return Actor(username=username, roles=known, department=department)
