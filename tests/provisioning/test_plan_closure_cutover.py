"""Orders that follow their checks, service closure, returns that redo what depends on the returned step, and
cut-over notices, on the time-skipping server (the API where the order is created)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from core.calendar import default_cn_calendar
from core.provisioning import CancelOrder, CompleteStep, Cutover, OrderStatus, workflow_id_for
from core.reservations import ReservationStatus
from core.resource_checks import AcceptResult, Qualification
from core.roles import Actor, Role
from db.models import CircuitLedgerRow, Notification, Reservation, ResourceCheckRow
from tests.provisioning.flow import OrderFlow, document, spec
from tests.provisioning.test_api import PO, SO, complete, open_task, order_body
from tests.resource_checks.flow import REQUESTER, CheckFlow
from tests.support import assert_tmf_error, eventually, finished, rid, skip_to

GCD = Actor(username="gcd1", roles=(Role.DEPARTMENT,), department="group-customer")
LEDGER = "/api/circuit-ledger"


async def _now(env) -> datetime:
    """The later of the real clock and the test server's (earlier tests may have moved it ahead)."""
    return max(datetime.now(UTC), await env.get_current_time())


async def test_a_check_answered_new_construction_plans_the_construction_step(
    env, worker, http, login, sync_session, task_queue
):
    coordinator = await login("coordinator1")
    check = await CheckFlow.start(env, task_queue)
    await check.answer(
        "1",
        "operations",
        Qualification.QUALIFIED,
        new_construction=True,
        construction="新建光缆 2 km",
        construction_days=10,
    )
    await check.review("operations")
    await check.wait(lambda c: c.status == "awaiting_requester", "check result reported")
    await check.act(AcceptResult(request_id=rid(), actor=REQUESTER))

    def accepted():
        with sync_session() as s:
            row = s.get(ResourceCheckRow, check.check_id)
            return row if row is not None and row.status == "accepted" else None

    await eventually(lambda: _sync(accepted), what="accepted check in the read model")

    # Without any flag the check's answer plans the construction step.
    created = await http.post(
        SO, json=await _for_check_customer(env, resourceCheckId=check.check_id), headers=coordinator
    )
    order = await _planned(http, coordinator, created)
    steps = [s["step"] for s in order["steps"]]
    assert "construction" in steps and "procurement" not in steps
    assert order["resourceCheck"]["construction"] is True and order["resourceCheck"]["askedBy"] == ["operations"]
    assert order["resourceCheck"]["result"] == "feasible_after_construction" and order["resourceCheck"]["readyBy"]
    assert "construction (from the check)" in order["planBasis"] and check.check_id in order["planBasis"]
    # A flag may add a step the check did not ask for ...
    added = await http.post(
        SO,
        json=await _for_check_customer(env, resourceCheckId=check.check_id, needsProcurement=True),
        headers=coordinator,
    )
    assert "procurement (added by the order)" in added.json()["planBasis"]
    assert [s["step"] for s in (await _planned(http, coordinator, added))["steps"]][1:3] == [
        "procurement",
        "construction",
    ]
    # ... but never drop one it asked for.
    dropped = await http.post(
        SO,
        json=await _for_check_customer(env, resourceCheckId=check.check_id, needsConstruction=False),
        headers=coordinator,
    )
    assert_tmf_error(dropped, 400, "needsConstruction", check.check_id)
    unknown = await http.post(SO, json=await _for_check_customer(env, resourceCheckId="RC-NOPE"), headers=coordinator)
    assert_tmf_error(unknown, 400, "resourceCheckId", "RC-NOPE")
    # An order without a check says so.
    plain = await http.post(SO, json=order_body(now=await _now(env)), headers=coordinator)
    assert plain.status_code == 201 and plain.json()["planBasis"].startswith("no resource check")
    await check.finish()


async def _for_check_customer(env, **characteristics) -> dict:
    """A TMF641 create for the customer the test checks are for (an order follows only its customer's check)."""
    return order_body(now=await _now(env), **characteristics) | {"customerId": "C-2001"}


async def _sync(probe):
    return probe()


async def _planned(http, headers, created) -> dict:
    """The order once its workflow planned the steps (the create answers before)."""
    assert created.status_code == 201, created.text

    async def probe():
        order = (await http.get(f"{SO}/{created.json()['id']}", headers=headers)).json()
        return order if order["steps"] else None

    return await eventually(probe, what="planned steps")


async def test_a_closure_order_closes_the_circuits_ledger_row_and_releases_its_reservation(
    env, worker, http, login, sync_session, task_queue
):
    reservation_id = f"RSV-{rid()}"
    with sync_session() as s:
        s.add(
            Reservation(
                reservation_id=reservation_id,
                check_id="RC-closure",
                item_id="1",
                status="held",
                expires_at=datetime.now(UTC) + timedelta(days=365),
            )
        )
        s.commit()
    built = await OrderFlow.start(env, task_queue, spec(await _now(env), reservation_id=reservation_id))
    await built.run_steps()
    await built.review("approve")
    await finished(env, built.handle)
    circuit_id = (await built.order()).circuit_id
    coordinator = await login("coordinator1")

    due = (await _now(env) + timedelta(days=10)).isoformat()
    unknown = await http.post(f"{LEDGER}/CIR-NOPE/closure", json={"requested_completion": due}, headers=coordinator)
    assert unknown.status_code == 400 and "CIR-NOPE" in unknown.json()["detail"]
    tmf_unknown = await http.post(
        SO,
        json={
            "requestedCompletionDate": due,
            "serviceOrderItem": [{"id": "1", "action": "delete", "service": {"id": "CIR-NOPE"}}],
        },
        headers=coordinator,
    )
    assert_tmf_error(tmf_unknown, 400, "serviceOrderItem.service.id", "CIR-NOPE")
    key = rid()
    keyed = {**coordinator, "Idempotency-Key": key}
    created = await http.post(f"{LEDGER}/{circuit_id}/closure", json={"requested_completion": due}, headers=keyed)
    closure = await _planned(http, coordinator, created)
    retried = await http.post(f"{LEDGER}/{circuit_id}/closure", json={"requested_completion": due}, headers=keyed)
    assert retried.status_code == 201 and retried.json()["id"] == closure["id"]  # a retry starts nothing new
    assert closure["serviceOrderItem"][0]["action"] == "delete"
    assert closure["serviceOrderItem"][0]["service"]["id"] == circuit_id
    assert [s["step"] for s in closure["steps"]] == [
        "dispatch",
        "data_removal",
        "resource_recovery",
        "billing_stop_notice",
        "completion",
        "review",
    ]
    again = await http.post(f"{LEDGER}/{circuit_id}/closure", json={"requested_completion": due}, headers=coordinator)
    assert again.status_code == 409 and closure["id"] in again.json()["detail"]

    flow = OrderFlow(env, env.client.get_workflow_handle(workflow_id_for(closure["id"])))
    await flow.complete("dispatch")
    await flow.complete("data_removal")
    await flow.complete("resource_recovery")
    task = await flow.task("billing_stop_notice")
    assert task.candidates.department == "group-customer" and task.due_at is not None
    await flow.complete("billing_stop_notice", GCD)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.complete("completion", documents=(document("test_report"),))
    assert "completion_order" in refused.value.cause.message
    await flow.complete("completion", documents=(document("completion_order"),))
    await flow.review("approve")
    assert (await finished(env, flow.handle))["status"] == OrderStatus.COMPLETED
    with sync_session() as s:
        row = s.get(CircuitLedgerRow, circuit_id)
        assert row.status == "closed" and row.closure_order_id == closure["id"] and row.closed_at is not None
        assert row.order_id == built.handle.id.removeprefix("provisioning-")  # the row is kept, not replaced
        assert s.get(Reservation, reservation_id).status == ReservationStatus.RELEASED
        assert s.scalars(select(CircuitLedgerRow).where(CircuitLedgerRow.order_id == closure["id"])).all() == []
    listed = await http.get(LEDGER, params={"status": "closed", "order_id": row.order_id}, headers=coordinator)
    assert [r["circuit_id"] for r in listed.json()] == [circuit_id]
    closed_again = await http.post(
        f"{LEDGER}/{circuit_id}/closure", json={"requested_completion": due}, headers=coordinator
    )
    assert closed_again.status_code == 409 and "closed" in closed_again.json()["detail"]


async def test_a_return_to_data_configuration_reopens_activation_and_testing_too(env, worker, task_queue):
    flow = await OrderFlow.start(env, task_queue, spec(await env.get_current_time()))
    await flow.run_steps()
    first = await flow.order()
    assert first.step("data_configuration").dependants == ["activation", "testing", "completion_order"]
    await env.sleep(timedelta(hours=2))
    await flow.review("return", return_to="data_configuration", reason="VLAN 配置错误")
    order = await flow.order()
    assert order.current == "data_configuration" and order.redo == ["activation", "testing", "completion_order"]
    redone = [order.step(n) for n in ("data_configuration", "activation", "testing", "completion_order")]
    assert all(s.rework == 1 and s.done_at is None for s in redone)
    assert order.step("dispatch").rework == 0 and order.step("dispatch").done_at is not None
    # Fresh deadlines, one after the other: each step's planned business-time budget again, from the return on.
    calendar, begin = default_cn_calendar(), order.reviews[-1].at
    for step in redone:
        budget = calendar.working_seconds_between(step.planned_start, step.planned_due)
        assert abs(calendar.working_seconds_between(begin, step.due_at) - budget) < 1
        assert step.due_at != first.step(step.step).due_at
        begin = step.due_at
    dues = [s.due_at for s in redone]
    assert order.step("review").due_at > dues[-1]
    for step in ("data_configuration", "activation", "testing"):
        task = await flow.task(step)
        assert task.due_at == (await flow.order()).step(step).due_at
        await flow.complete(step)
    await flow.complete("completion_order")
    await flow.review("approve")
    assert (await finished(env, flow.handle)).status == OrderStatus.COMPLETED
    done = await flow.order()
    assert {s.step: s.rework for s in done.steps} == {
        "dispatch": 0,
        "data_configuration": 1,
        "activation": 1,
        "testing": 1,
        "completion_order": 1,
        "review": 0,
    }


async def test_a_cutover_is_announced_and_cannot_start_before_the_notice_period(env, worker, task_queue, sync_session):
    now = await env.get_current_time()
    window = Cutover(step="activation", window_start=now + timedelta(hours=1), window_end=now + timedelta(hours=5))
    flow = await OrderFlow.start(env, task_queue, spec(now, days=30, cutover=window))
    order = await flow.order()
    cutover = order.cutover
    assert cutover is not None and cutover.step == "activation" and cutover.notice_period == "2 working days"
    assert cutover.earliest_start > cutover.notified_at + timedelta(days=1)
    assert [n.audience for n in cutover.notices] == ["customer_manager", "customer_contacts"]
    with sync_session() as s:
        notices = s.scalars(
            select(Notification).where(Notification.workflow_id == flow.handle.id, Notification.kind.like("cutover%"))
        ).all()
        assert {n.kind for n in notices} == {"cutover_notice", "cutover_notice_customer"}
        assert all("C-2001" in n.message and window.window_start.isoformat() in n.message for n in notices)
    await flow.complete("dispatch")
    await flow.complete("data_configuration")
    await eventually(lambda: _current(flow, "activation"), what="activation in progress")
    ops = Actor(username="ops1", roles=(Role.DEPARTMENT,), department="operations")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await flow.act(CompleteStep(request_id=rid(), actor=ops, step="activation"))
    assert refused.value.cause.type == "conflict" and "notice period" in refused.value.cause.message
    assert (await flow.tasks("activation")) == []  # the step's task opens only once the notice period is over
    await skip_to(env, cutover.earliest_start + timedelta(minutes=1))
    await flow.complete("activation")
    order = await flow.order()
    assert order.cutover.started_at >= cutover.earliest_start and order.step("activation").done_at is not None


async def _current(flow: OrderFlow, step: str):
    order = await flow.order()
    return order if order.current == step else None


async def test_a_cutover_is_ordered_over_tmf641_and_its_step_must_be_planned(env, worker, http, login):
    coordinator, now = await login("coordinator1"), await _now(env)
    window = {
        "windowStart": (now + timedelta(days=7)).isoformat(),
        "windowEnd": (now + timedelta(days=7, hours=4)).isoformat(),
    }
    nowhere = await http.post(SO, json=order_body(now=now, cutover={"step": "nowhere", **window}), headers=coordinator)
    assert_tmf_error(nowhere, 400, "cutover.step", "activation")
    backwards = {"step": "activation", "windowStart": window["windowEnd"], "windowEnd": window["windowStart"]}
    assert_tmf_error(
        await http.post(SO, json=order_body(now=now, cutover=backwards), headers=coordinator), 400, "windowEnd"
    )
    created = await http.post(
        SO, json=order_body(now=now, cutover={"step": "activation", **window}), headers=coordinator
    )
    order = await _planned(http, coordinator, created)
    characteristic = next(
        c for c in order["serviceOrderItem"][0]["service"]["serviceCharacteristic"] if c["name"] == "cutover"
    )
    assert characteristic["value"]["step"] == "activation" and "windowStart" in characteristic["value"]

    async def announced():
        body = (await http.get(f"{SO}/{order['id']}", headers=coordinator)).json()
        return body["cutover"]

    cutover = await eventually(announced, what="cut-over announced")
    assert cutover["step"] == "activation" and [n["audience"] for n in cutover["notices"]] == [
        "customer_manager",
        "customer_contacts",
    ]
    assert cutover["earliestStart"] >= cutover["windowStart"]


async def test_a_cancelled_closure_leaves_the_circuit_active(env, worker, sync_session, task_queue):
    built = await OrderFlow.start(env, task_queue, spec(await env.get_current_time()))
    await built.run_steps()
    await built.review("approve")
    await finished(env, built.handle)
    circuit_id = (await built.order()).circuit_id
    flow = await OrderFlow.start(
        env, task_queue, spec(await env.get_current_time(), action="delete", circuit_id=circuit_id)
    )
    await flow.complete("dispatch")
    coordinator = Actor(username="coordinator1", roles=(Role.COORDINATOR,))
    await flow.act(CancelOrder(request_id=rid(), actor=coordinator, cancel_id=f"CX-{rid()[:8]}", reason="客户续约"))
    assert (await finished(env, flow.handle)).status == OrderStatus.CANCELLED
    with sync_session() as s:
        row = s.get(CircuitLedgerRow, circuit_id)
        assert row.status == "active" and row.closed_at is None and row.closure_order_id is None
        assert (
            s.scalars(
                select(CircuitLedgerRow).where(
                    CircuitLedgerRow.order_id == flow.handle.id.removeprefix("provisioning-")
                )
            ).all()
            == []
        )


async def test_the_coordinator_marks_a_later_step_as_a_cutover_over_the_api(env, worker, http, login, sync_session):
    coordinator, ops = await login("coordinator1"), await login("ops1")
    order = await _planned(
        http, coordinator, await http.post(SO, json=order_body(now=await _now(env)), headers=coordinator)
    )
    order_id = order["id"]
    assert (await complete(http, coordinator, order_id, "dispatch")).status_code == 200
    await open_task(http, ops, order_id, "data_configuration")
    start = await _now(env) + timedelta(days=5)
    window = {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=4)).isoformat()}
    started = await http.post(
        f"{PO}/{order_id}/cutover", json={"step": "data_configuration", **window}, headers=coordinator
    )
    assert started.status_code == 409 and "already started" in started.json()["detail"]
    refused = await http.post(f"{PO}/{order_id}/cutover", json={"step": "activation", **window}, headers=ops)
    assert refused.status_code == 403
    past = {"window_start": "2020-01-01T00:00:00+00:00", "window_end": "2020-01-01T04:00:00+00:00"}
    assert (
        await http.post(f"{PO}/{order_id}/cutover", json={"step": "activation", **past}, headers=coordinator)
    ).status_code == 422
    marked = await http.post(f"{PO}/{order_id}/cutover", json={"step": "activation", **window}, headers=coordinator)
    assert marked.status_code == 200, marked.text
    assert marked.json()["cutover"]["step"] == "activation" and marked.json()["cutover"]["startedAt"] is None
    again = await http.post(f"{PO}/{order_id}/cutover", json={"step": "testing", **window}, headers=coordinator)
    assert again.status_code == 409 and "already announced" in again.json()["detail"]
    with sync_session() as s:
        kinds = s.scalars(
            select(Notification.kind).where(
                Notification.workflow_id == workflow_id_for(order_id), Notification.kind.like("cutover%")
            )
        ).all()
        assert sorted(kinds) == ["cutover_notice", "cutover_notice_customer"]
