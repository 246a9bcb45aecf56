"""schemathesis against the served app (issue 12): 0 server errors, 0 schema violations.

Covered: every TMF operation as a user of each role and signed out; every read of our own API, and every write
but those that change what the whole test session shares (sign-in, users, configuration versions), as a
supervisor, an auditor and an admin. Each operation gets EXAMPLES derandomized cases per generation mode
(positive; negative where a body or query exists), each case sent as every user. The checks: no 5xx, every
status documented, the documented content type and headers, the body conforming to the documented schema
(TMF resources, TMF Error, ApiError). The app is the module's real one (uvicorn on a loopback port, real
PostgreSQL and Temporal); schemathesis runs in a thread, over HTTP. One full resource of each TMF kind exists
first, so the lists return real ones, and every attribute of those is a documented one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import BaseModel
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.provisioning.tmf641_models import CancelServiceOrder, ServiceOrder
from api.resource_checks.tmf645_models import CheckServiceQualification
from api.tickets.tmf621_models import TroubleTicket
from core.provisioning import workflow_id_for as orders_workflow
from core.resource_checks import workflow_id_for as checks_workflow
from db.tickets import workflow_id_for as tickets_workflow
from tests.provisioning.test_api import CANCEL, SO, order_body
from tests.resource_checks.test_api import SQ, request_body
from tests.support import end_running, eventually
from tests.tickets.http_helpers import create, full_intake, routed

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 3  # generated cases per operation and generation mode, each sent as every user
# One user per role (core.roles.Role), and None: no token.
TMF_USERS = ("agent1", "engineer1", "supervisor1", "coordinator1", "ops1", "reviewer1", "auditor1", "admin", None)
API_USERS = ("supervisor1", "auditor1", "admin")
# The time-skipping test server has no visibility API: listing workflows answers 501 there (not in production).
NOT_HERE = {"GET /api/audit/workflows"}
# Writes whose effects every other test module shares: sign-in throttles, users, published configuration.
SHARED_STATE = (
    "/api/auth/",
    "/api/users",
    "/api/calendars",
    "/api/sla-policies",
    "/api/assignment-rules",
    "/api/provisioning-rules",
    "/api/incident-policies",
)


@dataclass
class Run:
    """What one schemathesis run did: examples per operation and the failures, one line each."""

    examples: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _negatable(operation: Any) -> bool:
    """Whether negative data exists: a body or a query parameter (a bare string path parameter has none)."""
    return bool(len(operation.body) or len(operation.query))


def _fuzz(document: dict[str, Any], base_url: str, tokens: dict[str, dict[str, str]], wanted: Any) -> Run:
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    run, started = Run(), time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not wanted(operation) or operation.label in NOT_HERE:
            continue
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _negatable(operation) else [])
        for mode in modes:
            with contextlib.suppress(Unsatisfiable):  # nothing negative to send after all
                _examples(run, operation, mode, tokens, base_url, session)
    run.seconds = time.monotonic() - started
    print(f"schemathesis: {len(run.examples)} operations, {run.examples.total()} calls, {len(run.failures)} failures")
    return run


def _examples(
    run: Run, operation: Any, mode: GenerationMode, tokens: dict[str, dict[str, str]], base_url: str, session: Any
) -> None:
    """EXAMPLES derandomized cases of one operation and mode, each sent as every user; failures are recorded (one
    line each), not shrunk."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def example(case: Any) -> None:
        for user, headers in tokens.items():
            run.examples[operation.label] += 1
            try:
                case.call_and_validate(base_url=base_url, session=session, headers=headers, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as failure:
                lines = str(failure).strip().splitlines()
                run.failures.append(f"{operation.label} as {user} ({mode.value}): {' | '.join(lines[:14])}")

    example()


@pytest.fixture(scope="module")
async def resources(http, login, env):
    """One resource of each TMF kind, full (a routed ticket, a check, an order, a cancel request): lists show them."""
    ticket = await create(http, await login("agent1"), full_intake())
    check = await http.post(SQ, json=request_body(f"C-{uuid.uuid4().hex[:8]}"), headers=await login("coordinator1"))
    orders = [await http.post(SO, json=order_body(), headers=await login("coordinator1")) for _ in range(2)]
    made = [ticket, check, *orders]
    assert all(r.status_code == 201 for r in made), [r.text for r in made]
    reader = await login("auditor1")

    async def ready(path, attribute):
        body = (await http.get(path, headers=reader)).json()
        return body if body.get(attribute) else None

    order_ids = [o.json()["id"] for o in orders]
    planned = [await eventually(lambda o=o: ready(f"{SO}/{o}", "currentStep"), what="planned") for o in order_ids]
    checked = await eventually(lambda: ready(f"{SQ}/{check.json()['id']}", "estimatedResponseDate"), what="round")
    cancel = await http.post(
        CANCEL,
        json={"serviceOrder": {"id": order_ids[1]}, "cancellationReason": "客户撤单"},
        headers=await login("coordinator1"),
    )
    assert cancel.status_code == 201, cancel.text
    yield {
        TroubleTicket: await routed(http, reader, ticket.json()["id"]),
        CheckServiceQualification: checked,
        ServiceOrder: planned[0],
        CancelServiceOrder: (await http.get(f"{CANCEL}/{cancel.json()['id']}", headers=reader)).json(),
    }
    ids = [tickets_workflow(ticket.json()["id"]), checks_workflow(check.json()["id"])]
    await end_running(env.client, ids + [orders_workflow(o) for o in order_ids])


def _undocumented(value: Any, where: str = "") -> list[str]:
    """The attributes of a validated response model (and its parts) that no field documents."""
    if isinstance(value, list):
        return [path for i, item in enumerate(value) for path in _undocumented(item, f"{where}[{i}]")]
    if not isinstance(value, BaseModel):
        return []
    paths = [f"{where}.{name}" for name in value.model_extra or {}]
    for name in type(value).model_fields:
        paths += _undocumented(getattr(value, name), f"{where}.{name}")
    return paths


async def test_every_attribute_we_return_is_documented(resources):
    for model, body in resources.items():
        assert _undocumented(model.model_validate(body), model.__name__) == [], body
    assert resources[CheckServiceQualification]["rounds"][0]["lines"], "a round with its department lines"
    assert resources[ServiceOrder]["steps"] and resources[TroubleTicket]["sla"]["cycles"]
    with_extra = {**resources[ServiceOrder], "steps": [{**resources[ServiceOrder]["steps"][0], "surprise": 1}]}
    assert _undocumented(ServiceOrder.model_validate(with_extra)) == [".steps[0].surprise"]


@pytest.fixture(scope="module")
async def document(http):
    """The app's own OpenAPI document."""
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_document_declares_our_error_bodies(document):
    """TMF operations answer TMF Errors and never 422; every other 422 is an ApiError; FastAPI's is gone."""
    tmf_error, api_error = "#/components/schemas/TmfError", "#/components/schemas/ApiError"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            bodies = {
                status: r.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                for status, r in responses.items()
            }
            if path.startswith("/tmf-api/"):
                assert "422" not in responses and {"400", "401", "403", "500", "503"} <= set(responses), path
                assert all(ref == tmf_error for status, ref in bodies.items() if status >= "400"), (method, path)
            elif "422" in responses:
                assert bodies["422"] == api_error, (method, path)
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])
    ticket = document["paths"]["/tmf-api/troubleTicket/v4/troubleTicket/{id}"]["get"]["responses"]["200"]
    assert ticket["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TroubleTicket"}


async def _tokens(login, users):
    return {user or "anonymous": (await login(user) if user else {}) for user in users}


def _tmf(operation: Any) -> bool:
    return operation.path.startswith("/tmf-api/")


def _api_read(operation: Any) -> bool:
    return operation.method.upper() == "GET" and not _tmf(operation)


def _api_write(operation: Any) -> bool:
    return operation.method.upper() != "GET" and not _tmf(operation) and not operation.path.startswith(SHARED_STATE)


async def test_tmf_operations_conform(resources, document, login, api_url):
    run = await asyncio.to_thread(_fuzz, document, api_url, await _tokens(login, TMF_USERS), _tmf)
    assert len(run.examples) == 22, sorted(run.examples)  # 13 resource operations, 9 on the three event hubs
    assert not run.failures, "\n".join(run.failures)


async def test_api_reads_conform(resources, document, login, api_url):
    run = await asyncio.to_thread(_fuzz, document, api_url, await _tokens(login, API_USERS), _api_read)
    assert len(run.examples) >= 40, sorted(run.examples)
    assert not run.failures, "\n".join(run.failures)


async def test_api_writes_conform(resources, document, login, api_url):
    run = await asyncio.to_thread(_fuzz, document, api_url, await _tokens(login, API_USERS), _api_write)
    assert len(run.examples) >= 13, sorted(run.examples)
    assert not run.failures, "\n".join(run.failures)
