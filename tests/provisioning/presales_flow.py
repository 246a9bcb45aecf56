"""Drive a PreSalesDemand workflow on the time-skipping server (tests and golden scenarios)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.presales import Demand, DemandInput, DemandOutcome
from core.provisioning import CircuitType
from core.roles import Actor, Role
from core.tasks import DecisionInput, HumanTask
from tests.provisioning.flow import NANJING, SUZHOU
from tests.resource_checks.flow import REQUESTER, item
from tests.support import eventually, rid, workflow_tasks

PRESALES = Actor(username="presales1", roles=(Role.ENGINEER,), department="product-support")
COORDINATOR = Actor(username="coordinator1", roles=(Role.COORDINATOR,))
COORDINATOR2 = Actor(username="coordinator2", roles=(Role.COORDINATOR,))


def demand_input(now: datetime, **changes) -> DemandInput:
    """A demand raised by the group-customer department: one fixed circuit Nanjing–Suzhou."""
    demand_id = f"PS{now:%Y%m%d}{uuid.uuid4().hex[:6].upper()}"
    base = dict(
        demand_id=demand_id,
        customer_id="C-4001",
        customer_name="华信物流有限公司",
        contact="13812345678",
        description="南京—苏州两地互联",
        items=(item("1"),),
        circuit_type=CircuitType.MPLS_VPN,
        a_end=NANJING,
        z_end=SUZHOU,
        bandwidth="100M",
        requested_completion=now + timedelta(days=30),
        created_by=REQUESTER,
        request_id=f"create-{demand_id}",
    )
    return DemandInput(**{**base, **changes})


class DemandFlow:
    """One demand's workflow handle plus the decisions its people send."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
        self.env, self.handle = env, handle

    @classmethod
    async def start(cls, env: WorkflowEnvironment, task_queue: str, **changes) -> DemandFlow:
        start = demand_input(await env.get_current_time(), **changes)
        handle = await env.client.start_workflow(
            "PreSalesDemand",
            start,
            id=f"presales-{start.demand_id}",
            task_queue=task_queue,
            result_type=DemandOutcome,
        )
        return cls(env, handle)

    async def demand(self) -> Demand:
        return await self.handle.query("demand", result_type=Demand)

    async def task(self, kind: str) -> HumanTask:
        async def probe():
            try:
                tasks = await workflow_tasks(self.handle, kind)
            except Exception:
                return None
            return tasks[0] if tasks else None

        return await eventually(probe, what=f"open {kind} task")

    async def decide(self, kind: str, actor: Actor, outcome: str, comment: str | None = None, **data):
        task = await self.task(kind)
        decision = DecisionInput(
            task_id=task.task_id, request_id=rid(), actor=actor, outcome=outcome, comment=comment, data=data
        )
        return await self.handle.execute_update("decide", decision, id=decision.request_id)

    async def refine(self, **changes):
        """The coordinator refines the demand the department raised (changing what is given)."""
        return await self.decide("refine", COORDINATOR, "refined", "refined with the customer", **changes)
