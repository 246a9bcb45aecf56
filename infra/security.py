"""Password hashing and bearer tokens."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

from core.roles import Actor, Role

_hasher = PasswordHash.recommended()
_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """Argon2 hash of a password."""
    return _hasher.hash(password)


# A hash of a random password by the same hasher (same parameters), so checking it costs what a real check
# costs; made at import so even the first unknown username takes no longer than a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(32))


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when the password matches the stored hash; with no hash (unknown user) the same work, then False."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
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
