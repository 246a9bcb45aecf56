"""AES-GCM payload encryption for Temporal histories, with key ids so keys can rotate.

Every payload (workflow and activity inputs and results, update and signal arguments, memos,
encoded failure attributes) is stored encrypted: customer contact data never reaches Temporal's
history in clear text. Search attributes and workflow ids are not payloads and stay readable,
so they must never carry customer data.

A key ring is an ordered mapping key id -> AES key: the first key encrypts, every key decrypts,
so an old key stays in the ring for as long as histories written with it must be readable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
_NONCE_BYTES = 12
_KEY_BYTES = (16, 24, 32)

# Dev and test only: a well-known key so local histories survive restarts; production refuses it.
DEV_KEY_ID = "dev"
DEV_KEY = hashlib.sha256(b"kexiang dev-only payload key; never use outside dev and test").digest()


class UnknownKeyError(ValueError):
    """A payload was encrypted with a key id the ring does not hold."""


def parse_key_ring(text: str) -> dict[str, bytes]:
    """`kid:base64key,kid2:base64key` -> ordered {kid: key}; raises ValueError on anything malformed."""
    ring: dict[str, bytes] = {}
    for item in (part.strip() for part in text.split(",")):
        kid, sep, encoded = item.partition(":")
        kid = kid.strip()
        if not sep or not kid or not encoded.strip():
            raise ValueError("each entry must look like key-id:base64-key")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"key {kid!r} is not valid base64") from exc
        if len(key) not in _KEY_BYTES:
            raise ValueError(f"key {kid!r} must be 16, 24 or 32 bytes (AES-128/192/256), not {len(key)}")
        if kid in ring:
            raise ValueError(f"key id {kid!r} appears twice")
        ring[kid] = key
    return ring


def new_key_entry(kid: str) -> str:
    """A fresh `kid:base64key` entry for PAYLOAD_ENCRYPTION_KEYS (AES-256)."""
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


class EncryptionCodec(PayloadCodec):
    """Encrypts every payload with the ring's first key; decrypts with whichever key id a payload names."""

    def __init__(self, ring: Mapping[str, bytes]) -> None:
        if not ring:
            raise ValueError("the key ring is empty")
        self._ciphers = {kid: AESGCM(key) for kid, key in ring.items()}
        self._current = next(iter(ring))

    @property
    def current_key_id(self) -> str:
        """The key id new payloads are encrypted with."""
        return self._current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload whole (metadata included) under the current key."""
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt encrypted payloads; payloads written before encryption existed pass through unchanged."""
        return [self._decrypt(p) if p.metadata.get("encoding") == ENCODING else p for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        kid = self._current
        nonce = os.urandom(_NONCE_BYTES)
        # The key id is authenticated data: relabelling a payload with another key id fails decryption.
        sealed = self._ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        kid = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnknownKeyError(f"payload encrypted with key id {kid!r}, which is not in PAYLOAD_ENCRYPTION_KEYS")
        plain = cipher.decrypt(payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:], kid.encode())
        return Payload.FromString(plain)
