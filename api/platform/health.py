"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import text

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    """Whether each dependency answers."""

    ready: bool
    database: bool
    temporal: bool
    worker: bool


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Liveness: answers as long as the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Database, Temporal and a worker are reachable")
async def readyz(request: Request, response: Response) -> Readiness:
    """Readiness: 200 only when the database, Temporal and a worker poller all answer."""
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

    db_ok, temporal_ok = await asyncio.gather(database(), temporal())
    worker_ok = temporal_ok and await state.gateway.worker_alive()
    ready = db_ok and temporal_ok and worker_ok
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(ready=ready, database=db_ok, temporal=temporal_ok, worker=worker_ok)
