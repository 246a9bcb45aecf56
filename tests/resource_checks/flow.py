"""Drive a ResourceCheck workflow on the time-skipping server the way its people would (tests only)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.resource_checks import (
    Answer,
    CheckItem,
    CheckOutcome,
    Line,
    Qualification,
    ResourceCheck,
    ResourceCheckInput,
    workflow_id_for,
)
from core.roles import Actor, Role
from core.tasks import DecisionInput, HumanTask
from tests.support import end_workflow, eventually, rid, workflow_tasks

REQUESTER = Actor(username="gcd1", roles=(Role.DEPARTMENT,), department="group-customer")
COORDINATOR = Actor(username="coordinator1", roles=(Role.COORDINATOR,))
SUPERVISOR = Actor(username="supervisor1", roles=(Role.SUPERVISOR,))
STAFF = {
    "mobile-network": Actor(username="mobile1", roles=(Role.DEPARTMENT,), department="mobile-network"),
    "fixed-network": Actor(username="fixed1", roles=(Role.DEPARTMENT,), department="fixed-network"),
    "operations": Actor(username="ops1", roles=(Role.DEPARTMENT,), department="operations"),
}
HEADS = {
    d: Actor(username=u, roles=(Role.DEPARTMENT,), department=d)
    for d, u in (("mobile-network", "mobilehead"), ("fixed-network", "fixedhead"), ("operations", "opshead"))
}


def item(item_id: str = "1", *, service_type: str = "internet", circuit_type: str | None = "ethernet") -> CheckItem:
    """An item; the defaults consult operations only, mobile + mpls-vpn consults all three departments."""
    return CheckItem(
        item_id=item_id,
        sites=("上海市浦东新区张江路 88 号",),
        service_type=service_type,
        circuit_type=circuit_type,
        bandwidth="100M",
        wanted_date=date(2027, 3, 1),
    )


def check_input(*items: CheckItem) -> ResourceCheckInput:
    """A check request from the group-customer department."""
    check_id = f"RC-T{uuid.uuid4().hex[:8].upper()}"
    return ResourceCheckInput(
        check_id=check_id,
        customer_id="C-2001",
        customer_name="华信物流有限公司",
        contact="13812345678",
        description="三地互联专线",
        items=items or (item(),),
        requested_by=REQUESTER,
        request_id=f"create-{check_id}",
    )


class CheckFlow:
    """One check's workflow handle plus the acts and decisions its people send."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle, check_id: str) -> None:
        self.env, self.handle, self.check_id = env, handle, check_id

    @classmethod
    async def start(cls, env: WorkflowEnvironment, task_queue: str, *items: CheckItem) -> CheckFlow:
        """Start a check and wait until its department tasks are open."""
        start = check_input(*items)
        handle = await env.client.start_workflow(
            "ResourceCheck",
            start,
            id=workflow_id_for(start.check_id),
            task_queue=task_queue,
            result_type=CheckOutcome,
        )
        flow = cls(env, handle, start.check_id)
        await flow.wait(
            lambda c: c.status == "consulting" and all(line.task_id for line in c.round.lines), "departments asked"
        )
        return flow

    async def check(self) -> ResourceCheck:
        return await self.handle.query("check", result_type=ResourceCheck)

    async def wait(self, predicate, what: str) -> ResourceCheck:
        """The check state once `predicate` holds."""

        async def probe():
            try:
                state = await self.check()
            except Exception:
                return None
            return state if predicate(state) else None

        return await eventually(probe, what=what)

    async def tasks(self, kind: str) -> list[HumanTask]:
        return await workflow_tasks(self.handle, kind)

    async def act(self, act) -> CheckOutcome:
        return await self.handle.execute_update("act", act, id=act.request_id, result_type=CheckOutcome)

    async def answer(
        self,
        item_id: str,
        department: str,
        result: Qualification = Qualification.QUALIFIED,
        actor: Actor | None = None,
        **fields,
    ) -> CheckOutcome:
        return await self.act(
            Answer(
                request_id=rid(),
                actor=actor or STAFF[department],
                item_id=item_id,
                department=department,
                result=result,
                **fields,
            )
        )

    async def review(
        self, department: str, outcome: str = "approve", actor: Actor | None = None, comment: str | None = None
    ):
        state = await self.wait(lambda c: any(r.department == department for r in c.round.reviews), "joint review open")
        task_id = next(r.task_id for r in state.round.reviews if r.department == department)
        decision = DecisionInput(
            task_id=task_id, request_id=rid(), actor=actor or HEADS[department], outcome=outcome, comment=comment
        )
        return await self.handle.execute_update("decide", decision, id=decision.request_id)

    async def line(self, item_id: str, department: str) -> Line:
        line = (await self.check()).round.line(item_id, department)
        assert line is not None
        return line

    async def finish(self) -> None:
        """End the workflow now (teardown would, too)."""
        await end_workflow(self.handle)

    async def skip(self, delta: timedelta) -> None:
        await self.env.sleep(delta)
