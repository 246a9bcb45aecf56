"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import text
from temporalio.client import WorkflowExecutionStatus

from core.calendar import HORIZON_DEGRADED_DAYS, horizon_warnings
from core.outbox import OVERDUE_AFTER
from db.models import utcnow
from db.outbox import overdue_count
from db.policies import latest_calendar

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    """Whether each dependency answers, and what needs an operator's attention while it does."""

    ready: bool
    status: Literal["ok", "degraded", "unavailable"]
    database: bool
    temporal: bool
    worker: bool
    dispatcher: bool = False  # the outbox dispatcher runs (nothing is sent while it does not)
    outbox_overdue: int = 0  # messages due more than 5 minutes ago: a stuck dispatcher or channel
    calendar_horizon: date | None = None  # the active (default) calendar's declared horizon
    warnings: list[str] = []


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Liveness: answers as long as the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Database, Temporal and a worker are reachable")
async def readyz(request: Request, response: Response) -> Readiness:
    """Readiness: 200 only when the database, Temporal and a live worker (fresh heartbeat) all answer.

    `status` is "degraded" (still 200) when the active calendar declares holidays for less than 90 more days, when
    the outbox dispatcher is not running, or when outbox messages are overdue (`/api/outbox/summary` says where).
    """
    state = request.app.state

    async def database() -> bool:
        try:
            async with state.db.session() as session:
                await asyncio.wait_for(session.execute(text("SELECT 1")), timeout=3)
            return True
        except Exception:
            return False

    async def temporal() -> bool:
        try:
            return await asyncio.wait_for(state.gateway.client.service_client.check_health(), timeout=3)
        except Exception:
            return False

    async def worker() -> bool:
        try:
            return await asyncio.wait_for(state.gateway.worker_alive(cached=False), timeout=3)
        except Exception:
            return False

    async def dispatcher() -> bool:
        try:
            handle = state.gateway.client.get_workflow_handle(state.settings.outbox_dispatcher_workflow_id)
            described = await asyncio.wait_for(handle.describe(), timeout=3)
            return bool(described.status == WorkflowExecutionStatus.RUNNING)
        except Exception:
            return False

    db_ok, temporal_ok, worker_ok, dispatcher_ok = await asyncio.gather(database(), temporal(), worker(), dispatcher())
    ready = db_ok and temporal_ok and worker_ok
    horizon, warnings = await _calendar_horizon(request) if db_ok else (None, [])
    overdue = await _outbox_overdue(request) if db_ok else 0
    if not dispatcher_ok:
        warnings.append("the outbox dispatcher is not running: no e-mail, SMS or webhook goes out")
    if overdue:
        warnings.append(f"{overdue} outbox message(s) overdue: see /api/outbox/summary")
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(
        ready=ready,
        status="unavailable" if not ready else "degraded" if warnings else "ok",
        database=db_ok,
        temporal=temporal_ok,
        worker=worker_ok,
        dispatcher=dispatcher_ok,
        outbox_overdue=overdue,
        calendar_horizon=horizon,
        warnings=warnings,
    )


async def _outbox_overdue(request: Request) -> int:
    """Outbox messages due more than OVERDUE_AFTER ago, on every channel."""
    try:
        async with request.app.state.db.session() as session:
            return await asyncio.wait_for(overdue_count(session, utcnow() - OVERDUE_AFTER), timeout=3)
    except Exception:
        return 0


async def _calendar_horizon(request: Request) -> tuple[date | None, list[str]]:
    """The active calendar's horizon, with a warning when it is missing or less than 90 days away."""
    name = request.app.state.settings.default_calendar
    try:
        async with request.app.state.db.session() as session:
            calendar = await asyncio.wait_for(latest_calendar(session, name), timeout=3)
    except Exception:
        return None, []
    if calendar is None:
        return None, [f"the default calendar {name} does not exist: workflows cannot start"]
    today = calendar.local_date(utcnow())
    return calendar.horizon, horizon_warnings(calendar, today, wanted_days=HORIZON_DEGRADED_DAYS)
