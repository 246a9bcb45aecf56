"""ProvisioningOrder on the time-skipping server: routing, step deadlines and alerts, review loop, four-eyes, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from core.calendar import default_cn_calendar
from core.provisioning import CancelOrder, OrderStatus, ReviewOrder
from core.reservations import ReservationStatus
from core.roles import Actor, Role
from db.models import CircuitLedgerRow, OrderDocument, Reservation, ServiceOrderRow, SlaBreach
from tests.provisioning.flow import COORDINATOR, OPS, OrderFlow, spec
from tests.support import eventually, finished, rid, skip_to


async def test_cross_and_intra_province_orders_get_different_dispatchers_and_plans(env, worker, task_queue):
    now = await env.get_current_time()
    cross = await OrderFlow.start(env, task_queue, spec(now, cross=True, needs_construction=True))
    intra = await OrderFlow.start(env, task_queue, spec(now, needs_procurement=True))
    cross_dispatch, intra_dispatch = await cross.task("dispatch"), await intra.task("dispatch")
    assert cross_dispatch.candidates.department == "hq-operations" and not cross_dispatch.candidates.roles
    assert intra_dispatch.candidates.roles == (Role.COORDINATOR,) and intra_dispatch.candidates.department is None
    cross_order, intra_order = await cross.order(), await intra.order()
    assert [s.step for s in cross_order.steps] == [
        "dispatch",
        "construction",
        "trunk_configuration",
        "data_configuration",
        "activation",
        "testing",
        "completion_order",
        "review",
    ]
    assert [s.step for s in intra_order.steps] == [
        "dispatch",
        "procurement",
        "data_configuration",
        "activation",
        "testing",
        "completion_order",
        "review",
    ]
    assert (cross_order.scope, intra_order.scope) == ("cross_province", "intra_province")
    # The requested completion date is shared out in order; the last step (review) ends on it.
    for order in (cross_order, intra_order):
        dues = [s.due_at for s in order.steps]
        assert dues == sorted(dues) and dues[-1] == order.spec.requested_completion
        assert all(s.planned_start < s.planned_due for s in order.steps)
    assert cross_dispatch.due_at == cross_order.steps[0].due_at
    # The wrong dispatcher is refused: the provincial coordinator may not dispatch a cross-province order.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await cross.complete("dispatch", COORDINATOR)
    assert refused.value.cause.type == "forbidden" and "hq-operations" in refused.value.cause.message
    await cross.complete("dispatch")
    assert (await cross.order()).status == OrderStatus.IN_PROGRESS
    assert (await cross.task("construction")).candidates.department == "construction"
    await cross.finish()
    await intra.finish()


async def test_warning_threshold_raises_a_jeopardy_alert_and_the_breach_escalates(
    env, worker, task_queue, sync_session
):
    flow = await OrderFlow.start(env, task_queue, spec(await env.get_current_time()))
    task = await flow.task("dispatch")
    warning_at, breach_at = task.ladder_at[1], task.ladder_at[2]
    assert breach_at == task.due_at
    await skip_to(env, warning_at - timedelta(minutes=1))
    assert (await flow.order()).jeopardy_alerts == []

    async def alerts(count: int):
        order = await flow.order()
        return order if len(order.jeopardy_alerts) >= count else None

    await skip_to(env, warning_at + timedelta(minutes=1))
    order = await eventually(lambda: alerts(1), what="jeopardy alert at the warning threshold")
    alert = order.jeopardy_alerts[0]
    assert (alert.jeopardy_type, alert.step) == ("warning", "dispatch") and order.steps[0].jeopardy
    await skip_to(env, breach_at + timedelta(minutes=1))
    order = await eventually(lambda: alerts(2), what="breach alert")
    assert order.jeopardy_alerts[1].jeopardy_type == "breach" and order.steps[0].breached
    escalated = (await flow.tasks("dispatch"))[0]
    assert escalated.escalation_level == 1
    with sync_session() as s:
        breach = s.scalars(select(SlaBreach).where(SlaBreach.workflow_id == flow.handle.id)).one()
        assert breach.kind == "dispatch" and breach.due_at == task.due_at
    # Late work is still accepted, and counted late.
    await flow.complete("dispatch")
    assert (await flow.order()).steps[0].on_time is False
    await flow.finish()


async def test_review_return_reopens_the_step_with_a_new_deadline_and_counts_the_rework(
    env, worker, task_queue, sync_session
):
    flow = await OrderFlow.start(env, task_queue, spec(await env.get_current_time()))
    await flow.run_steps()
    first = await flow.order()
    testing = first.step("testing")
    assert testing.done_by == "ops1" and first.status == OrderStatus.IN_REVIEW
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.review("return", return_to="testing")
    assert refused.value.cause.type == "invalid" and "reason" in refused.value.cause.message
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.review("return", return_to="nowhere", reason="x")
    assert "return_to" in refused.value.cause.message
    await env.sleep(timedelta(days=1))
    await flow.review("return", return_to="testing", reason="丢包率超标，重测")
    reopened = await flow.task("testing")
    order = await flow.order()
    step = order.step("testing")
    assert step.rework == 1 and step.done_at is None and order.status == OrderStatus.IN_PROGRESS
    # A new deadline: the step's planned business-time budget again, counted from the return.
    calendar = default_cn_calendar()
    budget = calendar.working_seconds_between(step.planned_start, step.planned_due)
    assert reopened.due_at == step.due_at != testing.due_at and reopened.opened_at > testing.done_at
    assert abs(calendar.working_seconds_between(reopened.opened_at, step.due_at) - budget) < 5
    assert order.step("review").due_at > step.due_at
    assert order.redo == ["completion_order"]  # the completion order carries the test report: redone too
    await flow.complete("testing")
    await flow.complete("completion_order")
    await flow.review("approve")
    outcome = await finished(env, flow.handle)
    assert outcome.status == OrderStatus.COMPLETED
    order = await flow.order()
    assert order.step("testing").rework == 1 and [r.outcome for r in order.reviews] == ["return", "approve"]
    assert order.step("completion_order").rework == 1 and order.step("activation").rework == 0
    assert order.circuit_id and order.on_time is True and order.cycle_seconds > 0
    assert [m.name for m in order.milestones][-2:] == ["reviewApproved", "completionReported"]
    with sync_session() as s:
        ledger = s.scalars(select(CircuitLedgerRow).where(CircuitLedgerRow.order_id == order.order_id)).one()
        assert ledger.status == "active" and ledger.on_time is True and ledger.bandwidth == "100M"
        assert {d["kind"] for d in ledger.documents} == {"completion_order", "test_report"}
        assert next(st for st in ledger.steps if st["step"] == "testing")["rework"] == 1
        docs = s.scalars(select(OrderDocument).where(OrderDocument.order_id == order.order_id)).all()
        assert {(d.step, d.kind) for d in docs} == {
            ("completion_order", "completion_order"),
            ("completion_order", "test_report"),
        }


async def test_the_doer_of_a_step_cannot_review_it(env, worker, task_queue):
    flow = await OrderFlow.start(env, task_queue, spec(await env.get_current_time()))
    both = Actor(username="ops-reviewer", roles=(Role.DEPARTMENT, Role.REVIEWER), department="operations")
    await flow.complete("dispatch")
    await flow.complete("data_configuration", both)
    await flow.run_steps()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.review("approve", actor=both)
    assert refused.value.cause.type == "forbidden" and "four-eyes" in refused.value.cause.message
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.review("approve", actor=OPS)
    assert refused.value.cause.type == "forbidden"
    assert (await flow.order()).reviews == []
    await flow.review("approve")
    assert (await finished(env, flow.handle)).status == OrderStatus.COMPLETED


async def test_cancel_mid_way_releases_the_reservation_and_closes_the_open_tasks(env, worker, task_queue, sync_session):
    reservation_id = f"RSV-{rid()}"
    with sync_session() as s:
        s.add(
            Reservation(
                reservation_id=reservation_id,
                check_id="RC-test",
                item_id="1",
                status="held",
                expires_at=datetime.now(UTC) + timedelta(days=365),
            )
        )
        s.commit()
    flow = await OrderFlow.start(env, task_queue, spec(await env.get_current_time(), reservation_id=reservation_id))
    await flow.complete("dispatch")
    open_task = await flow.task("data_configuration")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.act(CancelOrder(request_id=rid(), actor=OPS, cancel_id="CX-1", reason="客户撤单"))
    assert refused.value.cause.type == "forbidden"
    await flow.act(CancelOrder(request_id=rid(), actor=COORDINATOR, cancel_id=f"CX-{rid()[:8]}", reason="客户撤单"))
    outcome = await finished(env, flow.handle)
    assert outcome.status == OrderStatus.CANCELLED
    order = await flow.order()
    assert [h[1] for h in order.status_history][-3:] == ["assessing_cancellation", "pending_cancellation", "cancelled"]
    assert order.cancel.state == "done" and order.cancel.effective_at is not None
    assert (await flow.tasks()) == []
    closed = next(t for t in await flow.tasks(open_only=False) if t.task_id == open_task.task_id)
    assert closed.status == "cancelled"
    with sync_session() as s:
        assert s.get(Reservation, reservation_id).status == ReservationStatus.RELEASED
        ledger = s.scalars(select(CircuitLedgerRow).where(CircuitLedgerRow.order_id == order.order_id)).one()
        assert ledger.status == "cancelled" and ledger.cancel_reason == "客户撤单"
        row = s.get(ServiceOrderRow, order.order_id)
        assert (row.tmf_state, row.status) == ("cancelled", "cancelled")
    # Nothing can be done to a cancelled order: the closed workflow or its validator refuses.
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await flow.act(
            ReviewOrder(request_id=rid(), actor=Actor(username="reviewer1", roles=(Role.REVIEWER,)), outcome="approve")
        )
