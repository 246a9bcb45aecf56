"""The invariant run: every write route of the OpenAPI document, fed bounded, seeded hypothesis input, never answers
5xx; every 2xx create is readable at once; and afterwards every workflow the run started is healthy (no failed
workflow task, no failed run, no activity retrying or past its third attempt).

It runs on a real Temporal dev server (visibility lists every workflow of the run's task queue) with the
production worker and API, against entities it seeds first so acts reach live workflows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowExecutionStatus

from api.main import create_app
from db.seed import DEMO_PASSWORD
from infra.worker_factory import build_worker
from tests.hardening.fuzz import SchemaStrategies, mutations
from tests.hardening.health import workflow_problems
from tests.provisioning.test_api import order_body
from tests.resource_checks.test_api import request_body as check_body
from tests.support import eventually, serve
from tests.tickets.http_helpers import TT, full_intake

SO = "/tmf-api/serviceOrdering/v4/serviceOrder"
SQ = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"
EXAMPLES_PER_ROUTE = 8
USERS = ("admin", "agent1", "engineer1", "supervisor1", "coordinator1", "gcd1", "reviewer1", "ops1")
# Who usually makes each request: drawn three times in four, so most requests get past the role gates.
LIKELY_USER = {
    "/api/users": "admin",
    "/api/users/{username}": "admin",
    "/api/calendars/{name}": "admin",
    "/api/sla-policies/{name}": "admin",
    "/api/assignment-rules/{name}": "admin",
    "/api/provisioning-rules/{name}": "admin",
    "/api/codec/encode": "admin",
    "/api/tasks/{task_id}/decision": "supervisor1",
    "/api/tasks/{task_id}/claim": "supervisor1",
    TT: "agent1",
    f"{TT}/{{id}}": "agent1",
    "/api/tickets/{ticket_no}/acts": "engineer1",
    "/api/tickets/{ticket_no}/contact/reveal": "engineer1",
    SQ: "gcd1",
    "/api/resource-checks/{check_id}/acts": "gcd1",
    SO: "coordinator1",
    "/tmf-api/serviceOrdering/v4/cancelServiceOrder": "coordinator1",
    "/api/provisioning-orders/{order_id}/steps/{step}/complete": "ops1",
    "/api/provisioning-orders/{order_id}/review": "reviewer1",
    "/api/circuit-ledger/{circuit_id}/closure": "coordinator1",
    "/api/presales-demands": "gcd1",
    "/api/messages": "agent1",
    "/api/messages/{thread_id}/acts": "agent1",
    "/api/incidents": "supervisor1",
    "/api/incidents/{incident_no}/acts": "supervisor1",
    "/api/callbacks": "coordinator1",
    "/api/callbacks/{subject_type}/{subject_id}/stop": "coordinator1",
}
# Creates whose answer names something a GET must show at once.
READ_BACK = {
    TT: lambda b: f"{TT}/{b['id']}",
    SO: lambda b: f"{SO}/{b['id']}",
    SQ: lambda b: f"{SQ}/{b['id']}",
    "/tmf-api/serviceOrdering/v4/cancelServiceOrder": lambda b: b["href"],
    "/api/approvals": lambda b: f"/api/approvals/{b['workflow_id']}",
    "/api/presales-demands": lambda b: f"/api/presales-demands/{b['demand']['demand_id']}",
    "/api/messages": lambda b: f"/api/messages/{b['thread']['thread_id']}",
}
# Valid bodies the mutations start from (the rest are generated from their schema alone).
EXAMPLES: dict[str, Any] = {
    TT: full_intake(),
    SO: order_body(),
    SQ: check_body("C-FUZZ"),
    "/api/approvals": {"subject": "fuzz", "reason": "fuzz", "budget": {"amount": 4, "unit": "hours"}},
    "/api/tickets/{ticket_no}/acts": {"type": "log_progress", "kind": "action", "text": "换板完成"},
    "/api/tasks/{task_id}/decision": {"outcome": "approve", "comment": "ok"},
    "/api/messages": {"contact": "fuzz.kehu@example.com", "body": "请问专线何时恢复", "urgency": "urgent"},
    "/api/messages/{thread_id}/acts": {"type": "mark_complex", "reason": "需核查"},
    "/api/incidents": {"incident_class": "system_failure", "level": "general", "title": "核心节点告警"},
}


@dataclass(frozen=True)
class Planned:
    """One request of the run."""

    method: str
    template: str
    user: str
    path: str
    body: Any
    form: bool


@dataclass
class Stack:
    """The run's API client, Temporal client, task queue and signed-in users."""

    http: httpx.AsyncClient
    client: Client
    task_queue: str
    headers: dict[str, dict[str, str]]


@pytest_asyncio.fixture(loop_scope="session")
async def stack(dev_env, db, settings):
    """Worker and API on a task queue of their own, on the dev server; every workflow left running is ended after."""
    queue = f"kx-fuzz-{uuid.uuid4().hex[:8]}"
    own = settings.model_copy(update={"temporal_task_queue": queue})
    async with (
        build_worker(dev_env.client, db, own),
        serve(create_app(own, db=db, client=dev_env.client)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        headers = {}
        for user in USERS:
            token = await http.post("/api/auth/token", data={"username": user, "password": DEMO_PASSWORD})
            headers[user] = {"Authorization": f"Bearer {token.json()['access_token']}"}
        yield Stack(http, dev_env.client, queue, headers)
        async for run in dev_env.client.list_workflows(f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"):
            await dev_env.client.get_workflow_handle(run.id).terminate("fuzz run done")


async def _seed(s: Stack) -> dict[str, list[str]]:
    """Live entities for the path parameters: a ticket, an approval (and its task), an order, a check, a user."""

    async def post(user: str, path: str, body: dict) -> dict:
        response = await s.http.post(path, json=body, headers=s.headers[user])
        assert response.status_code in (200, 201), response.text
        return response.json()

    ticket = (await post("agent1", TT, full_intake()))["id"]
    approval = (await post("agent1", "/api/approvals", EXAMPLES["/api/approvals"]))["workflow_id"]
    order = (await post("coordinator1", SO, order_body()))["id"]
    check = (await post("gcd1", SQ, check_body(f"C-{uuid.uuid4().hex[:6]}")))["id"]
    thread = (await post("agent1", "/api/messages", EXAMPLES["/api/messages"]))["thread"]["thread_id"]
    incident = (await post("supervisor1", "/api/incidents", EXAMPLES["/api/incidents"]))["incident"]["incident_no"]
    username = f"fuzz-{uuid.uuid4().hex[:6]}"
    user = {"username": username, "full_name": "Fuzz", "password": "fuzz-password-1", "roles": ["agent"]}
    await post("admin", "/api/users", user)

    async def tasks() -> list[str] | None:
        body = (await s.http.get(f"/api/approvals/{approval}", headers=s.headers["agent1"])).json()
        return [t["task_id"] for t in body["tasks"]] or None

    return {
        "ticket_no": [ticket],
        "id": [ticket],
        "task_id": [*await eventually(tasks, what="approval task"), "no-such-task"],
        "order_id": [order],
        "circuit_id": [f"CIR-{order}", "CIR-NO-SUCH"],  # no ledger row yet: a closure is refused, nothing starts
        "check_id": [check],
        "step": ["data_configuration", "activation", "testing", "no-such-step"],
        "username": [username],  # never a demo user: the run must not lock anyone out
        "name": ["fuzz-config"],  # never a name other tests read
        "token": ["not-a-survey-token"],
        "message_id": ["1", "2147483647"],
        "thread_id": [thread, "MS20260101ABCDEF"],  # an outbox message (resend answers 409 unless it is dead), and none
        "incident_no": [incident, "INC-NO-SUCH"],
        "subject_type": ["circuit", "customer", "no-such-type"],
        "subject_id": [f"CIR-{order}", "C-NO-SUCH"],  # no schedule: a stop is 404, nothing starts
    }


def _plan(schema: dict[str, Any], pools: dict[str, list[str]]) -> list[Planned]:
    """Every write route's requests, drawn by hypothesis with a fixed seed and a bounded number of examples."""
    strategies = SchemaStrategies(schema["components"]["schemas"])
    plan: list[Planned] = []
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            form = "application/x-www-form-urlencoded" in content
            body_schema = next(iter(content.values()), {}).get("schema", {})
            body = mutations(EXAMPLES[template]) if template in EXAMPLES else strategies.of(body_schema)
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            params = st.fixed_dictionaries({n: st.sampled_from(pools[n]) for n in names})
            likely = LIKELY_USER.get(template, "admin")
            users = st.one_of(st.just(likely), st.just(likely), st.just(likely), st.sampled_from(USERS))
            request = st.tuples(users, params, body)
            for user, values, payload in _draw(request):
                plan.append(Planned(method.upper(), template, user, template.format(**values), payload, form))
    return plan


def _draw(strategy: st.SearchStrategy[Any]) -> list[Any]:
    """EXAMPLES_PER_ROUTE values of `strategy`, the same ones on every run (a fixed seed, no example database)."""
    drawn: list[Any] = []

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


async def _send(s: Stack, request: Planned) -> httpx.Response:
    headers = {**s.headers[request.user], "Idempotency-Key": uuid.uuid4().hex}
    if request.form:
        data = {str(k): str(v) for k, v in request.body.items()} if isinstance(request.body, dict) else {}
        return await s.http.request(request.method, request.path, data=data, headers=headers)
    return await s.http.request(request.method, request.path, json=request.body, headers=headers)


async def _run_workflows(s: Stack) -> list[str]:
    """Every workflow of the run's task queue, once visibility has caught up (two equal counts in a row)."""
    seen: list[int] = []

    async def stable() -> list[str] | None:
        ids = [run.id async for run in s.client.list_workflows(f"TaskQueue = '{s.task_queue}'")]
        seen.append(len(ids))
        await asyncio.sleep(0.5)
        return ids if len(seen) > 1 and seen[-1] == seen[-2] else None

    return await eventually(stable, timeout=30, what="visibility of the run's workflows")


async def test_every_write_route_holds_its_invariants(stack: Stack, capsys):
    s = stack
    pools = await _seed(s)
    # Drawing the plan is long and CPU-bound: off the event loop, so the seeded workflows' tasks don't time out.
    plan = await asyncio.to_thread(_plan, create_app().openapi(), pools)
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    unreadable: list[str] = []
    for request in plan:
        response = await _send(s, request)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append(f"{request.method} {request.template} as {request.user}: {response.status_code}")
        elif response.is_success and request.method == "POST" and request.template in READ_BACK:
            url = READ_BACK[request.template](response.json())
            read = await s.http.get(url, headers=s.headers["admin"])
            if read.status_code != 200:
                unreadable.append(f"{request.template} -> {url}: {read.status_code}")
    workflow_ids = await _run_workflows(s)
    problems = [p for workflow_id in workflow_ids for p in await workflow_problems(s.client, workflow_id)]
    running = 0
    for workflow_id in workflow_ids:
        running += (
            await s.client.get_workflow_handle(workflow_id).describe()
        ).status == WorkflowExecutionStatus.RUNNING
    routes = len({(r.method, r.template) for r in plan})
    with capsys.disabled():
        print(
            f"\nfuzz: {len(plan)} requests over {routes} write routes; statuses {dict(sorted(statuses.items()))}; "
            f"{len(workflow_ids)} workflows checked ({running} running); 5xx={len(server_errors)} "
            f"unreadable={len(unreadable)} wedged={len(problems)}"
        )
    assert routes >= 20 and len(plan) >= routes * EXAMPLES_PER_ROUTE // 2
    assert not server_errors, server_errors
    assert not unreadable, unreadable
    assert not problems, problems
    assert len(workflow_ids) >= 4 and statuses[201] + statuses[200] > 0
