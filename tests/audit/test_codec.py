"""The payload codec: AES-GCM per payload, key ids for rotation, and the settings that feed it."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from infra.codec import (
    DEV_KEY,
    DEV_KEY_ID,
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    UnknownKeyError,
    new_key_entry,
    parse_key_ring,
)
from infra.settings import Settings
from infra.temporal import data_converter

CONTACT = "Zhang San 13912345678"


def _ring(*entries: str) -> dict[str, bytes]:
    return parse_key_ring(",".join(entries))


async def test_round_trip_hides_the_plain_text():
    codec = EncryptionCodec(_ring(new_key_entry("k1")))
    plain = data_converter(Settings(kexiang_env="test")).payload_converter.to_payload({"contact": CONTACT})
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"k1"
    assert CONTACT.encode() not in sealed.data and b"json/plain" not in sealed.data  # metadata is sealed too
    assert await codec.decode([sealed]) == [plain]
    [again] = await codec.encode([plain])
    assert again.data != sealed.data  # a fresh nonce every time


async def test_rotation_keeps_old_payloads_readable():
    old, new = new_key_entry("2025"), new_key_entry("2026")
    [written_last_year] = await EncryptionCodec(_ring(old)).encode([Payload(data=b"old")])
    rotated = EncryptionCodec(_ring(new, old))  # the first key encrypts; every key decrypts
    assert rotated.current_key_id == "2026"
    [written_now] = await rotated.encode([Payload(data=b"new")])
    assert written_now.metadata[KEY_ID] == b"2026"
    assert [p.data for p in await rotated.decode([written_last_year, written_now])] == [b"old", b"new"]


async def test_a_retired_key_or_a_tampered_payload_is_refused():
    [sealed] = await EncryptionCodec(_ring(new_key_entry("gone"))).encode([Payload(data=b"x")])
    with pytest.raises(UnknownKeyError, match="'gone'"):
        await EncryptionCodec(_ring(new_key_entry("k2"))).decode([sealed])
    codec = EncryptionCodec(_ring(new_key_entry("k1"), new_key_entry("k2")))
    [sealed] = await codec.encode([Payload(data=b"x")])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k2"}, data=sealed.data)
    with pytest.raises(InvalidTag):
        await codec.decode([relabelled])


async def test_payloads_from_before_encryption_pass_through():
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    assert await EncryptionCodec({DEV_KEY_ID: DEV_KEY}).decode([plain]) == [plain]


@pytest.mark.parametrize(
    "value",
    [
        "k1",
        "k1:",
        ":" + base64.b64encode(b"x" * 32).decode(),
        "k1:not base64!",
        "k1:" + base64.b64encode(b"short").decode(),
        new_key_entry("k1") + "," + new_key_entry("k1"),
    ],
    ids=["no-key", "empty-key", "no-id", "not-base64", "wrong-length", "duplicate-id"],
)
def test_malformed_key_rings_are_refused_at_start(value):
    with pytest.raises(ValidationError, match="PAYLOAD_ENCRYPTION_KEYS"):
        Settings(payload_encryption_keys=value)


def test_production_needs_its_own_keys():
    secret = "x" * 40
    with pytest.raises(ValidationError, match="PAYLOAD_ENCRYPTION_KEYS"):
        Settings(kexiang_env="production", token_secret=secret)
    dev_key = f"{DEV_KEY_ID}:{base64.b64encode(DEV_KEY).decode()}"
    with pytest.raises(ValidationError, match="PAYLOAD_ENCRYPTION_KEYS"):
        Settings(kexiang_env="production", token_secret=secret, payload_encryption_keys=dev_key)
    ring = Settings(
        kexiang_env="production",
        token_secret=secret,
        payload_encryption_keys=new_key_entry("k1"),
        journal_keys=new_key_entry("j1"),
    ).payload_key_ring
    assert list(ring) == ["k1"]
    assert Settings(kexiang_env="dev").payload_key_ring == {DEV_KEY_ID: DEV_KEY}


def test_keys_and_ui_origins_come_from_the_environment(monkeypatch):
    entry = new_key_entry("env-key")
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEYS", entry)
    monkeypatch.setenv("CODEC_CORS_ORIGINS", "https://ui.example.cn, http://localhost:8080")
    settings = Settings()
    assert list(settings.payload_key_ring) == ["env-key"]
    assert settings.codec_cors_origins == ["https://ui.example.cn", "http://localhost:8080"]
