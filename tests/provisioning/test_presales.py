"""PreSalesDemand on the time-skipping server: a "no" ends it cleanly; a "yes" starts check and order as children."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError

from core.presales import DemandStatus
from core.provisioning import OrderStatus, ProvisioningOrder, workflow_id_for
from core.resource_checks import AcceptResult
from core.resource_checks import workflow_id_for as check_workflow_id
from core.roles import Role
from tests.provisioning.presales_flow import COORDINATOR, COORDINATOR2, PRESALES, DemandFlow
from tests.resource_checks.flow import REQUESTER, STAFF, CheckFlow
from tests.support import eventually, finished, idle, rid


async def test_a_no_at_product_fit_ends_the_demand_with_its_reason(env, worker, task_queue):
    flow = await DemandFlow.start(env, task_queue)
    await flow.refine()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.decide("product_fit", PRESALES, "no_fit")
    assert "comment" in refused.value.cause.message
    await flow.decide("product_fit", PRESALES, "no_fit", "现有产品不支持该带宽")
    outcome = await finished(env, flow.handle)
    assert (outcome.status, outcome.order_id) == ("ended", None) and "现有产品不支持该带宽" in outcome.reason
    demand = await flow.demand()
    assert (
        demand.status == DemandStatus.ENDED and demand.check_id is None and demand.end_reason.startswith("product_fit")
    )
    assert [(s.stage, s.outcome, s.by) for s in demand.stages] == [
        ("refine", "refined", "coordinator1"),
        ("product_fit", "no_fit", "presales1"),
    ]
    with pytest.raises(RPCError):  # no resource check was started
        await env.client.get_workflow_handle(check_workflow_id(f"RC-{demand.demand_id}")).describe()


async def test_a_yes_starts_the_check_and_then_the_order_as_children(env, worker, task_queue):
    flow = await DemandFlow.start(env, task_queue, complex=True)
    await flow.refine(bandwidth="200M")
    await flow.decide("product_fit", PRESALES, "fit")
    demand = await eventually(lambda: _status(flow, DemandStatus.RESOURCE_CHECK), what="resource check started")
    check = CheckFlow(env, env.client.get_workflow_handle(check_workflow_id(demand.check_id)), demand.check_id)
    await check.wait(
        lambda c: c.status == "consulting" and all(line.task_id for line in c.round.lines), "departments asked"
    )
    assert (await check.check()).request.external_id == demand.demand_id
    await check.answer("1", "operations", resources={"olt_port": "OLT-3/1/4"}, new_construction=False)
    state = await check.wait(lambda c: c.status == "awaiting_requester", "check result reported")
    reservation_id = state.round.reservations[0].reservation_id
    await check.act(AcceptResult(request_id=rid(), actor=REQUESTER))
    await eventually(lambda: _status(flow, DemandStatus.SOLUTION), what="solution stage")
    await flow.decide("solution", COORDINATOR, "proposed", "MPLS-VPN 100M, 南京 PE1 — 苏州 PE3")
    # Complex: every department the check consulted reviews it, never the solution's author.
    review = await flow.task("joint_review")
    assert review.candidates.department == "operations" and review.requested_by == "coordinator1"
    await flow.decide("joint_review", STAFF["operations"], "approve")
    await flow.decide("contract", REQUESTER, "signed", "合同 HT-2026-001")
    outcome = await finished(env, flow.handle)
    assert outcome.status == "ordered" and outcome.order_id
    order_handle = env.client.get_workflow_handle(workflow_id_for(outcome.order_id))
    order = await eventually(lambda: _order(order_handle), what="provisioning order started")
    assert order.spec.reservation_id == reservation_id and order.spec.resource_check_id == demand.check_id
    assert order.status == OrderStatus.ACKNOWLEDGED and order.current == "dispatch"
    assert order.spec.bandwidth == "200M"  # as the coordinator refined it
    demand = await flow.demand()
    assert demand.raised.bandwidth == "100M" and demand.request.bandwidth == "200M"
    assert [s.stage for s in demand.stages] == [
        "refine",
        "product_fit",
        "resource_check",
        "solution",
        "joint_review",
        "contract",
        "order",
    ]
    await eventually(lambda: idle(order_handle), what="order idle")
    await order_handle.terminate("test done")
    await check.finish()


async def test_a_rejected_joint_review_ends_the_demand(env, worker, task_queue):
    flow = await DemandFlow.start(env, task_queue, complex=True)
    await flow.refine()
    await flow.decide("product_fit", PRESALES, "fit")
    demand = await eventually(lambda: _status(flow, DemandStatus.RESOURCE_CHECK), what="resource check started")
    check = CheckFlow(env, env.client.get_workflow_handle(check_workflow_id(demand.check_id)), demand.check_id)
    await check.wait(
        lambda c: c.status == "consulting" and all(line.task_id for line in c.round.lines), "departments asked"
    )
    await check.answer("1", "operations")
    await check.wait(lambda c: c.status == "awaiting_requester", "check result reported")
    await check.act(AcceptResult(request_id=rid(), actor=REQUESTER))
    await flow.decide("solution", COORDINATOR2, "proposed", "方案 A")
    await flow.decide("joint_review", STAFF["operations"], "reject", "机房无空余机架")
    outcome = await finished(env, flow.handle)
    assert outcome.status == "ended" and "机房无空余机架" in outcome.reason
    assert [s.stage for s in (await flow.demand()).stages][-1] == "joint_review"
    if (await check.handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        await check.finish()


async def test_the_coordinator_refines_or_turns_down_a_raised_demand(env, worker, task_queue):
    flow = await DemandFlow.start(env, task_queue)
    assert (await flow.demand()).status == DemandStatus.REFINING
    task = await flow.task("refine")
    assert task.candidates.roles == (Role.COORDINATOR,) and task.outcomes == ("refined", "rejected")
    for bad, message in (
        ({"bandwidth": ""}, "data.bandwidth"),
        ({"colour": "red"}, "data.colour"),
        ({"requested_completion": "2020-01-01T00:00:00+08:00"}, "data.requested_completion"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await flow.decide("refine", COORDINATOR, "refined", **bad)
        assert message in refused.value.cause.message
    with pytest.raises(WorkflowUpdateFailedError):  # department staff do not refine
        await flow.decide("refine", REQUESTER, "refined")
    await flow.decide("refine", COORDINATOR, "rejected", "客户已另行采购")
    outcome = await finished(env, flow.handle)
    assert outcome.status == "ended" and outcome.reason == "refine: 客户已另行采购"


async def test_a_demand_the_center_raises_goes_straight_to_product_fit(env, worker, task_queue):
    flow = await DemandFlow.start(env, task_queue, created_by=COORDINATOR)
    task = await flow.task("product_fit")
    assert task.kind == "product_fit" and (await flow.demand()).raised is None
    await flow.decide("product_fit", PRESALES, "no_fit", "无匹配产品")
    assert (await finished(env, flow.handle)).status == "ended"
    assert [s.stage for s in (await flow.demand()).stages] == ["product_fit"]


async def _status(flow: DemandFlow, status: DemandStatus):
    try:
        demand = await flow.demand()
    except Exception:
        return None
    return demand if demand.status == status else None


async def _order(handle) -> ProvisioningOrder | None:
    try:
        order = await handle.query("order", result_type=ProvisioningOrder)
    except Exception:
        return None
    return order if order.steps and order.current == "dispatch" and order.steps[0].task_id else None
