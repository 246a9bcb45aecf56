"""The journal's head is anchored in Temporal (the JournalAnchor workflow), so even the owner role holding the
HMAC key cannot rewrite a row and re-seal the chain unnoticed: `/api/audit/verify` compares the anchors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from sqlalchemy import create_engine, select, text

from api.main import create_app
from audit.journal_anchor import recorded_anchors
from core.journal_anchor import AnchorState, JournalAnchor
from core.records import AuditRecord
from db import audit as audit_journal
from db.models import AuditEntry, utcnow
from infra.settings import Settings
from infra.worker_factory import build_worker
from tests.support import eventually, serve
from tests.tickets.flow import idle
from workflows.journal_anchor import JournalAnchorWorkflow

KEYS = Settings(kexiang_env="test").journal_key_ring


async def _append(db, reason: str) -> int:
    record = AuditRecord(
        at=utcnow(),
        actor="agent1",
        action="test.anchor",
        subject_type="test",
        subject_id="anchor",
        reason=reason,
        request_id=f"anchor-{uuid.uuid4().hex}",
    )
    async with db.session() as session:
        await audit_journal.append(session, record)
        await session.commit()
        return await session.scalar(select(AuditEntry.id).where(AuditEntry.request_id == record.request_id))


@pytest_asyncio.fixture
async def anchored(dev_env, settings, db) -> AsyncIterator[tuple[httpx.AsyncClient, list[int], str]]:
    """Two fresh journal rows, an anchor workflow that has recorded a head at or past them, and an API reading it.

    On the real dev server (no time skipping needed: the first round runs at once), with a worker of its own.
    """
    rows = [await _append(db, "before the anchor"), await _append(db, "also before the anchor")]
    workflow_id = f"journal-anchor-{uuid.uuid4().hex[:8]}"
    own = settings.model_copy(
        update={"temporal_task_queue": f"kx-anchor-{uuid.uuid4().hex[:8]}", "journal_anchor_workflow_id": workflow_id}
    )
    async with build_worker(dev_env.client, db, own):
        handle = await dev_env.client.start_workflow(
            JournalAnchorWorkflow.run,
            AnchorState(interval_minutes=10),
            id=workflow_id,
            task_queue=own.temporal_task_queue,
        )

        async def covered() -> list[JournalAnchor] | None:
            anchors = await recorded_anchors(dev_env.client, workflow_id)
            return anchors if anchors and anchors[-1].row_id >= rows[-1] else None

        try:
            await eventually(covered, what="an anchor past the new rows")
            app = create_app(own, db=db, client=dev_env.client)
            async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
                yield client, rows, workflow_id
        finally:
            await eventually(lambda: idle(handle), what="anchor run idle")
            await handle.terminate("test over")


def _reseal(owner_url: str, row_id: int, reason: str | None) -> None:
    """What an owner holding the key could do: edit a row with the trigger off and re-seal every row after it."""
    engine = create_engine(owner_url)
    table = AuditEntry.__table__
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit_journal._CHAIN_LOCK})
            conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
            conn.execute(table.update().where(table.c.id == row_id).values(reason=reason))
            previous = conn.scalar(select(table.c.row_hash).where(table.c.id < row_id).order_by(table.c.id.desc()))
            for row in conn.execute(select(table).where(table.c.id >= row_id).order_by(table.c.id)).mappings():
                key = KEYS[row["key_id"]] if row["key_id"] else None
                digest = audit_journal.row_digest(row, previous or audit_journal.GENESIS, key)
                conn.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=previous, row_hash=digest))
                previous = digest
            conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))
    finally:
        engine.dispose()


async def _verify(client: httpx.AsyncClient, login) -> dict:
    response = await client.get("/api/audit/verify", headers=await login("auditor1"))
    assert response.status_code == 200, response.text
    return response.json()


async def test_verify_compares_the_chain_with_the_anchors(anchored, http, login):
    client, _, _ = anchored
    report = await _verify(client, login)
    assert report["ok"] and report["anchors_checked"] >= 1 and report["anchors_note"] is None, report
    unanchored = await _verify(http, login)  # the suite's own API has no anchor workflow running
    assert (
        unanchored["ok"] and unanchored["anchors_checked"] == 0 and "no anchor workflow" in unanchored["anchors_note"]
    )


async def test_a_chain_rewritten_and_resealed_with_the_key_is_caught_by_the_anchor(
    anchored, http, login, database_urls, dev_env
):
    client, (victim, _), workflow_id = anchored
    anchors = await recorded_anchors(dev_env.client, workflow_id)
    first_covering = min(a.row_id for a in anchors if a.row_id >= victim)
    _reseal(database_urls.owner, victim, "nothing happened here")
    try:
        fooled = await _verify(http, login)  # links and seals alone: the re-sealed chain checks out
        assert fooled["ok"], fooled
        caught = await _verify(client, login)
        assert (caught["ok"], caught["broken_id"]) == (False, first_covering), caught
        assert "anchor" in caught["reason"]
    finally:
        _reseal(database_urls.owner, victim, "before the anchor")
    assert (await _verify(client, login))["ok"]
