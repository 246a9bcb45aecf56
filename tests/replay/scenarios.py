"""The main scenarios of each workflow type, driven through the Temporal client on the time-skipping server.

The golden histories under tests/replay/histories/<WorkflowType>/ are recordings of these scenarios
(tests/replay/test_scenarios.py runs them on every test run; scripts/record_golden_histories.py
records them). A new workflow type adds its scenarios to SCENARIOS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.calendar import Budget
from core.roles import Actor, Role
from core.sla import Priority
from core.tasks import ClaimInput, DecisionInput, HumanTask
from core.tickets import (
    CUSTOMER, Cancel, Close, CustomerFeedback, LogProgress, Pause, ProgressKind, Rating, RequestExtension, Resume,
)
from tests.platform.test_human_tasks import start_approval
from tests.support import eventually
from tests.tickets import flow as tickets

Scenario = Callable[[WorkflowEnvironment, str], Awaitable[WorkflowHandle]]

APPROVER = Actor(username="supervisor1", roles=(Role.SUPERVISOR,))
OTHER_APPROVER = Actor(username="supervisor2", roles=(Role.SUPERVISOR,))
FOUR_HOURS = Budget(amount=4, unit="hours")


async def _decide(handle: WorkflowHandle, task: HumanTask, actor: Actor, outcome: str, comment: str | None = None) -> None:
    decision = DecisionInput(
        task_id=task.task_id, request_id=f"{handle.id}:{outcome}", actor=actor, outcome=outcome, comment=comment
    )
    await handle.execute_update("decide", decision, id=decision.request_id)
    await handle.result()


async def _claim(handle: WorkflowHandle, task: HumanTask, actor: Actor, *, release: bool = False) -> None:
    claim = ClaimInput(task_id=task.task_id, request_id=f"{handle.id}:claim:{release}", actor=actor, release=release)
    await handle.execute_update("claim", claim, id=claim.request_id)


async def approval_approved(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The approver approves at once."""
    handle, task = await start_approval(env, task_queue, budget=FOUR_HOURS)
    await _decide(handle, task, APPROVER, "approve")
    return handle


async def approval_rejected(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The approver rejects, with the reason the rules require."""
    handle, task = await start_approval(env, task_queue, budget=FOUR_HOURS)
    await _decide(handle, task, APPROVER, "reject", "no budget left this quarter")
    return handle


async def approval_escalated_then_approved(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Nobody acts: reminders at 50 % and 75 %, escalation at the breach, then the approver approves."""
    handle, task = await start_approval(env, task_queue, budget=FOUR_HOURS)
    await env.sleep(timedelta(hours=4, minutes=1))

    async def escalated() -> bool:
        tasks = await handle.query("tasks", result_type=list[HumanTask])
        return tasks[0].escalation_level == 1

    await eventually(escalated, what="escalation at the breach")
    await _decide(handle, task, APPROVER, "approve")
    return handle


async def approval_claimed_and_released(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """One approver claims and hands the task back; another approves it."""
    handle, task = await start_approval(env, task_queue, budget=FOUR_HOURS)
    await _claim(handle, task, APPROVER)
    await _claim(handle, task, APPROVER, release=True)
    await _decide(handle, task, OTHER_APPROVER, "approve")
    return handle


# ---- ServiceTicket -------------------------------------------------------------------------------


async def _worked_and_resolved(env: WorkflowEnvironment, task_queue: str, **intake) -> tickets.TicketFlow:
    """A ticket accepted, its plan logged and resolved: waiting for the customer's answer."""
    flow = await tickets.TicketFlow.start(env, task_queue, **intake)
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    await flow.act(LogProgress(request_id=tickets.rid(), actor=tickets.ENGINEER, kind=ProgressKind.ACTION,
                               text="更换光模块并测试", is_plan=True))
    await flow.resolve()
    return flow


async def _closed_and_archived(flow: tickets.TicketFlow) -> WorkflowHandle:
    """Close, then let the reopen window run out (time-skipped): the run completes."""
    await flow.act(Close(request_id=tickets.rid(), actor=tickets.AGENT))
    await flow.handle.result()
    return flow.handle


async def ticket_resolved_rated_closed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Intake → accept → plan logged → resolved → rated satisfied → closed → archived → reopen window over."""
    flow = await _worked_and_resolved(env, task_queue)
    await flow.act(CustomerFeedback(request_id=tickets.rid(), actor=CUSTOMER, resolved=True, rating=Rating.SATISFIED))
    return await _closed_and_archived(flow)


async def ticket_urgent_unaccepted_escalates(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """An urgent ticket nobody accepts: reminders, then the breach at 2 h escalates it; then it is accepted."""
    flow = await tickets.TicketFlow.start(env, task_queue, priority=Priority.URGENT)
    await flow.skip(timedelta(hours=2, minutes=1))

    async def escalated() -> bool:
        return (await flow.ticket()).tier == 2

    await eventually(escalated, what="escalation at the response breach")
    await flow.accept()
    await flow.finish()
    return flow.handle


async def ticket_extension_approved(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The handler asks for more time in advance; a supervisor approves and the deadline moves."""
    flow = await tickets.TicketFlow.start(env, task_queue)
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    later = (await flow.task("resolve")).due_at + timedelta(days=1)
    await flow.act(RequestExtension(request_id=tickets.rid(), actor=tickets.ENGINEER, new_expected_at=later,
                                    reason="spare part on order"))
    await flow.decide("extension", tickets.SUPERVISOR, "approve")
    await flow.finish()
    return flow.handle


async def ticket_paused_and_resumed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Waiting for the customer stops the SLA clock for an hour; the resume moves the deadlines."""
    flow = await tickets.TicketFlow.start(env, task_queue)
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    await flow.act(Pause(request_id=tickets.rid(), actor=tickets.ENGINEER, kind="customer", reason="customer's test window"))
    await flow.skip(timedelta(hours=1))
    await flow.act(Resume(request_id=tickets.rid(), actor=tickets.ENGINEER, note="customer ready"))
    await flow.finish()
    return flow.handle


async def ticket_dissatisfied_second_followup(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Rated dissatisfied: a supervisor assigns the second follow-up, it is done, then the ticket closes."""
    flow = await _worked_and_resolved(env, task_queue)
    await flow.act(CustomerFeedback(request_id=tickets.rid(), actor=CUSTOMER, resolved=True, rating=Rating.DISSATISFIED,
                                    comment="太慢"))
    await flow.decide("followup_assignment", tickets.SUPERVISOR, "assign", assignee="supervisor2")
    await flow.decide("second_followup", tickets.SUPERVISOR2, "done", comment="建议缩短备件周期")
    return await _closed_and_archived(flow)


async def ticket_cancelled(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Registered by mistake: the agent cancels it and its open tasks are cancelled."""
    flow = await tickets.TicketFlow.start(env, task_queue)
    await flow.act(Cancel(request_id=tickets.rid(), actor=tickets.AGENT, reason="duplicate of another ticket"))
    await flow.handle.result()
    return flow.handle


SCENARIOS: dict[str, dict[str, Scenario]] = {
    "Approval": {
        "approved": approval_approved,
        "rejected": approval_rejected,
        "escalated-then-approved": approval_escalated_then_approved,
        "claimed-and-released": approval_claimed_and_released,
    },
    "ServiceTicket": {
        "resolved-rated-closed": ticket_resolved_rated_closed,
        "urgent-unaccepted-escalates": ticket_urgent_unaccepted_escalates,
        "extension-approved": ticket_extension_approved,
        "paused-and-resumed": ticket_paused_and_resumed,
        "dissatisfied-second-followup": ticket_dissatisfied_second_followup,
        "cancelled": ticket_cancelled,
    },
}

# Registered workflow types whose scenarios are still to be written: the coverage test tolerates these and
# fails once an entry has scenarios (remove it then). Keep it empty whenever possible.
AWAITING_SCENARIOS: set[str] = set()
