"""Service-ticket deadlines on the time-skipping server: response escalation, working-day caps, extensions, pauses."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from core.calendar import BusinessCalendar, WorkingPeriod
from core.sla import Priority
from core.tickets import Pause, RequestEscalation, RequestExtension, Resume, TicketStatus
from db.models import CalendarVersion, Notification, SlaBreach, TaskRow
from tests.replay.golden import patch_ids
from tests.support import SHANGHAI, eventually, next_weekday_at, rid, skip_to
from tests.tickets.flow import ENGINEER, SUPERVISOR, SUPERVISOR2, TicketFlow
from workflows.common import RECORD_TASK_EVENT, RECORD_TICKET_CHANGE
from workflows.tasks import RUNGS_AT_ONCE


def ensure_calendar(sync_session, calendar: BusinessCalendar) -> str:
    """Store a test calendar once (by name)."""
    with sync_session() as s:
        if s.scalars(select(CalendarVersion).where(CalendarVersion.name == calendar.name)).first() is None:
            s.add(
                CalendarVersion(name=calendar.name, version=1, spec=calendar.model_dump(mode="json"), created_by="test")
            )
            s.commit()
    return calendar.name


async def test_urgent_ticket_nobody_accepts_escalates_at_2h(env, worker, task_queue, sync_session):
    flow = await TicketFlow.start(env, task_queue, priority=Priority.URGENT)
    ticket = await flow.ticket()
    accept = await flow.task("accept")
    assert accept.priority == 100 and ticket.green_channel  # first in every inbox
    assert accept.due_at == ticket.created_at + timedelta(hours=2) == ticket.cycle.response_due

    def notices(kind: str) -> list[Notification]:
        with sync_session() as s:
            return s.scalars(
                select(Notification).where(Notification.workflow_id == ticket.workflow_id, Notification.kind == kind)
            ).all()

    await eventually(lambda: _value(notices("urgent")), what="green channel: supervisor told at once")
    assert notices("urgent")[0].recipient_role == "supervisor"
    await skip_to(env, ticket.created_at + timedelta(hours=1, minutes=59))
    assert (await flow.ticket()).tier == 1 and not notices("escalate")
    await skip_to(env, ticket.created_at + timedelta(hours=2, minutes=1))

    async def escalated():
        state = await flow.ticket()
        return state if state.tier == 2 else None

    state = await eventually(escalated, what="escalation at 2 h")
    assert state.cycle.breaches == ["accept:department hardware-engineering"]
    assert state.status == TicketStatus.PENDING_ASSIGNMENT
    await eventually(lambda: _value(notices("escalate")), what="supervisor notified of the breach")
    with sync_session() as s:
        breach = s.scalars(select(SlaBreach).where(SlaBreach.workflow_id == ticket.workflow_id)).one()
        assert breach.kind == "accept" and breach.due_at == ticket.created_at + timedelta(hours=2)
    await flow.finish()


async def test_a_late_ladder_fires_its_rungs_in_one_write(env, worker, task_queue, sync_session):
    """Created 2 h 30 min ago (urgent: 2 h to respond), its 50 %, 75 % and 100 % rungs are all due when the ticket
    starts: each keeps its notices and the breach its row, and after the registration they take one write."""
    created = await env.get_current_time() - timedelta(hours=2, minutes=30)
    flow = await TicketFlow.start(env, task_queue, priority=Priority.URGENT, created_at=created)

    async def escalated():
        state = await flow.ticket()
        return state if state.tier == 2 else None

    state = await eventually(escalated, what="the breach of a ladder already past")
    assert state.cycle.breaches == ["accept:department hardware-engineering"]
    workflow_id = state.workflow_id
    with sync_session() as s:
        notices = s.scalars(select(Notification).where(Notification.workflow_id == workflow_id)).all()
        breach = s.scalars(select(SlaBreach).where(SlaBreach.workflow_id == workflow_id)).one()
        task = s.scalars(select(TaskRow).where(TaskRow.task_id == breach.task_id)).one()
    ladder = sorted(n.key.split(":rung")[1].split(":")[0] for n in notices if ":rung" in n.key)
    assert {rung: ladder.count(rung) for rung in ladder} == {"0": 1, "1": 2, "2": 2}  # the owner (+ supervisors)
    assert {n.kind for n in notices if ":rung" in n.key} == {"remind", "escalate"}
    assert breach.due_at == created + timedelta(hours=2) and task.escalation_level == 1
    history = await flow.handle.fetch_history()
    assert RUNGS_AT_ONCE in patch_ids(history)
    writes = [a for a in _local_activities(history) if a in (RECORD_TASK_EVENT, RECORD_TICKET_CHANGE)]
    assert writes == [RECORD_TICKET_CHANGE, RECORD_TICKET_CHANGE]  # registration; then the three rungs together
    await flow.finish()


def _local_activities(history) -> list[str]:
    """The activity type of each local-activity marker, in order."""
    found = []
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_local_activity":
                found.append(json.loads(marker.details["data"].payloads[0].data)["activity_type"])
    return found


async def test_medium_ticket_on_friday_before_a_holiday_gets_three_working_days(env, worker, task_queue, sync_session):
    friday = next_weekday_at(await env.get_current_time(), 4, 15)
    monday = (friday + timedelta(days=3)).date()
    calendar = ensure_calendar(
        sync_session, BusinessCalendar(name=f"kx-test-holiday-{monday:%Y%m%d}", holidays=(monday,))
    )
    await skip_to(env, friday)
    flow = await TicketFlow.start(env, task_queue, calendar=calendar, priority=Priority.MEDIUM)
    ticket = await flow.ticket()
    drift = ticket.created_at - friday
    # Friday 15:00 + 3 working days, Monday a public holiday: Tuesday, Wednesday, Thursday 15:00.
    assert ticket.cycle.resolution_cap - drift == (friday + timedelta(days=6)).astimezone(SHANGHAI)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.accept(expected=ticket.cycle.resolution_cap + timedelta(minutes=1))
    assert refused.value.cause.type == "invalid" and "expected_resolution_at" in refused.value.cause.message
    await flow.accept()
    state = await flow.ticket()
    assert state.status == TicketStatus.IN_PROGRESS and state.handler == "engineer1"
    assert (await flow.task("resolve")).due_at == ticket.cycle.resolution_cap
    await flow.finish()


async def test_extension_approved_moves_the_deadline_rejected_does_not(env, worker, task_queue):
    flow = await TicketFlow.start(env, task_queue)
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    due = (await flow.task("resolve")).due_at
    later = due + timedelta(days=1)
    await flow.act(
        RequestExtension(request_id=rid(), actor=ENGINEER, new_expected_at=later, reason="spare part on order")
    )
    await flow.decide("extension", SUPERVISOR, "reject", comment="use the stock part")
    assert (await flow.task("resolve")).due_at == due and (await flow.ticket()).cycle.resolution_due == due
    await flow.act(RequestExtension(request_id=rid(), actor=ENGINEER, new_expected_at=later, reason="no stock part"))
    await flow.decide("extension", SUPERVISOR, "approve")
    resolve = await flow.task("resolve")
    assert resolve.due_at == later and (await flow.ticket()).cycle.resolution_due == later
    await flow.finish()


async def test_supervisor_cannot_approve_their_own_request(env, worker, task_queue):
    """A complaint goes to supervisors; the supervisor who handles it cannot approve their own escalation."""
    from core.tickets import Category, ComplaintType

    flow = await TicketFlow.start(
        env, task_queue, categories=(Category.COMPLAINT,), complaint_type=ComplaintType.BILLING
    )
    await flow.accept(actor=SUPERVISOR, expected=await flow.now() + timedelta(hours=4))
    await flow.act(
        RequestEscalation(
            request_id=rid(),
            actor=SUPERVISOR,
            reason="billing system defect",
            resources_needed="billing team",
            new_expected_at=await flow.now() + timedelta(hours=20),
        )
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.decide("escalation", SUPERVISOR, "approve")
    assert refused.value.cause.type == "forbidden" and "four-eyes" in refused.value.cause.message
    assert (await flow.ticket()).tier == 1
    await flow.decide("escalation", SUPERVISOR2, "approve")
    state = await flow.ticket()
    assert state.tier == 2 and state.pending_escalation_task is None
    await flow.finish()


async def test_pause_of_five_business_hours_moves_resolution_by_five_business_hours(
    env, worker, task_queue, sync_session
):
    office = BusinessCalendar(name="kx-test-office", working_hours=(WorkingPeriod(start=time(9), end=time(18)),))
    calendar = ensure_calendar(sync_session, office)
    monday = next_weekday_at(await env.get_current_time(), 0, 9, 30)
    await skip_to(env, monday)
    flow = await TicketFlow.start(env, task_queue, calendar=calendar)
    # Expected resolution Tuesday 11:00; pause Monday 10:00 → 15:00 (5 business hours) → Tuesday 16:00.
    tuesday_11 = monday.replace(hour=11, minute=0) + timedelta(days=1)
    await flow.accept(expected=tuesday_11)
    await skip_to(env, monday.replace(hour=10, minute=0))
    await flow.act(
        Pause(request_id=rid(), actor=ENGINEER, kind="customer", reason="waiting for the customer's test window")
    )
    state = await flow.ticket()
    assert state.status == TicketStatus.WAITING_CUSTOMER and (await flow.task("resolve")).suspended
    await skip_to(env, monday.replace(hour=15, minute=0))
    await flow.act(Resume(request_id=rid(), actor=ENGINEER, note="customer ready"))
    state = await flow.ticket()
    pause = state.pauses[0]
    shifted = tuesday_11.replace(hour=16) + (pause.ended_at - monday.replace(hour=15))  # start drift of the resume
    moved = (await flow.task("resolve")).due_at
    assert abs((moved - tuesday_11.replace(hour=16)).total_seconds()) < 5, (moved, shifted)
    assert state.status == TicketStatus.IN_PROGRESS and state.cycle.resolution_due == moved
    await flow.finish()


async def _value(value):
    return value
