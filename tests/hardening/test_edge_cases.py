"""The inputs that used to wedge a workflow or answer 500, each now a clear 4xx with the workflow healthy after it."""

from __future__ import annotations

import asyncio
import uuid

import pytest_asyncio

from api.main import create_app
from core.bounds import MAX_INT
from db.tickets import workflow_id_for
from tests.api.helpers import approval_task, close_approval
from tests.hardening.health import assert_healthy
from tests.tickets.http_helpers import CONTACT, TT, act, full_intake, routed

SO = "/tmf-api/serviceOrdering/v4/serviceOrder"
ADMIN_ONLY_VERSIONED = ("/api/calendars", "/api/sla-policies", "/api/assignment-rules", "/api/provisioning-rules")


def _refusal(response, status: int, *words: str) -> str:
    """The message of a 4xx, asserting its status and that it names what was wrong."""
    assert response.status_code == status, response.text
    body = response.json()
    message = body["message"] if "message" in body else str(body["detail"])
    for word in words:
        assert word in message, message
    return message


@pytest_asyncio.fixture(loop_scope="session")
async def accepted(http, login, env):
    """A routed ticket accepted by engineer1; its workflow is ended afterwards."""
    number = (await http.post(TT, json=full_intake(), headers=await login("agent1"))).json()["id"]
    cap = (await routed(http, await login("agent1"), number))["sla"]["cycles"][0]["resolutionCap"]
    await act(http, await login("engineer1"), number, {"type": "accept", "expected_resolution_at": cap})
    yield number
    await env.client.get_workflow_handle(workflow_id_for(number)).terminate("test done")


async def test_nul_in_a_progress_log_is_refused_and_the_ticket_takes_the_next_act(http, login, env, accepted):
    engineer = await login("engineer1")
    secret = f"客户 {CONTACT} 说\x00"
    response = await http.post(
        f"/api/tickets/{accepted}/acts",
        json={"type": "log_progress", "kind": "customer_contact", "text": secret},
        headers=engineer,
    )
    message = _refusal(response, 422, "body.text", "control characters")
    assert CONTACT not in response.text and "\x00" not in message
    for control in ("\x07", "\x1b[31m"):  # other C0 controls are refused the same way
        bell = {"type": "log_progress", "kind": "action", "text": f"a{control}b"}
        _refusal(await http.post(f"/api/tickets/{accepted}/acts", json=bell, headers=engineer), 422, "body.text")
    # Tabs and new lines are ordinary text; the ticket takes the act at once (it is not wedged).
    fine = {"type": "log_progress", "kind": "action", "text": "换板\n\t完成"}
    body = await act(http, engineer, accepted, fine)
    assert body["note"][-1]["text"] == "换板\n\t完成"
    await assert_healthy(env.client, [workflow_id_for(accepted)])


async def test_control_characters_in_query_and_path_are_422(http, login):
    agent = await login("agent1")
    _refusal(await http.get(TT, params={"status": "new\x00"}, headers=agent), 400, "query.status", "control")
    _refusal(await http.get(f"{TT}/CS%00", headers=agent), 400, "path", "control")
    _refusal(await http.get("/api/tasks", params={"scope\x00": "mine"}, headers=agent), 422, "query", "control")
    _refusal(await http.get("/api/tickets/CS%01x", headers=agent), 422, "path")


async def test_nul_in_a_json_key_or_a_form_field_is_422(http, login):
    admin = await login("admin")
    spec = {"name": "x", "weekend": [5, 6], "holidays": [], "bad\x00key": 1}
    _refusal(await http.post("/api/calendars/x", json=spec, headers=admin), 422, "body", "control")
    form = await http.post("/api/auth/token", data={"username": "agent1\x00", "password": "x"})
    _refusal(form, 422, "body.username", "control")
    # An escaped backslash before u0000 is ordinary text, not a NUL.
    literal = await http.post(
        "/api/approvals",
        content=b'{"subject": "path C:\\\\u0000", "reason": "r", "budget": {"amount": 0, "unit": "hours"}}',
        headers={**admin, "Content-Type": "application/json"},
    )
    _refusal(literal, 422, "budget")


async def test_an_absurd_approval_budget_is_422_and_a_sane_one_is_readable_at_once(http, login, env):
    agent = await login("agent1")
    absurd = {"subject": "s", "reason": "r", "budget": {"amount": 1e15, "unit": "hours"}}
    _refusal(await http.post("/api/approvals", json=absurd, headers=agent), 422, "budget", "at most")
    days = {"subject": "s", "reason": "r", "budget": {"amount": 100000, "unit": "working_days"}}
    _refusal(await http.post("/api/approvals", json=days, headers=agent), 422, "budget")
    sane = {"subject": "s", "reason": "r", "budget": {"amount": 4, "unit": "hours"}}
    created = await http.post("/api/approvals", json=sane, headers={**agent, "Idempotency-Key": uuid.uuid4().hex})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["workflow_id"]
    readable = await http.get(f"/api/approvals/{workflow_id}", headers=agent)  # at once, not "for a while 404"
    assert readable.status_code == 200 and readable.json()["workflow_id"] == workflow_id, readable.text
    assert (await http.get("/api/approvals/approval-never-started", headers=agent)).status_code == 404
    task = await approval_task(http, agent, workflow_id)
    await close_approval(http, await login("supervisor1"), task["task_id"])
    await assert_healthy(env.client, [workflow_id])


async def test_a_completion_date_past_the_horizon_is_a_tmf_400(http, login):
    from tests.provisioning.test_api import order_body

    coordinator = await login("coordinator1")
    for far in ("9999-12-31T23:59:00Z", "2100-01-01T00:00:00Z"):
        body = {**order_body(), "requestedCompletionDate": far}
        response = await http.post(SO, json=body, headers=coordinator)
        _refusal(response, 400, "requestedCompletionDate", "2100")
        assert response.json()["@type"] == "Error"


async def test_huge_offsets_and_versions_are_422_on_every_route(http, login, api_url, settings, db, env):
    admin = await login("admin")
    schema = create_app(settings, db=db, client=env.client).openapi()
    paged = [
        p
        for p, ops in schema["paths"].items()
        if "{" not in p and any(q["name"] == "offset" for q in _params(ops.get("get")))
    ]
    versioned = [p for p, ops in schema["paths"].items() if "{version}" in p and "get" in ops]
    assert len(paged) >= 8 and set(ADMIN_ONLY_VERSIONED) <= {p.split("/{")[0] for p in versioned}
    for path in paged:
        for offset in (2**63, MAX_INT + 1, -1):
            response = await http.get(path, params={"offset": offset}, headers=admin)
            assert response.status_code in (400, 422), (path, offset, response.text)
        assert (await http.get(path, params={"offset": MAX_INT}, headers=admin)).status_code == 200, path
    for path in versioned:
        for version in (2**31, 2**63, 0):
            url = path.replace("{name}", "standard").replace("{version}", str(version))
            assert (await http.get(url, headers=admin)).status_code == 422, (url, version)


async def test_an_oversized_body_is_413_at_once(http, login, api_url):
    agent = await login("agent1")
    big = b'{"subject": "' + b"x" * (2 * 1024 * 1024) + b'", "reason": "r"}'
    response = await http.post("/api/approvals", content=big, headers={**agent, "Content-Type": "application/json"})
    _refusal(response, 413, "larger than 1048576")
    # A declared 50 MB body is refused on its Content-Length, before a byte of it is sent.
    host, port = api_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /api/approvals HTTP/1.1\r\nHost: {host}\r\nAuthorization: {agent['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"413", status_line
    _refusal(await http.post(TT, content=big, headers={**agent, "Content-Type": "application/json"}), 413)


async def test_a_page_token_we_did_not_issue_is_422_at_once(http, login):
    auditor = await login("auditor1")
    for token in ("AAAA", "%%%", "A" * 40):  # refused before Temporal sees it (it used to retry into a 503)
        response = await http.get("/api/audit/workflows", params={"page_token": token}, headers=auditor)
        _refusal(response, 422, "page_token")


def _params(operation: dict | None) -> list[dict]:
    return (operation or {}).get("parameters", [])
