"""Issue 18, "keep the API lean": an intake or an act looks its request id up only when the client sent the key.

The statements are those the API (and the worker, on the same database) sent while the request ran, captured on
the engine; a request id the server made for this request cannot have been used, so looking it up (or locking on
it) is work without a purpose. With an Idempotency-Key the look-ups are there: that is what makes a retry safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlmodel import col

from db.models import AuditEntry
from tests.tickets.http_helpers import act, create, full_intake, routed


@contextmanager
def statements(db) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) sent on the shared engine inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def key_lookups(seen: list[tuple[str, Any]], request_id: str) -> list[str]:
    """The journal look-ups and per-key locks on this request id (not the journal insert itself)."""
    found = []
    for statement, parameters in seen:
        values = parameters.values() if isinstance(parameters, dict) else ()
        if not any(isinstance(v, str) and request_id in v for v in values):
            continue
        if statement.lstrip().startswith("SELECT") and ("audit_entry" in statement or "advisory" in statement):
            found.append(statement.split("\n")[0])
    return found


def journal_request_id(sync_session, subject_id: str, action: str) -> str:
    with sync_session() as s:
        return s.scalars(
            select(col(AuditEntry.request_id)).where(
                col(AuditEntry.subject_id) == subject_id, col(AuditEntry.action) == action
            )
        ).one()


async def test_an_intake_without_a_key_looks_nothing_up(http, login, db, sync_session):
    headers = await login("agent1")
    with statements(db) as seen:
        response = await create(http, headers, full_intake())
    assert response.status_code == 201, response.text
    request_id = journal_request_id(sync_session, response.json()["id"], "ticket.create")
    assert key_lookups(seen, request_id) == []

    key = uuid.uuid4().hex
    with statements(db) as seen:
        response = await create(http, headers, full_intake(), **{"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    lookups = key_lookups(seen, key)
    assert any("advisory" in s for s in lookups) and any("audit_entry" in s for s in lookups), lookups


async def test_an_act_without_a_key_looks_nothing_up(http, login, db, sync_session):
    agent, engineer = await login("agent1"), await login("engineer1")
    number = (await create(http, agent, full_intake())).json()["id"]
    cap = (await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"]
    with statements(db) as seen:
        await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap})
    request_id = journal_request_id(sync_session, number, "ticket.accept")
    assert key_lookups(seen, request_id) == []

    key = uuid.uuid4().hex
    entry = {"type": "log_progress", "kind": "note", "text": "已联系客户"}
    with statements(db) as seen:
        await act(http, engineer, number, entry, **{"Idempotency-Key": key})
    assert any("audit_entry" in s for s in key_lookups(seen, key))
