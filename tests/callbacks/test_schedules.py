"""Scheduled callbacks (issue 17 item 3): a circuit activated on 2026-01-15 is called back monthly until 2027-01,
then quarterly; results are recorded, needs raise a ticket, refusals change nothing; time is skipped, not waited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.calendar import default_cn_calendar
from core.callbacks import (
    CALLBACK_BUDGET,
    CallbackStatus,
    SubjectType,
    callback_date,
    callback_window,
    check_callback_form,
    first_upcoming,
    workflow_id_for,
)
from core.tasks import TaskRefused
from db.models import CallbackRow, CircuitLedgerRow, ServiceOrderRow, TaskRow, TicketRow
from tests.provisioning.flow import OrderFlow
from tests.provisioning.flow import spec as order_spec
from tests.support import SHANGHAI, audit_rows, eventually, finished, skip_to, unique

ACTIVATED = datetime(2026, 1, 15, 10, 30, tzinfo=SHANGHAI)
EXPECTED_DAYS = [date(2026, month, 15) for month in range(2, 13)] + [
    date(2027, 1, 15),  # the 12th: monthly through the first year
    date(2027, 4, 15),  # then quarterly
    date(2027, 7, 15),
    date(2027, 10, 15),
    date(2028, 1, 15),
]


def test_the_schedule_is_monthly_in_the_first_year_then_quarterly():
    assert [callback_date(ACTIVATED.date(), n) for n in range(1, 17)] == EXPECTED_DAYS
    assert callback_date(date(2026, 1, 31), 1) == date(2026, 2, 28)  # a short month: its last day
    calendar = default_cn_calendar()
    window = callback_window(calendar, ACTIVATED.date(), 10, CALLBACK_BUDGET)  # 2026-11-15 is a Sunday
    assert window.opens_at.astimezone(SHANGHAI).date() == date(2026, 11, 16)
    assert calendar.is_working_day(window.due_at.astimezone(SHANGHAI).date())
    assert calendar.working_seconds_between(window.opens_at, window.due_at) > 0
    later = datetime(2026, 12, 2, tzinfo=UTC)
    assert callback_date(ACTIVATED.date(), first_upcoming(calendar, ACTIVATED.date(), later, CALLBACK_BUDGET)) == (
        date(2026, 12, 15)
    )


def test_the_result_form_fits_its_outcome():
    assert check_callback_form("reached", {"satisfied": True}).needs == ""
    for outcome, data, word in [
        ("reached", {}, "satisfied"),
        ("reached", {"satisfied": True, "mood": "happy"}, "mood"),
        ("unreachable", {"needs": "more bandwidth"}, "unreachable"),
    ]:
        with pytest.raises(TaskRefused) as refused:
            check_callback_form(outcome, data)
        assert word in refused.value.message


def _ledger_circuit(sync_session) -> tuple[str, str]:
    """An activated circuit in the ledger (and its order's row), as an order activated before schedules left it;
    (circuit, customer)."""
    circuit_id, order_id, customer = unique("CIR-CB"), unique("PO"), unique("C")
    with sync_session() as s:
        s.add(
            ServiceOrderRow(
                order_id=order_id,
                workflow_id=f"order-{order_id}",
                status="completed",
                tmf_state="completed",
                circuit_type="mpls_vpn",
                scope="intra_province",
                customer_id=customer,
                bandwidth="100M",
                created_by="coordinator1",
                created_at=ACTIVATED - timedelta(days=20),
                requested_completion=ACTIVATED,
                completed_at=ACTIVATED,
            )
        )
        s.flush()
        s.add(
            CircuitLedgerRow(
                circuit_id=circuit_id,
                order_id=order_id,
                status="active",
                circuit_type="mpls_vpn",
                bandwidth="100M",
                ordered_at=ACTIVATED - timedelta(days=20),
                requested_completion=ACTIVATED,
                completed_at=ACTIVATED,
                on_time=True,
            )
        )
        s.commit()
    return circuit_id, customer


def _callbacks(sync_session, workflow_id: str) -> list[CallbackRow]:
    with sync_session() as s:
        rows = list(
            s.scalars(select(CallbackRow).where(CallbackRow.workflow_id == workflow_id).order_by(CallbackRow.number))
        )
        s.expunge_all()
        return rows


def _task(sync_session, task_id: str) -> TaskRow:
    with sync_session() as s:
        row = s.get(TaskRow, task_id)
        assert row is not None
        s.expunge(row)
        return row


async def test_a_circuit_activated_2026_01_15_is_called_back_monthly_until_2027_01_then_quarterly(
    env, http, login, sync_session
):
    circuit_id, customer = _ledger_circuit(sync_session)
    coordinator, agent = await login("coordinator1"), await login("agent1")
    body = {"subject_type": "circuit", "subject_id": circuit_id}
    refused = await http.post("/api/callbacks", json=body, headers=agent)
    assert refused.status_code == 403, refused.text
    response = await http.post("/api/callbacks", json=body, headers=coordinator)
    assert response.status_code == 201, response.text
    workflow_id = workflow_id_for(SubjectType.CIRCUIT, circuit_id)
    again = await http.post("/api/callbacks", json=body, headers=coordinator)
    assert again.status_code == 409 and "already" in again.text

    first = (await eventually(lambda: _async(_callbacks(sync_session, workflow_id)), what="first callback")).pop()
    calendar = default_cn_calendar()
    assert first.opens_at > await env.get_current_time() - timedelta(days=7)  # the past ones are skipped
    assert first.status == CallbackStatus.SCHEDULED and first.scheduled_for == EXPECTED_DAYS[first.number - 1]

    # The first callback opens on its day: the agent records the result; the customer's need becomes a ticket.
    await skip_to(env, first.opens_at + timedelta(minutes=1))
    opened = await eventually(
        lambda: _async(next((c for c in _callbacks(sync_session, workflow_id) if c.status == "open"), None)),
        what="callback task open",
    )
    task = _task(sync_session, opened.task_id)
    assert task.kind == "callback" and task.due_at == opened.due_at and task.status == "open"
    bad = await http.post(f"/api/tasks/{task.task_id}/decision", json={"outcome": "reached", "data": {}}, headers=agent)
    assert bad.status_code == 422 and "satisfied" in bad.text
    assert _task(sync_session, task.task_id).status == "open"
    decided = await http.post(
        f"/api/tasks/{task.task_id}/decision",
        json={"outcome": "reached", "data": {"satisfied": False, "needs": "希望把带宽升级到 200M"}},
        headers=agent,
    )
    assert decided.status_code == 200, decided.text

    def reached():
        row = next(c for c in _callbacks(sync_session, workflow_id) if c.number == opened.number)
        return row if row.ticket_no else None

    done = await eventually(lambda: _async(reached()), what="result recorded and ticket raised")
    assert done.status == CallbackStatus.REACHED and done.satisfied is False and done.done_by == "agent1"
    with sync_session() as s:
        ticket = s.get(TicketRow, done.ticket_no)
        assert ticket is not None and ticket.created_by == "agent1"
    assert [r.action for r in audit_rows(sync_session, workflow_id=workflow_id)][:1] == ["callbacks.start"]
    assert "callback.needs_raised" in {r.action for r in audit_rows(sync_session, workflow_id=workflow_id)}
    timeline = await http.get(f"/api/audit/workflows/{workflow_id}/timeline", headers=await login("auditor1"))
    assert timeline.status_code == 200, timeline.text
    assert timeline.json()["workflow_type"] == "CustomerCallback"
    actions = {e["action"] for e in timeline.json()["entries"]}
    assert {"callbacks.start", "task.reached", "callback.needs_raised"} <= actions, actions
    by_ref = await http.get("/api/audit/timeline", params={"ref": circuit_id}, headers=await login("auditor1"))
    assert by_ref.status_code == 200 and by_ref.json()["workflow_id"] == workflow_id

    # Two years on: every later callback opened on its day (monthly to 2027-01, then quarterly), unanswered ones
    # closed as missed when the next one opened.
    await skip_to(env, datetime(2028, 1, 18, 12, tzinfo=SHANGHAI))  # 2028-01-15 is a Saturday: opens on Monday
    expected = list(range(first.number, 17))

    def all_opened():
        rows = _callbacks(sync_session, workflow_id)
        return rows if [r.number for r in rows if r.task_id] == expected else None

    try:
        rows = await eventually(lambda: _async(all_opened()), timeout=60, what="callbacks through 2028-01")
    except AssertionError:
        raise AssertionError(
            [(r.number, r.status, r.opens_at) for r in _callbacks(sync_session, workflow_id)]
        ) from None
    assert [r.scheduled_for for r in rows if r.task_id] == EXPECTED_DAYS[first.number - 1 :]
    for row in rows:
        if not row.task_id:
            continue
        task = _task(sync_session, row.task_id)
        assert calendar.is_working_day(task.opened_at.astimezone(SHANGHAI).date())
        assert task.opened_at.astimezone(SHANGHAI).date() >= row.scheduled_for
        assert task.due_at == row.due_at
    assert {r.status for r in rows[1:-1]} == {"missed"}
    assert rows[-1].status == "open"
    assert {r.customer_id for r in rows} == {customer}

    # The callback rate: reached over due, per customer (2026-12 to 2027-12: callbacks 11 to 15 fall due in it).
    kpi = await http.get(
        "/api/kpis/callback_rate",
        params={"from": "2026-12-01", "to": "2027-12-31", "customer": customer},
        headers=await login("supervisor1"),
    )
    assert kpi.status_code == 200, kpi.text
    due = sum(1 for r in rows if r.task_id and r.due_at < datetime(2028, 1, 1, tzinfo=SHANGHAI))
    assert (kpi.json()["numerator"], kpi.json()["denominator"]) == (1, due)
    assert kpi.json()["counts"]["missed"] == due - 1

    stop = await http.post(
        f"/api/callbacks/circuit/{circuit_id}/stop", json={"reason": "customer asked for no calls"}, headers=agent
    )
    assert stop.status_code == 403, stop.text
    stop = await http.post(
        f"/api/callbacks/circuit/{circuit_id}/stop", json={"reason": "customer asked for no calls"}, headers=coordinator
    )
    assert stop.status_code == 200, stop.text
    handle = env.client.get_workflow_handle(workflow_id)
    with env.auto_time_skipping_disabled():
        outcome = await handle.result()
    assert outcome["status"] == "stopped"
    assert _callbacks(sync_session, workflow_id)[-1].status == "stopped"
    view = await http.get(f"/api/callbacks/circuit/{circuit_id}", headers=agent)
    assert view.status_code == 200 and len(view.json()["callbacks"]) == len(rows)


async def test_a_major_customer_schedule_needs_its_date_and_an_unknown_circuit_is_404(http, login):
    coordinator = await login("coordinator1")
    missing = await http.post(
        "/api/callbacks", json={"subject_type": "customer", "subject_id": "C-9001"}, headers=coordinator
    )
    assert missing.status_code == 422 and "since" in missing.text
    ancient = await http.post(
        "/api/callbacks",
        json={"subject_type": "customer", "subject_id": "C-9001", "since": "0001-01-01"},
        headers=coordinator,
    )
    assert ancient.status_code == 422 and "years" in ancient.text
    unknown = await http.post(
        "/api/callbacks", json={"subject_type": "circuit", "subject_id": "CIR-NOPE"}, headers=coordinator
    )
    assert unknown.status_code == 404


async def _async(value):
    return value


async def test_activation_starts_the_circuits_schedule(env, worker, task_queue, sync_session):
    flow = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time(), days=30))
    await flow.run_steps()
    await flow.review("approve")
    await finished(env, flow.handle)
    order = await flow.order()
    assert order.circuit_id is not None
    workflow_id = workflow_id_for(SubjectType.CIRCUIT, order.circuit_id)
    [planned] = await eventually(lambda: _async(_callbacks(sync_session, workflow_id)), what="schedule started")
    activated = order.completed_at.astimezone(SHANGHAI).date()
    assert (planned.number, planned.scheduled_for, planned.customer_id) == (
        1,
        callback_date(activated, 1),
        order.spec.customer_id,
    )
    assert planned.status == CallbackStatus.SCHEDULED
