"""Satisfaction survey links: the token is a secret in the link, only its hash is stored."""

import hashlib
import secrets


def new_token() -> str:
    """A fresh survey secret from the operating system's random source (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 hex of a survey token."""
    return hashlib.sha256(token.encode()).hexdigest()
