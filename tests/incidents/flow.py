"""Drive incidents on the time-skipping server the way their people would (tests and golden scenarios)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.incidents import (
    Incident,
    IncidentClass,
    IncidentInput,
    IncidentLevel,
    IncidentOutcome,
    Member,
    Team,
    workflow_id_for,
)
from core.roles import Actor, Role
from core.tasks import DecisionInput, HumanTask
from tests.support import eventually, rid, unique, workflow_tasks
from tests.tickets.flow import TicketFlow

COMMANDER = Actor(username="supervisor2", roles=(Role.SUPERVISOR,))
SUPERVISOR = Actor(username="supervisor1", roles=(Role.SUPERVISOR,))
TECH_LEAD = Actor(username="engineer2", roles=(Role.ENGINEER,), department="software-engineering")
TEAMS = (
    Member(username="supervisor2", team=Team.COMMAND, role="commander"),
    Member(username="engineer2", team=Team.TECHNICAL, role="lead"),
    Member(username="agent1", team=Team.SERVICE, role="member"),
)
REPORT = {"when": "2026-12-02 09:10", "where": "北京亦庄机房", "symptom": "专线全部中断"}
REVIEW = {"cause": "市政施工挖断光缆", "measures": "加装光缆路由保护", "lessons": "施工区域提前巡线"}


def signature(**changes: str) -> dict[str, str]:
    """Intake fields of one fault signature no other test shares."""
    return {
        "customer_id": unique("C"),
        "fault_site": "北京亦庄机房",
        "circuit_id": unique("CKT"),
        "service": "mpls_vpn",
        **changes,
    }


async def tickets_of_one_signature(
    env: WorkflowEnvironment, task_queue: str, count: int, fields: dict[str, str]
) -> list[TicketFlow]:
    """`count` tickets of the signature, each accepted by its handler (so it can be resolved with the incident)."""
    flows = []
    for _ in range(count):
        flow = await TicketFlow.start(env, task_queue, **fields)
        await flow.accept()
        flows.append(flow)
    return flows


class IncidentFlow:
    """One incident's workflow handle plus the acts and decisions its people send."""

    def __init__(self, env: WorkflowEnvironment, handle: WorkflowHandle) -> None:
        self.env, self.handle = env, handle

    @classmethod
    def of(cls, env: WorkflowEnvironment, incident_no: str) -> IncidentFlow:
        """The incident of that number (started by the detection or the API)."""
        return cls(env, env.client.get_workflow_handle(workflow_id_for(incident_no), result_type=IncidentOutcome))

    @classmethod
    async def declare(
        cls,
        env: WorkflowEnvironment,
        task_queue: str,
        *,
        level: IncidentLevel = IncidentLevel.LARGER,
        tickets: tuple[str, ...] = (),
        members: tuple[Member, ...] = TEAMS,
    ) -> IncidentFlow:
        """Start an incident as a supervisor declares it, and wait for its report stage."""
        incident_no = f"INC{unique('T')[2:]}"[:24]
        handle = await env.client.start_workflow(
            "Incident",
            IncidentInput(
                incident_no=incident_no,
                incident_class=IncidentClass.SYSTEM_FAILURE,
                level=level,
                title="光缆中断",
                members=members,
                tickets=tickets,
                declared_by=SUPERVISOR,
                request_id=f"declare-{incident_no}",
            ),
            id=workflow_id_for(incident_no),
            task_queue=task_queue,
            result_type=IncidentOutcome,
        )
        flow = cls(env, handle)
        await eventually(flow._reporting, what="the report stage open")
        return flow

    async def _reporting(self) -> bool:
        try:
            return bool((await self.incident()).stages)
        except Exception:  # not registered yet
            return False

    async def incident(self) -> Incident:
        return await self.handle.query("incident", result_type=Incident)

    async def task(self, kind: str) -> HumanTask:
        """The open task of a kind, waiting for it to appear."""

        async def probe() -> HumanTask | None:
            try:
                found = await workflow_tasks(self.handle, kind)
            except Exception:
                return None
            return found[0] if found else None

        return await eventually(probe, what=f"open {kind} task")

    async def decide(self, kind: str, actor: Actor, outcome: str, comment: str | None = None, **data: Any) -> None:
        task = await self.task(kind)
        decision = DecisionInput(
            task_id=task.task_id, request_id=rid(), actor=actor, outcome=outcome, comment=comment, data=data
        )
        await self.handle.execute_update("decide", decision, id=decision.request_id)

    async def act(self, act: Any) -> IncidentOutcome:
        return await self.handle.execute_update("act", act, id=act.request_id, result_type=IncidentOutcome)

    async def through_restoration(self) -> None:
        """Report, start the plan, locate, agree the solution and restore service (the linked tickets resolve)."""
        await self.decide("incident_report", COMMANDER, "reported", **REPORT)
        await self.decide("incident_start_plan", COMMANDER, "started", "启动光缆中断应急预案")
        await self.decide("incident_analyse", TECH_LEAD, "located", "亦庄段光缆被挖断")
        await self.decide("incident_solution", TECH_LEAD, "agreed", "抢修熔接并启用备用路由")
        await self.decide("incident_carry_out", COMMANDER, "restored", "已熔接，业务恢复")
        await self.task("incident_review")

    async def review(self) -> None:
        await self.decide("incident_review", COMMANDER, "reviewed", **REVIEW)
