"""Health endpoints, and calls that need Temporal or a worker failing fast with 503 instead of hanging."""

from __future__ import annotations

import httpx

from api.main import create_app
from db.seed import DEMO_PASSWORD
from infra.settings import Settings
from infra.temporal import connect
from tests.support import free_port, serve


async def test_health_and_ready(http):
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {
        "ready": True,
        "database": True,
        "temporal": True,
        "worker": True,
    }


async def test_no_worker_means_503_at_once(dev_env, db, settings):
    """On a real dev server with no worker polling: starts are refused with 503 and readiness says why."""
    async with (
        serve(create_app(settings, db=db, client=dev_env.client)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        token = await client.post("/api/auth/token", data={"username": "agent1", "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = await client.post("/api/approvals", json={"subject": "s", "reason": "r"}, headers=headers)
        assert response.status_code == 503 and "worker" in response.json()["detail"]
        assert response.headers["Retry-After"] == "5"
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["worker"] is False and ready.json()["database"] is True


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
        token = await http.post("/api/auth/token", data={"username": "agent1", "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        response = await http.post("/api/approvals", json={"subject": "s", "reason": "r"}, headers=headers)
        assert response.status_code == 503
