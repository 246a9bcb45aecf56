"""Helpers shared by the test modules (no fixtures here: see conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

T = TypeVar("T")
SHANGHAI = ZoneInfo("Asia/Shanghai")


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


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app with uvicorn on a free loopback port in this event loop; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
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
