"""ResourceCheck on the time-skipping server: chasing, TMF result rule, joint review, reservations, rounds, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.reservations import ReservationActivities
from core.reservations import ClaimReservation
from core.resource_checks import (
    AcceptResult,
    Ask,
    CancelCheck,
    ChaseLine,
    CheckReport,
    Qualification,
    Recheck,
    Reply,
    ResourceCheckRules,
    qualification_result,
    workflow_id_for,
)
from core.tickets import AssignmentRules, default_assignment_rules
from db.models import Notification, Reservation, ResourceCheckLedger, ResourceCheckRow
from tests.resource_checks.flow import COORDINATOR, HEADS, REQUESTER, STAFF, SUPERVISOR, CheckFlow, check_input, item
from tests.resource_checks.parent_workflow import CheckParentWorkflow
from tests.support import eventually, finished, rid

Q, A, U = Qualification.QUALIFIED, Qualification.ALTERNATE, Qualification.UNQUALIFIED


def test_tmf_qualification_rule():
    """qualified only when all are; alternate when any is and none is unqualified; unqualified when any is."""
    assert qualification_result([Q, Q]) == Q
    assert qualification_result([Q, A, Q]) == A
    assert qualification_result([A, U, Q]) == U
    with pytest.raises(ValueError):
        qualification_result([])


async def _refused(flow: CheckFlow, act_or_coro, code: str) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await (flow.act(act_or_coro) if not hasattr(act_or_coro, "__await__") else act_or_coro)
    assert refused.value.cause.type == code, refused.value.cause
    return str(refused.value.cause)


def _rows(sync_session, table, **where):
    with sync_session() as s:
        return s.scalars(select(table).filter_by(**where)).all()


async def _eventually_rows(sync_session, table, what: str, **where):
    async def probe():
        return _rows(sync_session, table, **where)

    return await eventually(probe, what=what)


async def test_late_department_is_reminded_chased_escalated_then_review_reserve_accept(
    env, worker, task_queue, sync_session
):
    """Three departments; operations is late: ladder reminders, a manual chase, escalation to its head; then
    the alternate result goes to a joint review (four-eyes), is reserved, accepted and written to the ledger."""
    flow = await CheckFlow.start(env, task_queue, item("1", service_type="mobile", circuit_type="mpls-vpn"))
    state = await flow.check()
    assert [line.department for line in state.round.lines] == ["mobile-network", "fixed-network", "operations"]
    await flow.answer("1", "mobile-network", Q, resources={"base_station": "SH-PD-0412"})
    # Another department cannot answer this department's line, nor answer in its name; nobody answers twice.
    assert "only staff of department mobile-network" in await _refused(
        flow, flow.answer("1", "mobile-network", Q, actor=STAFF["fixed-network"]), "forbidden"
    )
    assert "already answered" in await _refused(flow, flow.answer("1", "mobile-network", Q), "conflict")
    assert "proposal" in await _refused(flow, flow.answer("1", "fixed-network", A), "invalid")
    await flow.answer(
        "1",
        "fixed-network",
        A,
        proposal="MPLS-VPN via the Zhangjiang PoP, 50M now, 100M after Q2",
        resources={"pe_port": "ZJ-PE2 ge-0/0/7"},
        new_construction=True,
        construction="100M fibre from the Zhangjiang PoP",
        construction_days=30,
    )

    ops = await flow.line("1", "operations")
    await flow.act(
        Ask(request_id=rid(), actor=COORDINATOR, item_id="1", department="operations", text="机房空间够吗？")
    )
    await flow.act(
        Reply(request_id=rid(), actor=STAFF["operations"], item_id="1", department="operations", text="够，核实中")
    )
    await flow.skip((ops.due_at - await env.get_current_time()) * 0.8)
    await flow.wait(lambda c: len(c.round.line("1", "operations").chases) == 2, "reminders at 50 % and 75 %")
    await flow.act(
        ChaseLine(request_id=rid(), actor=COORDINATOR, item_id="1", department="operations", note="今天下班前")
    )
    await flow.skip(ops.due_at - await env.get_current_time() + timedelta(minutes=1))
    state = await flow.wait(lambda c: c.round.line("1", "operations").escalated, "escalated at the breach")
    line = state.round.line("1", "operations")
    assert [c.kind for c in line.chases] == ["reminder", "reminder", "manual", "escalation"]
    assert [m.kind for m in line.messages] == ["question", "answer"]
    times = [c.at for c in line.chases]  # every chase recorded with its time
    assert times == sorted(times) and times[0] < line.due_at <= times[-1]
    await _eventually_rows(
        sync_session,
        Notification,
        "the department head told of the breach",
        recipient_user="opshead",
        workflow_id=flow.handle.id,
    )
    await flow.answer("1", "operations", Q, actor=HEADS["operations"])  # the head answers in person

    state = await flow.wait(lambda c: c.status == "joint_review", "joint review")
    assert state.round.item_results == {"1": A} and state.round.result == A and state.round.complex
    assert "four-eyes" in await _refused(flow, flow.review("operations"), "forbidden")
    await flow.review("mobile-network")
    await flow.review("fixed-network")
    assert (await flow.check()).status == "joint_review"  # operations' head answered, so a supervisor stands in
    await flow.review("operations", actor=SUPERVISOR)
    state = await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    assert [r.status for r in state.round.reservations] == ["held"]
    assert state.round.line("1", "operations").on_time is False
    assert state.round.line("1", "mobile-network").on_time is True
    await flow.act(AcceptResult(request_id=rid(), actor=REQUESTER))
    [ledger] = await _eventually_rows(sync_session, ResourceCheckLedger, "ledger row", check_id=flow.check_id)
    assert (ledger.outcome, ledger.qualification_result, ledger.lines_total, ledger.lines_on_time) == (
        "accepted",
        "alternate",
        3,
        2,
    )
    assert ledger.items[0]["results"] == ["alternate"] and ledger.reservations[0]["status"] == "held"
    await flow.finish()


async def test_reservation_expires_unless_an_order_claimed_it(env, worker, task_queue, db, sync_session):
    """Two qualified items are reserved; an order claims one; at the expiry only the other is released."""
    flow = await CheckFlow.start(env, task_queue, item("1"), item("2"))
    await flow.answer("1", "operations", Q, resources={"olt_port": "OLT-3/1/4"})
    await flow.answer("2", "operations", Q, resources={"olt_port": "OLT-3/1/5"})
    state = await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    assert state.round.result == Q and not state.round.complex  # plain qualified: no joint review
    first, second = state.round.reservations
    claimed = await ActivityEnvironment().run(
        ReservationActivities(db).claim_reservation,
        ClaimReservation(reservation_id=first.reservation_id, order_id="PO-77"),
    )
    assert claimed.status == "claimed"
    await flow.act(AcceptResult(request_id=rid(), actor=REQUESTER))
    await flow.skip(first.expires_at - await env.get_current_time() + timedelta(minutes=1))
    outcome = await flow.handle.result()
    assert outcome.status == "accepted"
    with sync_session() as s:
        rows = {
            r.reservation_id: r for r in s.scalars(select(Reservation).where(Reservation.check_id == flow.check_id))
        }
        ledger = s.get(ResourceCheckLedger, flow.check_id)
    assert (rows[first.reservation_id].status, rows[first.reservation_id].claimed_by_order) == ("claimed", "PO-77")
    assert rows[second.reservation_id].status == "expired" and "expired" in rows[second.reservation_id].release_reason
    assert [e["event"] for e in rows[first.reservation_id].history] == ["held", "claimed"]
    assert [e["event"] for e in rows[second.reservation_id].history] == ["held", "expired"]
    assert sorted(r["status"] for r in ledger.reservations) == ["claimed", "expired"]
    assert ledger.on_time is True and ledger.lines_on_time == ledger.lines_total == 2


async def test_recheck_keeps_the_first_round_and_cancel_releases_the_reservation(env, worker, task_queue, sync_session):
    """Round 1 is unqualified (nothing reserved); the requester asks again; round 2 reserves; a cancel releases it."""
    flow = await CheckFlow.start(env, task_queue, item("1"))
    assert "reasons" in await _refused(flow, flow.answer("1", "operations", U), "invalid")
    await flow.answer("1", "operations", U, reasons="no fibre to the building")
    state = await flow.wait(lambda c: c.status == "awaiting_requester", "unqualified result reported")
    assert state.round.result == U and state.round.reservations == []
    assert "only the requester" in await _refused(flow, AcceptResult(request_id=rid(), actor=COORDINATOR), "forbidden")
    await flow.act(Recheck(request_id=rid(), actor=REQUESTER, reason="the customer can move to the second building"))
    state = await flow.wait(
        lambda c: len(c.rounds) == 2 and c.status == "consulting" and c.round.lines[0].task_id, "second round"
    )
    first = state.rounds[0]
    assert (
        first.line("1", "operations").answer.reasons == "no fibre to the building"
        and first.requester_decision == "recheck"
    )
    await flow.answer("1", "operations", Q, resources={"olt_port": "OLT-9/0/1"})
    state = await flow.wait(lambda c: c.round.reservations, "second round reserved")
    assert [r.status for r in state.round.reservations] == ["held"]
    await flow.act(CancelCheck(request_id=rid(), actor=COORDINATOR, reason="the customer withdrew"))
    outcome = await flow.handle.result()
    assert outcome.status == "cancelled"
    with sync_session() as s:
        held = s.scalars(select(Reservation).where(Reservation.check_id == flow.check_id)).one()
        ledger = s.get(ResourceCheckLedger, flow.check_id)
        row = s.get(ResourceCheckRow, flow.check_id)
    assert held.status == "released" and "cancelled" in held.release_reason
    assert (ledger.outcome, ledger.rounds, ledger.cancel_reason) == ("cancelled", 2, "the customer withdrew")
    assert ledger.items[0]["results"] == ["unqualified", "qualified"]
    assert (row.tmf_state, row.status) == ("terminatedWithError", "cancelled")


def test_departments_come_from_the_rules():
    """Mobile services ask the mobile network, fixed circuits the fixed network; operations is asked about all."""
    rules = AssignmentRules.model_validate(default_assignment_rules().model_dump(mode="json")).resource_check
    assert rules.departments_for(item(service_type="mobile", circuit_type="mpls-vpn")) == (
        "mobile-network",
        "fixed-network",
        "operations",
    )
    assert rules.departments_for(item(service_type="internet", circuit_type="ddn")) == ("fixed-network", "operations")
    assert rules.departments_for(item()) == ("operations",)
    with pytest.raises(ValueError):
        ResourceCheckRules(always=())


async def test_rejected_joint_review_starts_a_new_round(env, worker, task_queue):
    """A department head rejects the complex solution: the departments are asked again; the first round is kept."""
    flow = await CheckFlow.start(env, task_queue, item("1"))
    await flow.answer(
        "1",
        "operations",
        A,
        proposal="a new OLT in the park",
        new_construction=True,
        construction="an OLT in the park",
        construction_days=20,
    )
    assert "reason is required" in await _refused(flow, flow.review("operations", "reject"), "invalid")
    await flow.review("operations", "reject", comment="the park OLT is not in this year's plan")
    state = await flow.wait(lambda c: len(c.rounds) == 2 and c.status == "consulting", "second round")
    assert state.rounds[0].requester_decision == "review_rejected" and "not in this year's plan" in state.round.reason
    assert state.rounds[0].line("1", "operations").answer.proposal == "a new OLT in the park"
    await flow.act(CancelCheck(request_id=rid(), actor=REQUESTER, reason="customer found another provider"))
    assert (await flow.handle.result()).status == "cancelled"


async def test_a_child_check_reports_to_its_parent_when_accepted(env, worker, task_queue):
    """Started by a parent (pre-sales), the check reports result and reservations at acceptance, before any expiry."""
    start = check_input(item("1"))
    async with Worker(env.client, task_queue=f"{task_queue}-parent", workflows=[CheckParentWorkflow]):
        parent = await env.client.start_workflow(
            "TestCheckParent",
            args=[start, task_queue],
            id=f"parent-{start.check_id}",
            task_queue=f"{task_queue}-parent",
            result_type=CheckReport,
        )
        flow = CheckFlow(env, env.client.get_workflow_handle(workflow_id_for(start.check_id)), start.check_id)
        await flow.wait(lambda c: c.status == "consulting" and c.round.lines[0].task_id, "departments asked")
        await flow.answer("1", "operations", Q, resources={"olt_port": "OLT-1/1/1"})
        await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
        await flow.act(AcceptResult(request_id=rid(), actor=REQUESTER))
        report = await finished(env, parent)  # the check holds its reservation: no skip to their expiry
    assert (report.status, report.result, report.item_results) == ("accepted", Q, {"1": Q})
    assert [r.status for r in report.reservations] == ["held"]  # still held: the order claims it next
    await flow.finish()
