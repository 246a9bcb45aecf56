"""Health endpoints, and calls that need Temporal, a worker or the database failing fast with 503 instead of hanging."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from api.main import create_app
from core.calendar import HORIZON_DEGRADED_DAYS, default_cn_calendar
from db.session import Database
from infra.settings import Settings
from infra.temporal import connect
from infra.worker_factory import build_worker
from tests.support import eventually, free_port, serve

ROOT = Path(__file__).resolve().parents[2]
TT = "/tmf-api/troubleTicket/v4/troubleTicket"


def _own_queue(settings: Settings, **changes) -> Settings:
    """The session settings on a task queue nobody else polls, with the production staleness rule (8 s)."""
    queue = f"kx-health-{uuid.uuid4().hex[:8]}"
    return Settings(**{**settings.model_dump(), "temporal_task_queue": queue, "worker_stale_seconds": 8.0, **changes})


async def _headers(client: httpx.AsyncClient, user: str = "agent1") -> dict[str, str]:
    token = await client.post("/api/auth/token", data={"username": user, "password": "kexiang-demo"})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _worker_state(client: httpx.AsyncClient, alive: bool, *, within: float) -> dict:
    """Poll /readyz until its `worker` field says `alive`, failing after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        body = (await client.get("/readyz")).json()
        if body["worker"] is alive:
            return body
        assert time.monotonic() < deadline, f"/readyz still says worker={body['worker']} after {within:.0f} s: {body}"
        await asyncio.sleep(0.2)


async def _first_task(client: httpx.AsyncClient, workflow_id: str, headers: dict[str, str]) -> dict | None:
    tasks = (await client.get(f"/api/approvals/{workflow_id}", headers=headers)).json().get("tasks") or []
    return tasks[0] if tasks else None


async def test_health_and_ready(http):
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    horizon = default_cn_calendar().horizon
    near = (horizon - datetime.now(UTC).date()).days < HORIZON_DEGRADED_DAYS  # the seeded schedule running out
    body = ready.json()
    # This module runs no outbox dispatcher (worker.py's waker starts it): degraded, with a warning saying so.
    assert body == {
        "ready": True,
        "status": "degraded",
        "database": True,
        "temporal": True,
        "worker": True,
        "dispatcher": False,
        "outbox_overdue": body["outbox_overdue"],
        "calendar_horizon": horizon.isoformat(),
        "warnings": body["warnings"],
    }
    assert "the outbox dispatcher is not running: no e-mail, SMS or webhook goes out" in body["warnings"]
    assert near or len(body["warnings"]) == 1 + (body["outbox_overdue"] > 0)


async def test_no_worker_means_503_at_once(dev_env, db, settings):
    """On a real dev server with no worker polling: starts are refused with 503 and readiness says why."""
    own = _own_queue(settings)
    async with (
        serve(create_app(own, db=db, client=dev_env.client)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        headers = await _headers(client)
        response = await client.post("/api/approvals", json={"subject": "s", "reason": "r"}, headers=headers)
        assert response.status_code == 503 and "worker" in response.json()["detail"]
        assert response.headers["Retry-After"] == "5"
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["worker"] is False and ready.json()["database"] is True
        assert ready.json()["status"] == "unavailable"


async def test_a_killed_worker_process_is_reported_within_10_seconds(dev_env, db, settings, database_url, tmp_path):
    """A real `python worker.py` against the dev server, killed with SIGKILL (no goodbye): /readyz says so in 10 s."""
    own = _own_queue(settings)
    env = {
        **os.environ,
        "KEXIANG_ENV": "test",
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": own.temporal_task_queue,
        "DATA_DIR": str(tmp_path),
        "GROUP_DISPATCH_URL": own.dispatch_url,
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        async with (
            serve(create_app(own, db=db, client=dev_env.client)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
        ):
            await _worker_state(client, True, within=90)  # the process imports and connects first
            headers = await _headers(client)
            created = await client.post("/api/approvals", json={"subject": "alive", "reason": "r"}, headers=headers)
            assert created.status_code == 201, created.text
            workflow = dev_env.client.get_workflow_handle(created.json()["workflow_id"])
            try:
                task = await eventually(
                    lambda: _first_task(client, workflow.id, headers), timeout=30, what="the approval's task recorded"
                )
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
                ready = await _worker_state(client, False, within=10)
                assert ready["ready"] is False and ready["temporal"] is True and ready["database"] is True

                refused = await client.post("/api/approvals", json={"subject": "dead", "reason": "r"}, headers=headers)
                assert refused.status_code == 503 and "worker" in refused.json()["detail"]
                assert refused.headers["Retry-After"] == "5"
                # An act answers from the liveness check, not after waiting for a workflow nobody runs.
                decided = await client.post(
                    f"/api/tasks/{task['task_id']}/decision",
                    json={"outcome": "approve"},
                    headers=await _headers(client, "supervisor1"),
                )
                assert decided.status_code == 503 and "no kexiang worker" in decided.json()["detail"], decided.text
                assert decided.headers["Retry-After"] == "5"
            finally:
                await workflow.terminate("test over")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)


async def test_a_stopped_worker_is_gone_at_once(dev_env, db, settings):
    """A worker that stops cleanly removes its heartbeat: readiness turns without waiting for it to age."""
    own = _own_queue(settings)
    async with (
        serve(create_app(own, db=db, client=dev_env.client)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        async with build_worker(dev_env.client, db, own):
            assert (await client.get("/readyz")).json()["worker"] is True
        body = (await client.get("/readyz")).json()
        assert body["worker"] is False and body["ready"] is False


async def test_temporal_down_means_503(db, settings):
    """Temporal unreachable: the API still starts, readiness is 503, and a start answers 503."""
    down = Settings(
        **{**settings.model_dump(), "temporal_address": f"127.0.0.1:{free_port()}", "temporal_rpc_timeout_seconds": 1}
    )
    client = await connect(down, lazy=True)
    async with (
        serve(create_app(down, db=db, client=client)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["temporal"] is False
        headers = await _headers(http)
        response = await http.post("/api/approvals", json={"subject": "s", "reason": "r"}, headers=headers)
        assert response.status_code == 503


async def test_database_down_means_503_with_retry_after(env, settings, http):
    """PostgreSQL unreachable: our routes answer 503 JSON, TMF routes a TMF Error, both with Retry-After; never 500."""
    headers = await _headers(http, "supervisor1")  # tokens are signed, not stored: the down app accepts them
    closed = Database(f"postgresql+psycopg://kexiang:x@127.0.0.1:{free_port()}/kexiang")
    try:
        async with (
            serve(create_app(settings, db=closed, client=env.client)) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
        ):
            for path in ("/api/tasks", "/api/calendars/cn-mainland"):
                response = await client.get(path, headers=headers)
                assert response.status_code == 503, (path, response.text)
                assert response.headers["Retry-After"] == "5"
                assert response.json() == {"detail": "the database is unavailable; try again shortly"}

            tmf = await client.get(TT, headers=headers)
            assert tmf.status_code == 503 and tmf.headers["Retry-After"] == "5"
            assert tmf.json()["@type"] == "Error" and tmf.json()["code"] == "503"
            assert "database is unavailable" in tmf.json()["message"]

            login = await client.post("/api/auth/token", data={"username": "agent1", "password": "kexiang-demo"})
            assert login.status_code == 503 and login.headers["Retry-After"] == "5"

            ready = await client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["database"] is False and ready.json()["worker"] is False
    finally:
        await closed.dispose()
