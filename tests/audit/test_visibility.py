"""Listing workflows for auditors and replaying everything closed in a time range, on a real dev server.

The time-skipping test server has no ListWorkflowExecutions, so these run against the `dev_env`
fixture with a worker and an API of their own.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio

from api.main import create_app
from audit import cli as audit_cli
from infra.worker_factory import build_worker
from tests.support import approval_task, close_approval, eventually, headers_for, serve


@pytest_asyncio.fixture(scope="module")
async def visible(dev_env, db, settings):
    """An API and worker on the dev server; one approval decided, one still open. Yields (client, ids, t0)."""
    own = settings.model_copy(update={"temporal_task_queue": f"kx-audit-{uuid.uuid4().hex[:8]}"})
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    async with (
        build_worker(dev_env.client, db, own),
        serve(create_app(own, db=db, client=dev_env.client)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        agent, supervisor = await headers_for(client, "agent1"), await headers_for(client, "supervisor1")
        ids = []
        for subject in ("decided", "open"):
            response = await client.post(
                "/api/approvals",
                json={"subject": subject, "reason": "visibility test"},
                headers={**agent, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["workflow_id"])
        task = await approval_task(client, supervisor, ids[0])
        await close_approval(client, supervisor, task["task_id"])
        await approval_task(client, supervisor, ids[1])
        yield client, await headers_for(client, "auditor1"), ids, t0
        await dev_env.client.get_workflow_handle(ids[1]).terminate("test done")


async def _listed(client, headers, **params) -> list[dict]:
    """Runs listed for these filters once visibility has caught up with both test workflows' latest state."""
    response = await client.get("/api/audit/workflows", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _eventually_listed(client, headers, expected: set[str], **params) -> list[dict]:
    async def probe():
        items = await _listed(client, headers, **params)
        return items if expected <= {i["workflow_id"] for i in items} else None

    return await eventually(probe, what=f"visibility listing {params}")


async def test_list_by_business_ref_type_status_and_time(visible):
    client, auditor, (done, running), t0 = visible
    [item] = await _eventually_listed(client, auditor, {done}, business_ref=done, status="completed")
    assert (item["workflow_type"], item["status"], item["order_kind"], item["business_ref"]) == (
        "Approval",
        "completed",
        "approval",
        done,
    )
    assert item["close_time"] is not None and item["history_length"] > 10
    open_ones = await _eventually_listed(
        client, auditor, {running}, workflow_type="Approval", status="running", started_since=t0.isoformat()
    )
    assert done not in {i["workflow_id"] for i in open_ones}
    closed = await _listed(client, auditor, closed_since=t0.isoformat(), workflow_type="Approval")
    assert done in {i["workflow_id"] for i in closed} and running not in {i["workflow_id"] for i in closed}
    assert await _listed(client, auditor, started_until=(t0 - timedelta(days=3650)).isoformat()) == []


async def test_listing_pages(visible):
    client, auditor, ids, t0 = visible
    await _eventually_listed(client, auditor, set(ids), started_since=t0.isoformat(), order_kind="approval")
    first = (
        await client.get(
            "/api/audit/workflows", params={"started_since": t0.isoformat(), "page_size": 1}, headers=auditor
        )
    ).json()
    assert len(first["items"]) == 1 and first["next_page_token"]
    second = (
        await client.get(
            "/api/audit/workflows",
            params={"started_since": t0.isoformat(), "page_size": 1, "page_token": first["next_page_token"]},
            headers=auditor,
        )
    ).json()
    assert second["items"][0]["workflow_id"] != first["items"][0]["workflow_id"]


@pytest.mark.parametrize(
    "params",
    [
        {"business_ref": "x' OR WorkflowId != '"},
        {"workflow_type": "Approval OR 1=1"},
        {"status": "sleeping"},
        {"started_since": "2026-01-01T00:00:00"},
        {"page_token": "%%%"},
        {"page_size": 0},
    ],
    ids=["quote-injection", "space-injection", "unknown-status", "naive-time", "bad-token", "page-size"],
)
async def test_listing_validates_every_parameter(visible, params):
    client, auditor, _, _ = visible
    response = await client.get("/api/audit/workflows", params=params, headers=auditor)
    assert response.status_code == 422, response.text


async def test_listing_is_for_auditors_and_admins(visible):
    client, _, _, _ = visible
    assert (
        await client.get("/api/audit/workflows", headers=await headers_for(client, "supervisor1"))
    ).status_code == 403
    assert (await client.get("/api/audit/workflows", headers=await headers_for(client, "admin"))).status_code == 200


async def test_cli_lists_by_business_ref_type_status_and_time(visible, dev_env):
    client, auditor, (done, _running), t0 = visible
    await _eventually_listed(client, auditor, {done}, business_ref=done, status="completed")
    out = io.StringIO()
    argv = ["list", "--ref", done, "--type", "Approval", "--status", "completed", "--started-since", t0.isoformat()]
    assert await audit_cli.run(argv, client=dev_env.client, out=out) == 0
    *lines, summary = out.getvalue().splitlines()
    assert summary == "listed 1" and json.loads(lines[0])["workflow_id"] == done
    out = io.StringIO()
    await audit_cli.run(["list", "--started-since", t0.isoformat(), "--limit", "1"], client=dev_env.client, out=out)
    assert out.getvalue().splitlines()[-1] == "listed 1"
    with pytest.raises(SystemExit):
        await audit_cli.run(["list", "--ref", "x' OR WorkflowId != '"], client=dev_env.client, out=io.StringIO())


async def test_replay_everything_closed_in_a_time_range(visible, dev_env):
    client, auditor, (done, running), t0 = visible
    await _eventually_listed(client, auditor, {done}, closed_since=t0.isoformat())
    until = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    body = {"closed_since": t0.isoformat(), "closed_until": until, "workflow_type": "Approval"}
    response = await client.post("/api/audit/replay", json=body, headers=auditor)
    assert response.status_code == 200, response.text
    report = response.json()
    assert done in {v["workflow_id"] for v in report["verdicts"]} and running not in {
        v["workflow_id"] for v in report["verdicts"]
    }
    assert report["summary"]["diverged"] == 0 and report["summary"]["clean"] == report["summary"]["total"] >= 1
    out = io.StringIO()
    code = await audit_cli.run(
        ["replay", "--closed-since", t0.isoformat(), "--workflow-type", "Approval"], client=dev_env.client, out=out
    )
    assert code == 0, out.getvalue()
    assert any(done in line and " ok " in line for line in out.getvalue().splitlines())


async def test_the_time_skipping_server_cannot_list(http, login):
    response = await http.get("/api/audit/workflows", headers=await login("auditor1"))
    assert response.status_code == 501 and "list workflows" in response.json()["detail"]
