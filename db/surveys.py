"""Satisfaction survey links: the token is a secret in the link, only its hash is stored."""

from __future__ import annotations

import hashlib


def token_hash(token: str) -> str:
    """SHA-256 hex of a survey token."""
    return hashlib.sha256(token.encode()).hexdigest()
