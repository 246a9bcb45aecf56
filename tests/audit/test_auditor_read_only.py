"""Auditors read everything and change nothing: every write route of the app answers 403 to the auditor.

Routes are discovered from the app itself (tests/api/test_auth_matrix.py), so a route added later is
covered without touching this module. The only exceptions are POSTs that change nothing and exist for
auditors, marked `openapi_extra=api.deps.READ_ONLY`:
- POST /api/codec/decode: Temporal's remote codec protocol sends payloads to decode in a POST body;
  decoding reads history, it alters neither Temporal nor the database.
- POST /api/audit/replay: replays histories in memory against the current code; histories are too large
  for a query string, so the request is a POST, but nothing is written anywhere.
A new exemption has to be added to EXPECTED_READ_ONLY here, on purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from api.main import create_app
from infra.settings import Settings
from tests.api.test_auth_matrix import _PARAM, PROTECTED_ROUTES, concrete
from tests.support import approval_task, close_approval, count_audit, request_approval
from tests.tickets.http_helpers import create, full_intake

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
EXPECTED_READ_ONLY = {("POST", "/api/codec/decode"), ("POST", "/api/audit/replay")}


def _read_only_routes() -> set[tuple[str, str]]:
    """(method, path) of every operation the OpenAPI document marks read-only."""
    paths = create_app(Settings(kexiang_env="test")).openapi()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() for m, op in ops.items() if op.get("x-read-only")}


READ_ONLY_ROUTES = _read_only_routes()
WRITE_ROUTES = [(m, p) for m, p in PROTECTED_ROUTES if m in WRITE_METHODS and (m, p) not in READ_ONLY_ROUTES]


def test_the_only_read_only_writes_are_decode_and_replay():
    assert READ_ONLY_ROUTES == EXPECTED_READ_ONLY
    assert len(WRITE_ROUTES) >= 10  # the discovery works: users, config, tasks, approvals, codec/encode, ...


@pytest_asyncio.fixture(scope="module")
async def real_ids(http, login) -> AsyncIterator[dict[str, str]]:
    """Path values naming things that exist (an open approval and its task, a ticket), so no route can answer
    404 before its role gate: the auditor must be refused on real objects. Unknown parameters get "x"."""
    agent = await login("agent1")
    workflow_id = await request_approval(http, agent, "auditor read-only check")
    task = await approval_task(http, agent, workflow_id)
    ticket = await create(http, agent, full_intake())
    assert ticket.status_code == 201, ticket.text
    yield {
        "workflow_id": workflow_id,
        "task_id": task["task_id"],
        "ticket_no": ticket.json()["id"],
        "id": ticket.json()["id"],
        "username": "agent1",
        "name": "standard",
        "version": "1",
    }
    await close_approval(http, await login("supervisor1"), task["task_id"])


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES, ids=[f"{m} {p}" for m, p in WRITE_ROUTES])
async def test_auditor_is_refused_every_write(http, login, sync_session, real_ids, method, path):
    url = _PARAM.sub(lambda m: real_ids.get(m.group(1), "x"), path)
    accepted_before = count_audit(sync_session, actor="auditor1", outcome="accepted")
    response = await http.request(method, url, json={}, headers=await login("auditor1"))
    assert response.status_code == 403, f"{method} {url}: {response.status_code} {response.text}"
    assert count_audit(sync_session, actor="auditor1", outcome="accepted") == accepted_before


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED_READ_ONLY))
async def test_auditor_passes_the_gate_of_read_only_posts(http, login, method, path):
    """Control: the exempt routes do let the auditor in (an empty body is then merely malformed)."""
    response = await http.request(method, concrete(path), json={}, headers=await login("auditor1"))
    assert response.status_code == 422, response.text
