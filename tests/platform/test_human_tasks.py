"""The human-task mechanism on the time-skipping server: ladder timing, decisions, refusals."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.approvals import ApprovalInput, ApprovalResult
from core.calendar import Budget, BusinessCalendar, WorkingPeriod
from core.records import PolicyRef
from core.roles import Actor, Role
from core.sla import default_sla_policy
from core.tasks import ClaimInput, DecisionInput, HumanTask
from db.models import AuditEntry, CalendarVersion, Notification, SlaBreach, SlaPolicyVersion, TaskRow
from tests.support import eventually, next_weekday_at, skip_to

AGENT = Actor(username="agent1", roles=(Role.AGENT,))
SUPERVISOR = Actor(username="supervisor1", roles=(Role.SUPERVISOR,))


async def start_approval(
    env: WorkflowEnvironment, task_queue: str, *, budget: Budget | None = None, requester: Actor = AGENT
):
    """Start an approval workflow and wait until its task is recorded and the workflow is idle."""
    workflow_id = f"approval-test-{uuid.uuid4().hex[:10]}"
    handle = await env.client.start_workflow(
        "Approval",
        ApprovalInput(
            subject="Raise bandwidth quota",
            reason="customer asked",
            requested_by=requester,
            request_id=f"req-{workflow_id}",
            budget=budget,
        ),
        id=workflow_id,
        task_queue=task_queue,
        result_type=ApprovalResult,
    )

    async def open_task() -> HumanTask | None:
        tasks = await handle.query("tasks", result_type=list[HumanTask])
        return tasks[0] if tasks else None

    task = await eventually(open_task, what="approval task opened")

    async def idle() -> bool:  # the task's read-model write completed and the ladder's first timer is set
        kinds = [e.event_type for e in (await handle.fetch_history()).events]
        # Under load a query can add an empty workflow task after the timer: that is idle too.
        settled = kinds[-1] in (EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        timer = max((i for i, k in enumerate(kinds) if k == EventType.EVENT_TYPE_TIMER_STARTED), default=-1)
        write = max((i for i, k in enumerate(kinds) if k == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED), default=-1)
        return settled and timer > write

    await eventually(idle, what="workflow idle after opening its task")
    return handle, task


_WORKFLOW_TASK_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}


async def business_events(handle) -> list[int]:
    """History event types other than workflow-task bookkeeping (which a rejected update may add on the test server)."""
    return [e.event_type for e in (await handle.fetch_history()).events if e.event_type not in _WORKFLOW_TASK_EVENTS]


async def test_decision_completes_workflow_and_writes_read_model(env, worker, task_queue, sync_session):
    handle, task = await start_approval(env, task_queue)
    decision = DecisionInput(task_id=task.task_id, request_id=f"d-{uuid.uuid4()}", actor=SUPERVISOR, outcome="approve")
    result = await handle.execute_update("decide", decision, id=decision.request_id)
    assert result["status"] == "done" if isinstance(result, dict) else result
    outcome = await handle.result()
    assert outcome.outcome == "approve" and outcome.decided_by == "supervisor1"
    with sync_session() as s:
        row = s.get(TaskRow, task.task_id)
        assert (row.status, row.outcome, row.decided_by) == ("done", "approve", "supervisor1")
        audit = s.scalars(select(AuditEntry).where(AuditEntry.workflow_id == handle.id).order_by(AuditEntry.id)).all()
        assert [a.action for a in audit] == ["approval.request", "task.approve"]
        assert audit[1].actor == "supervisor1" and audit[1].actor_roles == ["supervisor"]


@pytest.mark.parametrize(
    ("actor", "outcome", "comment", "code"),
    [
        (Actor(username="engineer1", roles=(Role.ENGINEER,)), "approve", None, "forbidden"),  # wrong role
        (Actor(username="agent1", roles=(Role.AGENT, Role.SUPERVISOR)), "approve", None, "forbidden"),  # four-eyes
        (SUPERVISOR, "maybe", None, "invalid"),  # malformed: unknown outcome
        (SUPERVISOR, "reject", "  ", "invalid"),  # malformed: reject without a reason
    ],
)
async def test_refused_decisions_change_nothing(env, worker, task_queue, sync_session, actor, outcome, comment, code):
    handle, task = await start_approval(env, task_queue)
    before = await business_events(handle)
    decision = DecisionInput(
        task_id=task.task_id, request_id=f"d-{uuid.uuid4()}", actor=actor, outcome=outcome, comment=comment
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("decide", decision, id=decision.request_id)
    assert refused.value.cause.type == code
    # A refused update never reaches history, and the task is still open for the right person.
    assert await business_events(handle) == before
    tasks = await handle.query("tasks", result_type=list[HumanTask])
    assert tasks[0].status == "open" and tasks[0].revision == task.revision
    with sync_session() as s:
        assert s.get(TaskRow, task.task_id).status == "open"
    await handle.terminate("test done")


async def test_closed_task_and_duplicate_request(env, worker, task_queue):
    handle, task = await start_approval(env, task_queue)
    first = DecisionInput(
        task_id=task.task_id, request_id="dup-1", actor=SUPERVISOR, outcome="reject", comment="no budget"
    )
    await handle.execute_update("decide", first, id=first.request_id)
    # The same request again (a client retry) is deduplicated: same answer, no second effect.
    again = await handle.execute_update("decide", first, id=first.request_id)
    assert again["outcome"] == "reject"
    assert (await handle.result()).outcome == "reject"
    # A second decision after the approval closed cannot reach the finished workflow (the API answers 409).
    other = DecisionInput(
        task_id=task.task_id,
        request_id="dup-2",
        actor=Actor(username="supervisor2", roles=(Role.SUPERVISOR,)),
        outcome="approve",
    )
    with pytest.raises(RPCError):
        await handle.execute_update("decide", other, id=other.request_id)
    history = await handle.fetch_history()
    accepted = [e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert len(accepted) == 1


async def test_ladder_reminds_then_escalates_at_business_thresholds(env, worker, task_queue, sync_session):
    """A 4-working-hour approval on a 24/7-free weekday calendar: reminders at 2 h and 3 h, breach at 4 h."""
    handle, task = await start_approval(env, task_queue, budget=Budget(amount=4, unit="hours"))
    opened = task.opened_at
    assert task.due_at == opened + timedelta(hours=4)
    assert list(task.ladder_at) == [
        opened + timedelta(hours=2),
        opened + timedelta(hours=3),
        opened + timedelta(hours=4),
    ]

    def notices():
        with sync_session() as s:
            return s.scalars(
                select(Notification).where(Notification.workflow_id == handle.id).order_by(Notification.id)
            ).all()

    await env.sleep(timedelta(hours=1, minutes=59))
    assert [n.kind for n in notices()] == ["assigned"]
    await env.sleep(timedelta(minutes=2))
    await eventually(lambda: _async(len([n for n in notices() if n.kind == "remind"]) == 1), what="50% reminder")
    await env.sleep(timedelta(hours=2))
    await eventually(lambda: _async(any(n.kind == "escalate" for n in notices())), what="escalation")
    kinds = [(n.kind, n.recipient_role) for n in notices()]
    assert ("remind", "supervisor") in kinds and ("escalate", "supervisor") in kinds
    with sync_session() as s:
        row = s.get(TaskRow, task.task_id)
        assert row.escalation_level == 1 and row.status == "open"
        breach = s.scalars(select(SlaBreach).where(SlaBreach.task_id == task.task_id)).one()
        assert breach.due_at == task.due_at
        escalation = s.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == task.task_id, AuditEntry.action == "task.escalate")
        ).one()
        assert escalation.actor == "system"
    await handle.terminate("test done")


async def _async(value):
    return value


OFFICE = BusinessCalendar(
    name="kx-test-office-hours",
    timezone="Asia/Shanghai",
    working_hours=(WorkingPeriod(start=time(9), end=time(18)),),
)


async def test_ladder_follows_business_hours_across_a_weekend(env, worker, task_queue, sync_session):
    """8 working hours opened Friday 16:00: reminders Monday 11:00 and 13:00, breach and escalation Monday 15:00."""
    with sync_session() as s:
        if s.scalars(select(CalendarVersion).where(CalendarVersion.name == OFFICE.name)).first() is None:
            s.add(CalendarVersion(name=OFFICE.name, version=1, spec=OFFICE.model_dump(mode="json"), created_by="test"))
            s.commit()
    friday = next_weekday_at(await env.get_current_time(), 4, 16)
    # Keep clear of public holidays: this calendar has none, so any Friday works.
    await skip_to(env, friday)
    workflow_id = f"approval-biz-{uuid.uuid4().hex[:8]}"
    handle = await env.client.start_workflow(
        "Approval",
        ApprovalInput(
            subject="Office-hours approval",
            reason="test",
            requested_by=AGENT,
            request_id=workflow_id,
            budget=Budget(amount=8, unit="working_hours"),
            policy=PolicyRef(calendar=OFFICE.name),
        ),
        id=workflow_id,
        task_queue=task_queue,
    )
    task = await eventually(lambda: _first_task(handle), what="task opened")
    monday = friday + timedelta(days=3)
    drift = task.opened_at - friday  # the start lands a few milliseconds after Friday 16:00
    assert timedelta(0) <= drift < timedelta(seconds=5)
    expected = [monday.replace(hour=11), monday.replace(hour=13), monday.replace(hour=15)]
    assert [at - drift for at in task.ladder_at] == expected
    assert task.due_at - drift == monday.replace(hour=15)

    def kinds() -> list[str]:
        with sync_session() as s:
            rows = s.scalars(
                select(Notification).where(
                    Notification.workflow_id == workflow_id,
                    Notification.recipient_role.is_(None) | (Notification.recipient_role == "supervisor"),
                )
            ).all()
            return sorted({n.kind for n in rows})

    await skip_to(env, monday.replace(hour=10, minute=59))
    assert kinds() == ["assigned"]
    await skip_to(env, monday.replace(hour=11, minute=1))
    await eventually(lambda: _async("remind" in kinds()), what="reminder at 50 % of business time")
    assert "escalate" not in kinds()
    await skip_to(env, monday.replace(hour=15, minute=1))
    await eventually(lambda: _async("escalate" in kinds()), what="escalation at the breach")
    await handle.terminate("test done")


async def _first_task(handle) -> HumanTask | None:
    tasks = await handle.query("tasks", result_type=list[HumanTask])
    return tasks[0] if tasks else None


async def test_breach_can_reassign_to_the_next_level(env, worker, task_queue, sync_session):
    """A policy whose ladder reassigns at the breach: the task moves to the admin role and loses its claim."""
    policy = default_sla_policy().model_dump(mode="json") | {
        "name": "kx-test-reassign",
        "version": 1,
        "ladder": [{"percent": 100, "action": "escalate", "notify_roles": ["admin"], "reassign_to_role": "admin"}],
    }
    with sync_session() as s:
        if s.scalars(select(SlaPolicyVersion).where(SlaPolicyVersion.name == "kx-test-reassign")).first() is None:
            s.add(SlaPolicyVersion(name="kx-test-reassign", version=1, spec=policy, created_by="test"))
            s.commit()
    workflow_id = f"approval-reassign-{uuid.uuid4().hex[:8]}"
    handle = await env.client.start_workflow(
        "Approval",
        ApprovalInput(
            subject="Reassigned at breach",
            reason="test",
            requested_by=AGENT,
            request_id=workflow_id,
            budget=Budget(amount=1, unit="hours"),
            policy=PolicyRef(policy="kx-test-reassign"),
        ),
        id=workflow_id,
        task_queue=task_queue,
        result_type=ApprovalResult,
    )
    task = await eventually(lambda: _first_task(handle), what="task opened")
    claim = ClaimInput(task_id=task.task_id, request_id=f"c-{workflow_id}", actor=SUPERVISOR)
    await handle.execute_update("claim", claim, id=claim.request_id)
    await env.sleep(timedelta(hours=1, minutes=1))

    async def reassigned() -> HumanTask | None:
        current = await _first_task(handle)
        return current if current.escalation_level == 1 else None

    moved = await eventually(reassigned, what="escalation with reassignment")
    assert moved.candidates.roles == (Role.ADMIN,) and moved.claimed_by is None
    # The supervisor no longer may decide; an admin may.
    late = DecisionInput(task_id=task.task_id, request_id=f"d1-{workflow_id}", actor=SUPERVISOR, outcome="approve")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("decide", late, id=late.request_id)
    admin = DecisionInput(
        task_id=task.task_id,
        request_id=f"d2-{workflow_id}",
        actor=Actor(username="admin", roles=(Role.ADMIN,)),
        outcome="approve",
    )
    await handle.execute_update("decide", admin, id=admin.request_id)
    assert (await handle.result()).decided_by == "admin"
    with sync_session() as s:
        row = s.get(TaskRow, task.task_id)
        assert row.candidate_roles == ["admin"] and row.decided_by == "admin"
