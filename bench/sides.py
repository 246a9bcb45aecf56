"""The two systems under measurement, driven the same way: create N, wait until they settle, decide on some.

kexiang: an agent's complete intake through POST /tmf-api/troubleTicket/v4/troubleTicket; settled = routed (the
workflow loaded its policy, started the SLA cycle, opened the accept task and wrote the read model); the decision
is the engineer accepting the ticket through POST /api/tickets/{no}/acts (a Temporal update).
baseline: client.start_workflow of BenchBaseline; settled = parked (its row written); the decision is its
`decide` update.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import httpx
from sqlalchemy import text
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from api.tickets.tmf621 import TMF_PATH
from api.tickets.tmf621_examples import complete_intake
from bench.baseline_workflow import BASELINE_WORKFLOW
from bench.measure import BenchError
from db.session import Database


class Side(Protocol):
    """What the bench needs from a system under measurement."""

    name: str

    async def create(self, created: list[str]) -> None:
        """Create one item and append its id once the system acknowledged it."""

    async def settled(self, ids: list[str]) -> int:
        """How many of these items have reached their wait."""

    async def decision_items(self, ids: list[str]) -> list[Any]:
        """What `decide` needs for each of these items (read before the timed run)."""

    async def decide(self, item: Any) -> None:
        """One decision round trip."""


async def _count(db: Database, sql: str, ids: list[str]) -> int:
    async with db.session() as session:
        return int(await session.scalar(text(sql), {"ids": ids}) or 0)


def _expect(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise BenchError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


async def bearer(http: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    """Authorization headers for a user of the API."""
    response = _expect(
        await http.post("/api/auth/token", data={"username": username, "password": password}), 200, "sign-in"
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Kexiang:
    """The product through its HTTP API."""

    name = "kexiang"

    def __init__(
        self, http: httpx.AsyncClient, db: Database, *, agent: dict[str, str], engineer: dict[str, str]
    ) -> None:
        self.http, self.db, self.agent, self.engineer = http, db, agent, engineer

    async def create(self, created: list[str]) -> None:
        """POST a complete intake; 201 means numbered, row and journal committed, workflow start accepted."""
        response = _expect(await self.http.post(TMF_PATH, json=complete_intake(), headers=self.agent), 201, "intake")
        created.append(response.json()["id"])

    async def settled(self, ids: list[str]) -> int:
        """Tickets whose workflow has routed them (an SLA cycle is in the read model)."""
        return await _count(
            self.db, "SELECT count(*) FROM ticket WHERE ticket_no = ANY(:ids) AND response_due IS NOT NULL", ids
        )

    async def decision_items(self, ids: list[str]) -> list[tuple[str, str]]:
        """Ticket number and the latest resolution time the policy allows (what the engineer promises)."""
        async with self.db.session() as session:
            rows = await session.execute(
                text(
                    "SELECT ticket_no, detail->'cycles'->-1->>'resolution_cap' FROM ticket WHERE ticket_no = ANY(:ids)"
                ),
                {"ids": ids},
            )
            caps: dict[str, str] = {number: cap for number, cap in rows}
        return [(number, caps[number]) for number in ids]

    async def decide(self, item: tuple[str, str]) -> None:
        """The engineer accepts the ticket; the answer comes once the workflow has applied and recorded it."""
        number, cap = item
        body = {"type": "accept", "expected_resolution_at": cap}
        _expect(await self.http.post(f"/api/tickets/{number}/acts", json=body, headers=self.engineer), 200, "accept")


class Baseline:
    """The bare workflow through the Temporal client."""

    name = "baseline"

    def __init__(self, client: Client, db: Database, *, task_queue: str, run_id: str) -> None:
        self.client, self.db, self.task_queue = client, db, task_queue
        self._ids = (f"bench-{run_id}-{n:05d}" for n in itertools.count(1))

    async def create(self, created: list[str]) -> None:
        """Start one workflow; returns when the server accepted the start."""
        workflow_id = next(self._ids)
        try:
            await self.client.start_workflow(BASELINE_WORKFLOW, id=workflow_id, task_queue=self.task_queue)
        except RPCError as err:
            raise BenchError(f"start: {err}") from err
        created.append(workflow_id)

    async def settled(self, ids: list[str]) -> int:
        """Workflows that wrote their row and wait for the decision."""
        return await _count(self.db, "SELECT count(*) FROM bench.baseline WHERE workflow_id = ANY(:ids)", ids)

    async def decision_items(self, ids: list[str]) -> list[str]:
        """Workflow ids."""
        return list(ids)

    async def decide(self, item: str) -> None:
        """The `decide` update; returns once the workflow recorded it."""
        try:
            await self.client.get_workflow_handle(item).execute_update("decide", "engineer1", result_type=str)
        except (WorkflowUpdateRPCTimeoutOrCancelledError, RPCError) as err:
            raise BenchError(f"decide: {type(err).__name__} {err}") from err
