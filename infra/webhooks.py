"""Signed webhooks (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) and their secrets.

A listener's secret is drawn from `secrets` when it registers, shown to it once, and stored sealed with AES-GCM
under the payload key ring (the worker must sign with it, so a hash would not do).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import os
import secrets
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks.webhooks import Webhook

from infra.delivery import DeliveryFailed, tls_context

_AAD = b"kexiang webhook secret"


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form `whsec_<base64 of 32 random bytes>`."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def seal_secret(ring: Mapping[str, bytes], secret: str) -> str:
    """`kid:base64(nonce + ciphertext)` under the ring's first key."""
    kid, key = next(iter(ring.items()))
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), _AAD + kid.encode())
    return f"{kid}:{base64.b64encode(nonce + sealed).decode()}"


def open_secret(ring: Mapping[str, bytes], sealed: str) -> str:
    """The secret `seal_secret` sealed (any key of the ring)."""
    kid, _, data = sealed.partition(":")
    raw = base64.b64decode(data)
    return AESGCM(ring[kid]).decrypt(raw[:12], raw[12:], _AAD + kid.encode()).decode()


def signed_headers(secret: str, webhook_id: str, body: str, *, at: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery of `body`."""
    at = at or datetime.now(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


async def post_event(url: str, secret: str, webhook_id: str, event: dict[str, Any], *, timeout: float = 20.0) -> int:
    """POST one signed event; the same `webhook_id` on every retry lets the receiver de-duplicate. Returns the
    status code of a 2xx answer, raises DeliveryFailed otherwise."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    headers = {"content-type": "application/json", **signed_headers(secret, webhook_id, body)}
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=tls_context()) as client:
            response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as err:
        raise DeliveryFailed(f"listener unreachable: {type(err).__name__}") from None
    if not response.is_success:
        raise DeliveryFailed(f"listener answered {response.status_code}", code=response.status_code)
    return response.status_code


class CallbackRefused(ValueError):
    """A listener callback kexiang will not call (server-side request forgery screening)."""


async def screen_callback(url: str, *, allow_private: bool) -> None:
    """Refuse a callback that is not plain http(s) to a host, carries credentials, or (unless `allow_private`)
    resolves to a loopback, private, link-local or otherwise non-public address. Checked when a listener registers
    and again before every delivery (the name may have been re-pointed since)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise CallbackRefused("callback: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackRefused("callback: only http and https URLs with a host")
    if parts.username or parts.password:
        raise CallbackRefused("callback: credentials in the URL are not accepted")
    if allow_private:
        return
    host = parts.hostname
    try:
        addresses = {ipaddress.ip_address(host)}
    except ValueError:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise CallbackRefused(f"callback: host {host} does not resolve") from None
        addresses = {ipaddress.ip_address(info[4][0]) for info in found}
    for address in addresses:
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        if not (mapped or address).is_global:
            raise CallbackRefused(f"callback: host {host} is a private or loopback address")
