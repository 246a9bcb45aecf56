"""Drive a ServiceTicket workflow on the time-skipping server the way its people would (tests only)."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.records import PolicyRef
from core.roles import Actor, Role
from core.sla import Priority
from core.tasks import DecisionInput, HumanTask
from core.tickets import (
    Accept,
    ActOutcome,
    Category,
    Channel,
    Intake,
    Resolution,
    Resolve,
    Ticket,
    TicketInput,
)
from db.tickets import workflow_id_for
from tests.support import end_workflow, eventually, rid, workflow_tasks

AGENT = Actor(username="agent1", roles=(Role.AGENT,))
ENGINEER = Actor(username="engineer1", roles=(Role.ENGINEER,), department="hardware-engineering")
SUPERVISOR = Actor(username="supervisor1", roles=(Role.SUPERVISOR,))
SUPERVISOR2 = Actor(username="supervisor2", roles=(Role.SUPERVISOR,))
_serial = itertools.count(random.randint(1, 5000))


def intake(**changes) -> Intake:
    """A complete intake (hardware after-sales, medium) with any field overridden."""
    base = dict(
        customer_id="C-1001",
        customer_name="华信物流有限公司",
        industry="logistics",
        contact="13812345678",
        channel=Channel.PHONE,
        preferred_channel=Channel.PHONE,
        occurred_at=datetime(2026, 11, 1, 9, 30).astimezone(),
        scenario="after a power cut",
        description="专线中断，路由器告警 LOS",
        categories=(Category.AFTERSALES_HARDWARE,),
        priority=Priority.MEDIUM,
    )
    return Intake(**{**base, **changes})


class TicketFlow:
    """One ticket's workflow handle plus the acts and decisions people send it."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
        self.env, self.handle = env, handle

    @classmethod
    async def start(
        cls,
        env: WorkflowEnvironment,
        task_queue: str,
        *,
        calendar: str | None = None,
        settle: bool = True,
        created_at: datetime | None = None,
        **intake_changes,
    ) -> TicketFlow:
        """Register a ticket and (unless `settle` is False) wait until it is routed (or waiting for intake)."""
        ticket_no = f"CS29991231{next(_serial):04d}"
        handle = await env.client.start_workflow(
            "ServiceTicket",
            TicketInput(
                ticket_no=ticket_no,
                intake=intake(**intake_changes),
                created_by=AGENT,
                request_id=f"create-{ticket_no}",
                policy=PolicyRef(calendar=calendar),
                created_at=created_at,
            ),
            id=workflow_id_for(ticket_no),
            task_queue=task_queue,
            result_type=ActOutcome,
        )
        flow = cls(env, handle)
        if settle:
            await eventually(flow._settled, what="ticket registered and routed")
        return flow

    async def _settled(self) -> bool:
        """True once the ticket waits for someone: intake completion, coordination or acceptance."""
        try:
            kinds = {t.kind for t in await self.tasks()}
        except Exception:
            return False
        return bool(kinds & {"accept", "coordinate", "complete_intake"})

    async def ticket(self) -> Ticket:
        return await self.handle.query("ticket", result_type=Ticket)

    async def tasks(self, kind: str | None = None, *, open_only: bool = True) -> list[HumanTask]:
        return await workflow_tasks(self.handle, kind, open_only=open_only)

    async def task(self, kind: str) -> HumanTask:
        """The open task of a kind, waiting for it to appear."""

        async def probe():
            found = await self.tasks(kind)
            return found[0] if found else None

        return await eventually(probe, what=f"open {kind} task")

    async def act(self, act) -> ActOutcome:
        return await self.handle.execute_update("act", act, id=act.request_id, result_type=ActOutcome)

    async def decide(self, kind: str, actor: Actor, outcome: str, comment: str | None = None, **data):
        task = await self.task(kind)
        decision = DecisionInput(
            task_id=task.task_id, request_id=rid(), actor=actor, outcome=outcome, comment=comment, data=data
        )
        return await self.handle.execute_update("decide", decision, id=decision.request_id)

    async def accept(self, actor: Actor = ENGINEER, expected: datetime | None = None) -> None:
        state = await self.ticket()
        await self.act(
            Accept(request_id=rid(), actor=actor, expected_resolution_at=expected or state.cycle.resolution_cap)
        )

    async def resolve(self, actor: Actor = ENGINEER) -> None:
        resolution = Resolution(cause="光模块老化", solution="更换光模块", advice="定期巡检", channel=Channel.PHONE)
        await self.act(Resolve(request_id=rid(), actor=actor, resolution=resolution))

    async def finish(self) -> None:
        """End the workflow now (teardown would, too)."""
        await end_workflow(self.handle)

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def skip(self, delta: timedelta) -> None:
        await self.env.sleep(delta)
