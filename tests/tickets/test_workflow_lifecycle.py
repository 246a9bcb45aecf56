"""Service-ticket lifecycle on the time-skipping server: intake, routing, complaints, feedback, close, reopen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from core.roles import Actor, Role
from core.sla import Priority
from core.tasks import TaskStatus
from core.tickets import (
    CUSTOMER,
    AmendIntake,
    Cancel,
    Category,
    Close,
    ComplaintType,
    CustomerFeedback,
    Intake,
    LogProgress,
    ProgressKind,
    Rating,
    Reopen,
    TicketStatus,
    VerifyResolution,
)
from db.models import CustomerMessage, KnowledgeEntry, Survey, TicketRow
from tests.support import eventually, rid
from tests.tickets.flow import AGENT, ENGINEER, SUPERVISOR, SUPERVISOR2, TicketFlow

OPS = Actor(username="ops1", roles=(Role.DEPARTMENT,), department="operations")
FIXED = Actor(username="fixed1", roles=(Role.DEPARTMENT,), department="fixed-network")


async def refused(flow: TicketFlow, act) -> tuple[str, str]:
    """Send an act that must be refused; return (code, message)."""
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await flow.act(act)
    return err.value.cause.type, err.value.cause.message


async def work_to_resolution(flow: TicketFlow) -> None:
    """Accept, log the plan and an action, resolve."""
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    await flow.act(
        LogProgress(request_id=rid(), actor=ENGINEER, kind=ProgressKind.ACTION, text="更换光模块并测试", is_plan=True)
    )
    await flow.resolve()


async def test_an_amendment_sent_while_the_ticket_registers_waits_for_the_intake_task(env, worker, task_queue):
    """The ticket is queryable before its intake task is open; an amendment then is applied, not refused."""
    flow = await TicketFlow.start(env, task_queue, settle=False, industry=None)

    async def registered() -> bool:
        try:
            return (await flow.ticket()).status == TicketStatus.INTAKE_INCOMPLETE
        except Exception:
            return False

    await eventually(registered, what="ticket state set")
    await flow.act(AmendIntake(request_id=rid(), actor=AGENT, changes=Intake(industry="retail")))
    assert (await flow.task("accept")).candidates.department == "hardware-engineering"
    [intake_task] = await flow.tasks("complete_intake", open_only=False)
    assert intake_task.status == TaskStatus.DONE
    await flow.finish()


async def test_incomplete_intake_waits_for_the_agent_then_routes(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue, industry=None, scenario=None)
    state = await flow.ticket()
    assert state.status == TicketStatus.INTAKE_INCOMPLETE
    intake_task = await flow.task("complete_intake")
    assert "industry" in intake_task.subject and "scenario" in intake_task.subject
    await flow.act(AmendIntake(request_id=rid(), actor=AGENT, changes=Intake(industry="retail")))
    assert (await flow.ticket()).status == TicketStatus.INTAKE_INCOMPLETE
    await flow.act(AmendIntake(request_id=rid(), actor=AGENT, changes=Intake(scenario="after an upgrade")))
    accept = await flow.task("accept")
    assert accept.candidates.department == "hardware-engineering"
    assert (await flow.ticket()).status == TicketStatus.PENDING_ASSIGNMENT
    await flow.finish()


async def test_wrong_department_cannot_accept(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    software = Actor(username="engineer2", roles=(Role.ENGINEER,), department="software-engineering")
    from core.tickets import Accept

    code, message = await refused(
        flow, Accept(request_id=rid(), actor=software, expected_resolution_at=await flow.now() + timedelta(hours=1))
    )
    assert code == "forbidden" and "hardware-engineering" in message
    await flow.finish()


async def test_cross_department_ticket_gets_lead_and_supporting_departments(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue, categories=(Category.OTHER,))
    assert await flow.task("coordinate")
    with pytest.raises(WorkflowUpdateFailedError) as bad:
        await flow.decide("coordinate", SUPERVISOR, "assign")
    assert bad.value.cause.type == "invalid" and "lead_department" in bad.value.cause.message
    await flow.decide(
        "coordinate", SUPERVISOR, "assign", lead_department="operations", supporting_departments=["fixed-network"]
    )
    state = await flow.ticket()
    assert state.lead_department == "operations" and state.supporting_departments == ("fixed-network",)
    assert (await flow.task("accept")).candidates.department == "operations"
    await flow.decide("support", FIXED, "done", comment="固网侧端口已恢复")
    await flow.accept(actor=OPS, expected=await flow.now() + timedelta(hours=5))
    state = await flow.ticket()
    assert state.handler == "ops1" and [e.kind for e in state.log] == [ProgressKind.COLLABORATION]
    await flow.finish()


async def test_complaint_rules(env, worker, task_queue):
    flow = await TicketFlow.start(
        env,
        task_queue,
        categories=(Category.COMPLAINT,),
        complaint_type=ComplaintType.SERVICE_QUALITY,
        major_complaint=True,
        priority=Priority.LOW,
    )
    state = await flow.ticket()
    forward, callback, visit = (
        await flow.task("complaint_forward"),
        await flow.task("callback"),
        await flow.task("onsite_visit"),
    )
    assert forward.due_at == forward.opened_at + timedelta(minutes=10)
    assert callback.due_at == callback.opened_at + timedelta(days=3)
    assert visit.candidates.roles == (Role.SUPERVISOR,)
    # A low-priority complaint still completes within 48 h (the policy's 5 working days would be later).
    assert state.cycle.resolution_cap == state.created_at + timedelta(hours=48)
    assert (await flow.task("accept")).candidates.roles == (Role.SUPERVISOR,)
    await flow.decide("complaint_forward", SUPERVISOR, "forwarded", comment="转运维部负责人")
    await flow.decide("callback", AGENT, "done", comment="已回访，客户接受道歉")
    assert (await flow.ticket()).callback_done
    await flow.finish()


async def test_dissatisfied_rating_opens_the_second_follow_up(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    await work_to_resolution(flow)
    assert (await flow.ticket()).status == TicketStatus.PENDING_FEEDBACK
    await flow.act(
        CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.DISSATISFIED, comment="太慢")
    )
    state = await flow.ticket()
    assert state.status == TicketStatus.RESOLVED and state.second_followup_required
    await flow.decide("followup_assignment", SUPERVISOR, "assign", assignee="supervisor2")
    follow_up = await flow.task("second_followup")
    assert follow_up.candidates.assignee == "supervisor2"
    code, message = await refused(flow, Close(request_id=rid(), actor=AGENT))
    assert code == "conflict" and "second follow-up" in message
    await flow.decide("second_followup", SUPERVISOR2, "done", comment="建议缩短备件周期")
    await flow.act(Close(request_id=rid(), actor=AGENT))
    assert (await flow.ticket()).status == TicketStatus.CLOSED
    await flow.finish()


async def test_no_rating_gets_its_follow_up_after_three_working_days(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    await work_to_resolution(flow)
    resolved_at = (await flow.ticket()).cycle.resolved_at
    calendar_due = await _rating_due(flow, resolved_at)
    await flow.skip(calendar_due - await flow.now() - timedelta(minutes=1))
    assert not await flow.tasks("rating_followup")
    await flow.skip(timedelta(minutes=2))
    task = await flow.task("rating_followup")
    assert task.opened_at >= calendar_due and task.candidates.assignee == "agent1"
    await flow.act(VerifyResolution(request_id=rid(), actor=ENGINEER, note="链路测试通过"))
    assert (await flow.ticket()).status == TicketStatus.RESOLVED
    await flow.decide("rating_followup", AGENT, "done", comment="电话回访，客户满意", rating="satisfied")
    state = await flow.ticket()
    assert state.rating_followup_done and state.rating == Rating.SATISFIED
    await flow.finish()


async def _rating_due(flow: TicketFlow, resolved_at):
    from core.calendar import deadline, default_cn_calendar
    from core.sla import default_sla_policy

    return deadline(default_cn_calendar(), resolved_at, default_sla_policy().rating_wait)


async def test_close_is_refused_until_resolved_rated_and_logged(env, worker, task_queue, sync_session):
    flow = await TicketFlow.start(env, task_queue)
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    code, message = await refused(flow, Close(request_id=rid(), actor=AGENT))
    assert code == "conflict" and "not allowed while the ticket is in_progress" in message
    await flow.resolve()
    code, message = await refused(flow, Close(request_id=rid(), actor=AGENT))
    assert (
        "not resolved" in message
        and "no rating yet" in message
        and "progress log incomplete: no action entry" in message
    )
    await flow.act(CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.SATISFIED))
    code, message = await refused(flow, Close(request_id=rid(), actor=AGENT))
    assert message == "close: progress log incomplete: no action entry"
    await flow.act(LogProgress(request_id=rid(), actor=ENGINEER, kind=ProgressKind.ACTION, text="更换光模块"))
    await flow.act(Close(request_id=rid(), actor=AGENT))
    state = await flow.ticket()
    assert state.status == TicketStatus.CLOSED and state.closed_by == "agent1"

    def archived():
        with sync_session() as s:
            return s.get(KnowledgeEntry, state.ticket_no)

    entry = await eventually(lambda: _value(archived()), what="knowledge-base archive")
    assert entry.solution == "更换光模块" and entry.cause == "光模块老化"
    with sync_session() as s:
        row = s.get(TicketRow, state.ticket_no)
        assert (row.status, row.tmf_status, row.rating) == ("closed", "closed", "satisfied")
        assert (
            s.scalars(select(Survey).where(Survey.workflow_id == state.workflow_id)).one().ticket_no == state.ticket_no
        )
        message_row = s.scalars(select(CustomerMessage).where(CustomerMessage.ticket_no == state.ticket_no)).one()
        assert "/survey/" in message_row.body and "更换光模块" in message_row.body
    await flow.finish()


async def test_reopen_within_the_window_starts_a_new_cycle_and_keeps_the_old(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    await work_to_resolution(flow)
    await flow.act(CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.SATISFIED))
    await flow.act(LogProgress(request_id=rid(), actor=ENGINEER, kind=ProgressKind.CUSTOMER_CONTACT, text="回访确认"))
    await flow.act(Close(request_id=rid(), actor=AGENT))
    await flow.skip(timedelta(days=1))
    await flow.act(Reopen(request_id=rid(), actor=AGENT, reason="故障复现"))
    state = await flow.ticket()
    assert state.status == TicketStatus.IN_PROGRESS and len(state.cycles) == 2
    assert state.cycles[0].resolved_at is not None and state.cycles[0].rating == Rating.SATISFIED
    assert state.cycles[1].resolved_at is None and (await flow.task("resolve")).candidates.assignee == "engineer1"
    await flow.finish()


async def test_closed_ticket_completes_after_the_reopen_window(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    await work_to_resolution(flow)
    await flow.act(CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.SATISFIED))
    await flow.act(Close(request_id=rid(), actor=AGENT))
    outcome = await flow.handle.result()  # time skips through the 7-working-day window
    assert outcome.status == TicketStatus.CLOSED


async def test_customer_says_not_resolved_sends_it_back(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    await work_to_resolution(flow)
    await flow.act(CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=False, rating=Rating.NEUTRAL))
    state = await flow.ticket()
    assert state.status == TicketStatus.IN_PROGRESS and state.second_followup_required
    assert await flow.task("resolve") and await flow.task("followup_assignment")
    code, _ = await refused(
        flow, CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.SATISFIED)
    )
    assert code == "conflict"  # one survey answer per link
    await flow.finish()


async def test_cancel_closes_open_tasks(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    code, _ = await refused(flow, Cancel(request_id=rid(), actor=ENGINEER, reason="duplicate"))
    assert code == "forbidden"
    await flow.act(Cancel(request_id=rid(), actor=AGENT, reason="duplicate of another ticket"))
    outcome = await flow.handle.result()
    assert outcome.status == TicketStatus.CANCELLED
    tasks = await flow.tasks(open_only=False)
    assert tasks and all(t.status == "cancelled" for t in tasks)


async def _value(value):
    return value
