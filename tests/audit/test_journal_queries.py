"""Querying the audit journal (GET /api/audit) by actor, action, subject, workflow and time range."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest_asyncio

from core.records import AuditRecord
from db import audit as audit_journal

T0 = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def actor(db) -> str:
    """Three rows by a fresh actor, an hour apart: two acts on one ticket and a refused act on a task."""
    name = f"kx-q-{uuid.uuid4().hex[:8]}"
    rows = [
        ("ticket.accept", "ticket", "CS203103010001", "accepted", None),
        ("ticket.resolve", "ticket", "CS203103010001", "accepted", None),
        ("task.approve", "task", "ticket-CS203103010001:extension:4", "refused", "role supervisor required"),
    ]
    async with db.session() as session:
        for hour, (action, subject_type, subject_id, outcome, reason) in enumerate(rows):
            await audit_journal.append(
                session,
                AuditRecord(
                    at=T0 + timedelta(hours=hour),
                    actor=name,
                    actor_roles=("engineer",),
                    action=action,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    workflow_id="ticket-CS203103010001",
                    outcome=outcome,
                    reason=reason,
                    request_id=f"{name}-{hour}",
                ),
            )
        await session.commit()
    return name


async def query(http, login, **params) -> list[dict]:
    response = await http.get("/api/audit", params=params, headers=await login("auditor1"))
    assert response.status_code == 200, response.text
    assert response.json()["total"] == len(response.json()["items"])
    return response.json()["items"]


async def test_by_actor_in_time_order(http, login, actor):
    items = await query(http, login, by=actor)
    assert [i["action"] for i in items] == ["ticket.accept", "ticket.resolve", "task.approve"]
    assert [datetime.fromisoformat(i["at"]) for i in items] == [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]


async def test_by_action_subject_and_outcome(http, login, actor):
    assert [i["action"] for i in await query(http, login, by=actor, action="ticket.resolve")] == ["ticket.resolve"]
    assert len(await query(http, login, by=actor, subject_id="CS203103010001")) == 2
    [task] = await query(http, login, by=actor, subject_type="task")
    assert (task["outcome"], task["reason"]) == ("refused", "role supervisor required")
    assert len(await query(http, login, by=actor, workflow_id="ticket-CS203103010001", outcome="accepted")) == 2


async def test_by_time_range_half_open(http, login, actor):
    shanghai = timezone(timedelta(hours=8))
    since, until = (T0 + timedelta(hours=1)).astimezone(shanghai), T0 + timedelta(hours=2)
    items = await query(http, login, by=actor, since=since.isoformat(), until=until.isoformat())
    assert [i["action"] for i in items] == ["ticket.resolve"]


async def test_a_time_without_offset_is_refused(http, login, actor):
    response = await http.get(
        "/api/audit", params={"by": actor, "since": "2031-03-01T09:00:00"}, headers=await login("auditor1")
    )
    assert response.status_code == 422 and "since" in response.text
