"""Helpers shared by the API test modules (HTTP calls against the real app, DB assertions)."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
from sqlalchemy import func, select

from db.models import AuditEntry, TaskRow
from tests.support import eventually

PASSWORD = "kexiang-demo"


def unique(prefix: str) -> str:
    """A name no other test (or earlier run on a reused database) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def when(value: str) -> datetime:
    """An ISO timestamp from a response body."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def count_audit(sync_session, **filters) -> int:
    """Number of audit_entry rows matching column == value filters."""
    with sync_session() as s:
        query = select(func.count()).select_from(AuditEntry)
        for column, value in filters.items():
            query = query.where(getattr(AuditEntry, column) == value)
        return s.scalar(query)


def audit_rows(sync_session, **filters) -> list[AuditEntry]:
    """audit_entry rows matching column == value filters, oldest first."""
    with sync_session() as s:
        query = select(AuditEntry).order_by(AuditEntry.id)
        for column, value in filters.items():
            query = query.where(getattr(AuditEntry, column) == value)
        rows = list(s.scalars(query))
        s.expunge_all()
        return rows


def task_row(sync_session, task_id: str) -> TaskRow | None:
    """The read-model row of a task."""
    with sync_session() as s:
        row = s.get(TaskRow, task_id)
        if row is not None:
            s.expunge(row)
        return row


async def token_for(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """POST /api/auth/token (OAuth2 password form)."""
    return await http.post("/api/auth/token", data={"username": username, "password": password})


async def headers_for(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Fresh bearer headers (not cached, unlike the `login` fixture: for users the tests change)."""
    response = await token_for(http, username, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def request_approval(http: httpx.AsyncClient, headers: dict[str, str], subject: str) -> str:
    """POST /api/approvals with a fresh Idempotency-Key; returns the workflow id."""
    key = uuid.uuid4().hex
    response = await http.post(
        "/api/approvals", json={"subject": subject, "reason": "api test"}, headers={**headers, "Idempotency-Key": key}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["workflow_id"] == f"approval-{key}"
    return body["workflow_id"]


async def approval_task(http: httpx.AsyncClient, headers: dict[str, str], workflow_id: str) -> dict:
    """Poll GET /api/approvals/{id} until the workflow has recorded its task; returns the task view."""

    async def probe() -> dict | None:
        response = await http.get(f"/api/approvals/{workflow_id}", headers=headers)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        tasks = response.json()["tasks"]
        return tasks[0] if tasks else None

    return await eventually(probe, what=f"task of {workflow_id} in the read model")


async def close_approval(http: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> None:
    """Approve an open approval task so its workflow ends (no stray timers for later time skips)."""
    response = await http.post(f"/api/tasks/{task_id}/decision", json={"outcome": "approve"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"
