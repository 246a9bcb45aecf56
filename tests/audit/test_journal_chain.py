"""The audit journal is append-only and tamper-evident: rows are hash-chained, the database refuses changes,
and GET /api/audit/verify finds the first broken link."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from core.records import AuditRecord
from db import audit as audit_journal
from db.migrate import alembic_config
from db.models import AuditEntry, utcnow
from db.session import Database
from tests.support import audit_rows


def _record(**overrides) -> AuditRecord:
    values = dict(
        at=utcnow(),
        actor="agent1",
        actor_roles=("agent",),
        action="test.chain",
        subject_type="test",
        subject_id="chain",
        reason="原因 with unicode",
        request_id=f"chain-{uuid.uuid4().hex}",
        details={"n": 1, "nested": {"b": [1, 2.5, None], "a": "x"}},
    )
    return AuditRecord(**(values | overrides))


async def _append(db: Database, record: AuditRecord) -> None:
    async with db.session() as session:
        await audit_journal.append(session, record)
        await session.commit()


def _row(sync_session, request_id: str) -> AuditEntry:
    [row] = audit_rows(sync_session, request_id=request_id)
    return row


@contextmanager
def _triggers_off(sync_session):
    """A session in which the append-only trigger does not fire (superuser only; this session only)."""
    with sync_session() as s:
        s.execute(text("SET LOCAL session_replication_role = replica"))
        yield s
        s.commit()


async def _verify(http, login) -> dict:
    response = await http.get("/api/audit/verify", headers=await login("auditor1"))
    assert response.status_code == 200, response.text
    return response.json()


async def test_concurrent_appends_form_one_linear_chain(db, sync_session, http, login):
    records = [_record(subject_id=f"chain-{i}") for i in range(25)]
    await asyncio.gather(*(_append(db, r) for r in records))
    newest = max(_row(sync_session, r.request_id).id for r in records)
    report = await _verify(http, login)
    assert report["ok"], report
    assert report["head_id"] >= newest
    with sync_session() as s:  # no fork: two appends that read the same head would share a prev_hash
        forks = s.execute(text("SELECT prev_hash FROM audit_entry GROUP BY prev_hash HAVING count(*) > 1")).all()
    assert forks == []


async def test_a_repeated_request_id_appends_nothing(db, sync_session):
    record = _record()
    await _append(db, record)
    await _append(db, record.model_copy(update={"reason": "a retry"}))
    assert _row(sync_session, record.request_id).reason == record.reason


async def test_a_create_journaled_already_is_looked_up_and_a_missing_one_appended(db, sync_session, http, login):
    journaled, missing = _record(action="ticket.create"), _record(action="ticket.create")
    await _append(db, journaled)  # the API's row, committed with the start
    async with db.session() as session:
        await audit_journal.append_unless_journaled(session, journaled.model_copy(update={"reason": "the echo"}))
        await audit_journal.append_unless_journaled(session, missing)  # the API's commit never happened
        await session.commit()
    assert _row(sync_session, journaled.request_id).reason == journaled.reason
    assert _row(sync_session, missing.request_id).action == "ticket.create"
    report = await _verify(http, login)
    assert report["ok"], report


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET reason = 'edited' WHERE id = :id", "DELETE FROM audit_entry WHERE id = :id"],
    ids=["update", "delete"],
)
async def test_the_database_refuses_changes_to_journal_rows(db, sync_session, statement):
    record = _record()
    await _append(db, record)
    row = _row(sync_session, record.request_id)
    with sync_session() as s, pytest.raises(DBAPIError, match="audit_entry is append-only"):
        s.execute(text(statement), {"id": row.id})
    assert _row(sync_session, record.request_id).reason == record.reason


async def test_verify_finds_an_altered_row(db, sync_session, http, login):
    records = [_record(), _record()]
    for r in records:
        await _append(db, r)
    victim = _row(sync_session, records[0].request_id)
    assert (await _verify(http, login))["ok"]
    with _triggers_off(sync_session) as s:
        s.execute(text("UPDATE audit_entry SET reason = 'nothing to see here' WHERE id = :id"), {"id": victim.id})
    try:
        report = await _verify(http, login)
        assert (report["ok"], report["broken_id"]) == (False, victim.id)
        assert "content" in report["reason"]
    finally:
        with _triggers_off(sync_session) as s:
            s.execute(text("UPDATE audit_entry SET reason = :r WHERE id = :id"), {"r": victim.reason, "id": victim.id})
    assert (await _verify(http, login))["ok"]


async def test_verify_finds_a_removed_row(db, sync_session, http, login):
    records = [_record(), _record()]
    for r in records:
        await _append(db, r)
    victim, successor = (_row(sync_session, r.request_id) for r in records)
    columns = [c.name for c in AuditEntry.__table__.columns]
    with sync_session() as s:
        saved = dict(s.execute(select(AuditEntry.__table__).where(AuditEntry.id == victim.id)).mappings().one())
    with _triggers_off(sync_session) as s:
        s.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": victim.id})
    try:
        report = await _verify(http, login)
        assert (report["ok"], report["broken_id"]) == (False, successor.id)
        assert "prev_hash" in report["reason"]
    finally:
        with sync_session() as s:
            s.execute(AuditEntry.__table__.insert().values({c: saved[c] for c in columns}))
            s.commit()
    assert (await _verify(http, login))["ok"]


async def test_only_auditors_and_admins_verify(http, login):
    assert (await http.get("/api/audit/verify", headers=await login("supervisor1"))).status_code == 403
    assert (await http.get("/api/audit/verify", headers=await login("admin"))).status_code == 200


def test_the_migration_seals_rows_written_before_it(database_url):
    """Upgrading a database that already has journal rows chains them; the result verifies."""
    name = f"kx_chain_{uuid.uuid4().hex[:8]}"
    server = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with server.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    config = alembic_config(url)
    before_chain = ScriptDirectory.from_config(config).get_revision("0003").down_revision
    try:
        command.upgrade(config, before_chain)
        engine = create_engine(url)
        with engine.begin() as c:
            for i in range(3):
                c.execute(
                    text(
                        "INSERT INTO audit_entry"
                        " (at, actor, actor_roles, action, subject_type, subject_id, outcome, request_id, details)"
                        " VALUES (now(), 'agent1', '{agent}', 'old.act', 'test', :s, 'accepted', :r, '{\"i\": 1}')"
                    ),
                    {"s": f"old-{i}", "r": f"old-{i}"},
                )
        command.upgrade(config, "head")
        database = Database(url, pool_size=1)
        try:
            check = asyncio.run(_check(database))
        finally:
            asyncio.run(database.dispose())
        assert (check.ok, check.checked) == (True, 3)
        command.downgrade(config, before_chain)  # and back: the trigger and columns go away cleanly
        engine.dispose()
    finally:
        with server.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


async def _check(database: Database) -> audit_journal.ChainCheck:
    async with database.session() as session:
        return await audit_journal.verify_chain(session)
