"""Drive a ProvisioningOrder workflow on the time-skipping server the way its people would (tests only)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from core.provisioning import (
    STEP_DOCUMENTS,
    CircuitEnd,
    CircuitSpec,
    CircuitType,
    CompleteStep,
    DocumentRef,
    OrderInput,
    OrderOutcome,
    ProvisioningOrder,
    ReviewOrder,
    workflow_id_for,
)
from core.roles import Actor, Role
from core.tasks import HumanTask
from db.provisioning import new_order_id
from tests.support import end_workflow, eventually, rid, workflow_tasks
from workflows.common import BUSINESS_REF, ORDER_KIND

COORDINATOR = Actor(username="coordinator1", roles=(Role.COORDINATOR,))
OPS = Actor(username="ops1", roles=(Role.DEPARTMENT,), department="operations")
HQ_OPS = Actor(username="hqops1", roles=(Role.DEPARTMENT,), department="hq-operations")
BUILD = Actor(username="build1", roles=(Role.DEPARTMENT,), department="construction")
PROCURE = Actor(username="procure1", roles=(Role.DEPARTMENT,), department="procurement")
GCD = Actor(username="gcd1", roles=(Role.DEPARTMENT,), department="group-customer")
REVIEWER = Actor(username="reviewer1", roles=(Role.REVIEWER,))
BEIJING = CircuitEnd(province="北京", city="北京", site="朝阳区建国路 88 号 3 层机房")
SHANGHAI_END = CircuitEnd(province="上海", city="上海", site="浦东新区世纪大道 100 号")
NANJING = CircuitEnd(province="江苏", city="南京", site="鼓楼区中山路 1 号")
SUZHOU = CircuitEnd(province="江苏", city="苏州", site="工业园区星湖街 328 号")


def spec(now: datetime, *, cross: bool = False, days: int = 14, **changes) -> CircuitSpec:
    """A circuit: Nanjing–Suzhou (intra-province) or Beijing–Shanghai (cross-province), due in `days` calendar days."""
    a, z = (BEIJING, SHANGHAI_END) if cross else (NANJING, SUZHOU)
    base = dict(
        circuit_type=CircuitType.MPLS_VPN,
        a_end=a,
        z_end=z,
        bandwidth="100M",
        customer_id="C-2001",
        requested_completion=now + timedelta(days=days),
    )
    return CircuitSpec(**{**base, **changes})


def document(kind: str, content: bytes = b"") -> DocumentRef:
    """A document as the API describes an upload: metadata and content hash."""
    content = content or f"{kind} {uuid.uuid4()}".encode()
    return DocumentRef(
        kind=kind,
        filename=f"{kind}.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


DEPARTMENT_STAFF = {
    "operations": OPS,
    "hq-operations": HQ_OPS,
    "construction": BUILD,
    "procurement": PROCURE,
    "group-customer": GCD,
}


class OrderFlow:
    """One order's workflow handle plus the acts people send it."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
        self.env, self.handle = env, handle

    @classmethod
    async def start(
        cls, env: WorkflowEnvironment, task_queue: str, circuit: CircuitSpec, description: str | None = None
    ) -> OrderFlow:
        """Start an order and wait until its dispatch task is open."""
        order_id = new_order_id(await env.get_current_time())
        handle = await env.client.start_workflow(
            "ProvisioningOrder",
            OrderInput(
                order_id=order_id,
                spec=circuit,
                created_by=COORDINATOR,
                request_id=f"create-{order_id}",
                description=description,
            ),
            id=workflow_id_for(order_id),
            task_queue=task_queue,
            result_type=OrderOutcome,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORDER_KIND, "provisioning"), SearchAttributePair(BUSINESS_REF, order_id)]
            ),
        )
        flow = cls(env, handle)
        await flow.task("dispatch")
        return flow

    async def order(self) -> ProvisioningOrder:
        return await self.handle.query("order", result_type=ProvisioningOrder)

    async def tasks(self, kind: str | None = None, *, open_only: bool = True) -> list[HumanTask]:
        return await workflow_tasks(self.handle, kind, open_only=open_only)

    async def task(self, kind: str) -> HumanTask:
        """The open task of a kind, waiting for it to appear."""

        async def probe():
            try:
                found = await self.tasks(kind)
                order = await self.order()
            except Exception:
                return None
            # Acts are accepted once the order names the task as its step's (a moment after the task opens).
            return found[0] if found and order.step(kind).task_id == found[0].task_id else None

        return await eventually(probe, what=f"open {kind} task")

    async def act(self, act) -> OrderOutcome:
        return await self.handle.execute_update("act", act, id=act.request_id, result_type=OrderOutcome)

    async def complete(
        self, step: str, actor: Actor | None = None, documents: tuple[DocumentRef, ...] = ()
    ) -> OrderOutcome:
        """Complete a step once its task is open (a step that needs documents with them)."""
        task = await self.task(step)
        if step in STEP_DOCUMENTS and not documents:
            documents = tuple(document(kind) for kind in STEP_DOCUMENTS[step])
        actor = actor or DEPARTMENT_STAFF.get(task.candidates.department or "", COORDINATOR)
        return await self.act(
            CompleteStep(request_id=rid(), actor=actor, step=step, note=f"{step} done", documents=documents)
        )

    async def run_steps(self, until: str = "review") -> None:
        """Complete the planned steps in order, from the one in progress up to (not including) `until`."""
        order = await self.order()
        names = [s.step for s in order.steps]
        for step in names[names.index(order.current or until) :]:
            if step == until:
                return
            await self.complete(step)

    async def review(self, outcome: str = "approve", actor: Actor = REVIEWER, **fields) -> OrderOutcome:
        await self.task("review")
        return await self.act(ReviewOrder(request_id=rid(), actor=actor, outcome=outcome, **fields))

    async def finish(self) -> None:
        """End the workflow now (teardown would, too)."""
        await end_workflow(self.handle)
