"""The chain is keyed: HMAC-SHA256 under the key id each row names, so keys rotate and a re-seal without
the key is caught by the links and seals alone."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from core.records import AuditRecord
from db import audit as audit_journal
from db.migrate import upgrade
from db.models import AuditEntry, utcnow
from db.session import Database

OLD, NEW = os.urandom(32), os.urandom(32)


def _record(n: int) -> AuditRecord:
    return AuditRecord(
        at=utcnow(),
        actor="agent1",
        action="test.keys",
        subject_type="test",
        subject_id=f"keys-{n}",
        request_id=f"keys-{uuid.uuid4().hex}",
        details={"n": n},
    )


@pytest_asyncio.fixture
async def scratch_url(database_url) -> AsyncIterator[str]:
    """An empty, migrated database of this test's own (rows sealed with throwaway keys stay out of the suite's)."""
    name = f"kx_keys_{uuid.uuid4().hex[:8]}"
    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with server.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with server.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


async def _append(url: str, keys: dict[str, bytes], *numbers: int) -> None:
    database = Database(url, pool_size=1, journal_keys=keys)
    try:
        for n in numbers:
            async with database.session() as session:
                await audit_journal.append(session, _record(n))
                await session.commit()
    finally:
        await database.dispose()


async def _verify(url: str, keys: dict[str, bytes]) -> audit_journal.ChainCheck:
    database = Database(url, pool_size=1, journal_keys=keys)
    try:
        async with database.session() as session:
            return await audit_journal.verify_chain(session)
    finally:
        await database.dispose()


def _rows(url: str) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [dict(r) for r in c.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings()]
    finally:
        engine.dispose()


def _tamper(url: str, statement: str, **params) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(text("SET LOCAL session_replication_role = replica"))
            c.execute(text(statement), params)
    finally:
        engine.dispose()


async def test_keys_rotate_and_each_row_is_checked_with_its_own_key(scratch_url):
    await _append(scratch_url, {"k1": OLD}, 1, 2)
    await _append(scratch_url, {"k2": NEW, "k1": OLD}, 3, 4)  # rotated: the first key seals new rows
    assert [r["key_id"] for r in _rows(scratch_url)] == ["k1", "k1", "k2", "k2"]
    check = await _verify(scratch_url, {"k2": NEW, "k1": OLD})
    assert (check.ok, check.checked) == (True, 4)
    retired = await _verify(scratch_url, {"k2": NEW})  # dropping a key still in use is noticed, not ignored
    assert (retired.ok, retired.broken_id) == (False, _rows(scratch_url)[0]["id"])
    assert "'k1'" in retired.reason


async def test_a_reseal_without_the_key_is_caught(scratch_url):
    await _append(scratch_url, {"k1": OLD}, 1, 2)
    victim = _rows(scratch_url)[0]
    edited = {**victim, "reason": "rewritten"}
    forged = audit_journal.row_digest(edited, victim["prev_hash"], os.urandom(32))  # a guess at the key
    _tamper(
        scratch_url,
        "UPDATE audit_entry SET reason = 'rewritten', row_hash = :h WHERE id = :id",
        h=forged,
        id=victim["id"],
    )
    check = await _verify(scratch_url, {"k1": OLD})
    assert (check.ok, check.broken_id) == (False, victim["id"]) and "content" in check.reason


async def test_an_unkeyed_reseal_after_keyed_rows_is_caught(scratch_url):
    await _append(scratch_url, {"k1": OLD}, 1, 2)
    _, second = _rows(scratch_url)
    plain = audit_journal.row_digest({**second, "reason": "rewritten"}, second["prev_hash"])  # SHA-256, no key
    _tamper(
        scratch_url,
        "UPDATE audit_entry SET reason = 'rewritten', key_id = NULL, row_hash = :h WHERE id = :id",
        h=plain,
        id=second["id"],
    )
    check = await _verify(scratch_url, {"k1": OLD})
    assert (check.ok, check.broken_id) == (False, second["id"]) and "unkeyed" in check.reason
