"""The main scenarios of each workflow type, driven through the Temporal client on the time-skipping server.

The golden histories under tests/replay/histories/<WorkflowType>/ are recordings of these scenarios
(tests/replay/test_scenarios.py runs them on every test run; scripts/record_golden_histories.py
records them). A new workflow type adds its scenarios to SCENARIOS.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta

from temporalio.client import WorkflowContinuedAsNewError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.arbitration import ArbitrationRequest, Party
from core.calendar import Budget
from core.callbacks import Callback, CallbackInput, StopCallbacks, SubjectType
from core.callbacks import workflow_id_for as callback_workflow_id
from core.incidents import AssignMember, IncidentLevel, LogNote, Member, StandDown, Team
from core.journal_anchor import AnchorState
from core.outbox import KICK_SIGNAL, DispatcherState, OutboxChannel
from core.provisioning import CancelOrder, Cutover, MarkCutover
from core.provisioning import workflow_id_for as order_workflow_id
from core.quality import InspectionInput, QualityRules
from core.resource_checks import AcceptResult, CancelCheck, ChaseLine, ItemChange, Qualification, Recheck
from core.resource_checks import workflow_id_for as check_workflow_id
from core.roles import Actor, Role
from core.sla import Priority, Urgency
from core.tasks import ActResult, ClaimInput, DecisionInput, HumanTask
from core.tickets import (
    CUSTOMER,
    AmendIntake,
    Cancel,
    Close,
    CustomerFeedback,
    HandOver,
    Intake,
    LogProgress,
    Pause,
    ProgressKind,
    Rating,
    Reopen,
    RequestExtension,
    Resume,
    VerifyResolution,
)
from db.outbox import enqueue
from db.session import Database
from tests.incidents import flow as incidents
from tests.messages.flow import ThreadFlow
from tests.platform.test_human_tasks import start_approval
from tests.provisioning.flow import COORDINATOR as ORDER_COORDINATOR
from tests.provisioning.flow import DEPARTMENT_STAFF, OrderFlow
from tests.provisioning.flow import spec as order_spec
from tests.provisioning.presales_flow import COORDINATOR as DEMAND_COORDINATOR
from tests.provisioning.presales_flow import PRESALES, DemandFlow
from tests.reports.scenarios import SCENARIOS as REPORT_SCENARIOS
from tests.reservations.flow import accepted_check
from tests.resource_checks.flow import COORDINATOR, REQUESTER, STAFF, CheckFlow, item
from tests.support import SHANGHAI, eventually, finished, idle, rid, skip_to
from tests.tickets import flow as tickets
from workflows.callbacks import CustomerCallbackWorkflow
from workflows.journal_anchor import JournalAnchorWorkflow
from workflows.outbox import OutboxDispatcherWorkflow
from workflows.quality import QualityInspectionWorkflow

Scenario = Callable[[WorkflowEnvironment, str], Awaitable[WorkflowHandle]]
DATABASE: ContextVar[Database] = ContextVar("the database of the scenario's worker")  # set by the test that runs it

APPROVER = Actor(username="supervisor1", roles=(Role.SUPERVISOR,))
SOFTWARE_ENGINEER = Actor(username="engineer2", roles=(Role.ENGINEER,), department="software-engineering")
CALLBACK_STARTER = Actor(username="coordinator1", roles=(Role.COORDINATOR,))
OTHER_APPROVER = Actor(username="supervisor2", roles=(Role.SUPERVISOR,))
FOUR_HOURS = Budget(amount=4, unit="hours")


async def _decide(
    handle: WorkflowHandle, task: HumanTask, actor: Actor, outcome: str, comment: str | None = None
) -> None:
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
    await flow.act(
        LogProgress(
            request_id=rid(),
            actor=tickets.ENGINEER,
            kind=ProgressKind.ACTION,
            text="更换光模块并测试",
            is_plan=True,
        )
    )
    await flow.resolve()
    return flow


async def _closed_and_archived(flow: tickets.TicketFlow) -> WorkflowHandle:
    """Close, then let the reopen window run out (time-skipped): the run completes."""
    await flow.act(Close(request_id=rid(), actor=tickets.AGENT))
    await flow.handle.result()
    return flow.handle


async def ticket_resolved_rated_closed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Intake → accept → plan logged → resolved → rated satisfied → closed → archived → reopen window over."""
    flow = await _worked_and_resolved(env, task_queue)
    await flow.act(CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.SATISFIED))
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


async def ticket_late_ladder_fires_at_once(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """An urgent ticket created 2 h 30 min ago: reminders and the breach are all due at once (one write)."""
    created = await env.get_current_time() - timedelta(hours=2, minutes=30)
    flow = await tickets.TicketFlow.start(env, task_queue, priority=Priority.URGENT, created_at=created)

    async def escalated() -> bool:
        return (await flow.ticket()).tier == 2

    await eventually(escalated, what="the breach of a ladder already past")
    await flow.accept()
    await flow.finish()
    return flow.handle


async def ticket_extension_approved(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The handler asks for more time in advance; a supervisor approves and the deadline moves."""
    flow = await tickets.TicketFlow.start(env, task_queue)
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    later = (await flow.task("resolve")).due_at + timedelta(days=1)
    await flow.act(
        RequestExtension(request_id=rid(), actor=tickets.ENGINEER, new_expected_at=later, reason="spare part on order")
    )
    await flow.decide("extension", tickets.SUPERVISOR, "approve")
    await flow.finish()
    return flow.handle


async def ticket_paused_and_resumed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Waiting for the customer stops the SLA clock for an hour; the resume moves the deadlines."""
    flow = await tickets.TicketFlow.start(env, task_queue)
    await flow.accept(expected=await flow.now() + timedelta(hours=6))
    await flow.act(Pause(request_id=rid(), actor=tickets.ENGINEER, kind="customer", reason="customer's test window"))
    await flow.skip(timedelta(hours=1))
    await flow.act(Resume(request_id=rid(), actor=tickets.ENGINEER, note="customer ready"))
    await flow.finish()
    return flow.handle


async def ticket_dissatisfied_second_followup(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Rated dissatisfied: a supervisor assigns the second follow-up, it is done, then the ticket closes."""
    flow = await _worked_and_resolved(env, task_queue)
    await flow.act(
        CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.DISSATISFIED, comment="太慢")
    )
    await flow.decide("followup_assignment", tickets.SUPERVISOR, "assign", assignee="supervisor2")
    await flow.decide("second_followup", tickets.SUPERVISOR2, "done", comment="建议缩短备件周期")
    return await _closed_and_archived(flow)


async def ticket_not_resolved_then_reopened(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The customer says "not resolved": a new deadline; resolved, verified, closed, reopened (new cycle), cancelled."""
    flow = await _worked_and_resolved(env, task_queue)
    await flow.act(
        CustomerFeedback(
            request_id=tickets.rid(), actor=CUSTOMER, resolved=False, rating=Rating.SATISFIED, comment="还是断"
        )
    )
    await flow.resolve()
    await flow.act(VerifyResolution(request_id=tickets.rid(), actor=tickets.ENGINEER, note="现场测试正常"))
    await flow.act(Close(request_id=tickets.rid(), actor=tickets.AGENT))
    await flow.act(Reopen(request_id=tickets.rid(), actor=tickets.AGENT, reason="故障复现"))
    await flow.act(Cancel(request_id=tickets.rid(), actor=tickets.AGENT, reason="merged into another ticket"))
    await flow.handle.result()
    return flow.handle


async def ticket_intake_completed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Registered without an industry: the agent completes the intake, the ticket is routed, then cancelled."""
    flow = await tickets.TicketFlow.start(env, task_queue, industry=None)
    await flow.act(AmendIntake(request_id=rid(), actor=tickets.AGENT, changes=Intake(industry="retail")))
    await flow.task("accept")
    await flow.act(Cancel(request_id=rid(), actor=tickets.AGENT, reason="raised twice"))
    await flow.handle.result()
    return flow.handle


async def ticket_cancelled(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Registered by mistake: the agent cancels it and its open tasks are cancelled."""
    flow = await tickets.TicketFlow.start(env, task_queue)
    await flow.act(Cancel(request_id=rid(), actor=tickets.AGENT, reason="duplicate of another ticket"))
    await flow.handle.result()
    return flow.handle


async def ticket_joins_an_incident(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The fifth ticket of one fault signature within the window declares an incident; then it is cancelled."""
    fields = incidents.signature()
    for _ in range(4):
        await tickets.TicketFlow.start(env, task_queue, **fields)
    flow = await tickets.TicketFlow.start(env, task_queue, **fields)

    async def linked() -> bool:
        return any("incident" in entry.text for entry in (await flow.ticket()).log)

    await eventually(linked, what="the ticket linked to its incident")
    await flow.act(Cancel(request_id=rid(), actor=tickets.AGENT, reason="covered by the incident"))
    await flow.handle.result()
    return flow.handle


async def ticket_handed_over_then_arbitrated(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The first responder hands the ticket over on the record; two departments dispute its acceptance; the office
    decides; the decided department accepts."""
    flow = await tickets.TicketFlow.start(env, task_queue)
    await flow.act(HandOver(request_id=rid(), actor=tickets.AGENT, to_user="supervisor2", reason="大客户经理跟进"))
    accept = await flow.task("accept")
    request = ArbitrationRequest(
        request_id=f"{flow.handle.id}:arbitration",
        actor=tickets.SUPERVISOR,
        task_id=accept.task_id,
        parties=(
            Party(department="hardware-engineering", position="软件故障，不归硬件"),
            Party(department="software-engineering", position="告警来自硬件"),
        ),
        stalled="nobody accepts the ticket",
    )
    asked = await flow.handle.execute_update(
        "request_arbitration", request, id=request.request_id, result_type=ActResult
    )
    decision = DecisionInput(
        task_id=asked.task_id,
        request_id=f"{flow.handle.id}:decide",
        actor=OTHER_APPROVER,
        outcome="decide",
        comment="日志显示软件进程崩溃",
        data={"department": "software-engineering"},
    )
    await flow.handle.execute_update("decide", decision, id=decision.request_id)
    await flow.accept(SOFTWARE_ENGINEER)
    await flow.finish()
    return flow.handle


# ---- ResourceCheck -------------------------------------------------------------------------------


async def _accept_and_expire(flow: CheckFlow) -> WorkflowHandle:
    """The requester accepts; the reservations run out and the workflow ends."""
    state = await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    await flow.act(AcceptResult(request_id=f"{flow.check_id}:accept", actor=REQUESTER))
    if state.round.reservations:
        await env_sleep_past(flow, state.round.reservations[0].expires_at)
    await flow.handle.result()
    return flow.handle


async def env_sleep_past(flow: CheckFlow, instant) -> None:
    await flow.skip(instant - await flow.env.get_current_time() + timedelta(minutes=1))


async def check_qualified_accepted(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Operations alone answers qualified; reserved, accepted, released at the expiry."""
    flow = await CheckFlow.start(env, task_queue, item("1"))
    await flow.answer("1", "operations", Qualification.QUALIFIED, resources={"olt_port": "OLT-3/1/4"})
    return await _accept_and_expire(flow)


async def check_late_department_escalated_joint_review(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Three departments; operations is reminded, chased and escalated; the alternate solution is jointly reviewed."""
    flow = await CheckFlow.start(env, task_queue, item("1", service_type="mobile", circuit_type="mpls-vpn"))
    await flow.answer("1", "mobile-network", Qualification.QUALIFIED)
    await flow.answer(
        "1",
        "fixed-network",
        Qualification.ALTERNATE,
        proposal="50M now, 100M later",
        new_construction=True,
        construction="100M fibre to the building",
        construction_days=30,
    )
    ops = await flow.line("1", "operations")
    await flow.act(
        ChaseLine(request_id=f"{flow.check_id}:chase", actor=COORDINATOR, item_id="1", department="operations")
    )
    await env_sleep_past(flow, ops.due_at)
    await flow.wait(lambda c: c.round.line("1", "operations").escalated, "escalated")
    await flow.answer("1", "operations", Qualification.QUALIFIED)
    for department in ("mobile-network", "fixed-network", "operations"):
        await flow.review(department)
    return await _accept_and_expire(flow)


async def check_rechecked_then_cancelled(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Unqualified, re-checked, qualified and reserved, then cancelled: the reservation is released."""
    flow = await CheckFlow.start(env, task_queue, item("1"))
    await flow.answer("1", "operations", Qualification.UNQUALIFIED, reasons="no fibre")
    await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    await flow.act(Recheck(request_id=f"{flow.check_id}:recheck", actor=REQUESTER, reason="another building"))
    await flow.wait(lambda c: len(c.rounds) == 2 and c.round.lines[0].task_id, "second round")
    await flow.answer("1", "operations", Qualification.QUALIFIED)
    await flow.wait(lambda c: c.round.reservations, "reserved")
    await flow.act(CancelCheck(request_id=f"{flow.check_id}:cancel", actor=COORDINATOR, reason="withdrawn"))
    await flow.handle.result()
    return flow.handle


async def check_construction_rechecked_with_changes(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Feasible only after new construction (what, how long, procurement); the requester re-checks at a lower
    bandwidth at another site (no date: the scenarios' clock runs decades ahead); round two is plainly feasible,
    accepted, and its reservation expires."""
    flow = await CheckFlow.start(env, task_queue, item("1"))
    await flow.answer(
        "1",
        "operations",
        Qualification.QUALIFIED,
        new_construction=True,
        construction="an OLT in the park",
        construction_days=20,
        needs_procurement=True,
    )
    await flow.review("operations")
    await flow.wait(lambda c: c.status == "awaiting_requester", "result reported")
    change = ItemChange(item_id="1", bandwidth="50M", sites=("上海市浦东新区张江路 99 号",))
    await flow.act(
        Recheck(request_id=f"{flow.check_id}:recheck", actor=REQUESTER, reason="50M will do", changes=(change,))
    )
    await flow.wait(lambda c: len(c.rounds) == 2 and c.round.lines[0].task_id, "second round")
    await flow.answer("1", "operations", Qualification.QUALIFIED)
    return await _accept_and_expire(flow)


async def order_outlives_its_reservation(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The order claims the check's reservation as it is accepted; it runs past the reservation's validity and
    completes with the reservation still claimed."""
    _, check = await accepted_check(env, task_queue)
    [held] = check.round.reservations
    circuit = order_spec(
        await env.get_current_time(), days=60, reservation_id=held.reservation_id, resource_check_id=check.check_id
    )
    flow = await OrderFlow.start(env, task_queue, circuit)
    await env.sleep(held.expires_at - await env.get_current_time() + timedelta(days=1))
    await flow.run_steps()
    await flow.review("approve")
    await finished(env, flow.handle)
    return flow.handle


async def order_cancelled_releases_its_reservation(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The order claimed the check's reservation; its cancel releases what it claimed."""
    _, check = await accepted_check(env, task_queue)
    [held] = check.round.reservations
    circuit = order_spec(await env.get_current_time(), reservation_id=held.reservation_id)
    flow = await OrderFlow.start(env, task_queue, circuit)
    await flow.act(
        CancelOrder(
            request_id=f"{flow.handle.id}:cancel",
            actor=ORDER_COORDINATOR,
            cancel_id=f"CSO-{flow.handle.id[-6:]}",
            reason="客户撤单",
        )
    )
    await finished(env, flow.handle)
    return flow.handle


async def order_completed_after_rework(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Every step done; the reviewer returns the order to testing, which is redone; then approved and completed."""
    flow = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time(), needs_procurement=True))
    await flow.run_steps()
    await flow.review("return", return_to="testing", reason="丢包率超标，重测")
    await flow.run_steps()  # testing, and (with order-return-redoes-dependants) the completion order after it
    await flow.review("approve")
    await finished(env, flow.handle)
    return flow.handle


async def order_jeopardy_escalated_then_completed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A cross-province order whose dispatch passes its warning threshold and its deadline, then completes late."""
    flow = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time(), cross=True))
    task = await flow.task("dispatch")
    await env.sleep(task.due_at - await env.get_current_time() + timedelta(minutes=1))
    await eventually(lambda: _alerts(flow, 2), what="jeopardy and breach alerts")
    await flow.run_steps()
    await flow.review("approve")
    await finished(env, flow.handle)
    return flow.handle


async def order_cancelled(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Cancelled after dispatch: the open task is closed and the ledger notes the cancel."""
    flow = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time()))
    await flow.complete("dispatch")
    await flow.task("data_configuration")
    await flow.act(
        CancelOrder(
            request_id=f"{flow.handle.id}:cancel",
            actor=ORDER_COORDINATOR,
            cancel_id=f"CSO-{flow.handle.id[-6:]}",
            reason="客户撤单",
        )
    )
    await finished(env, flow.handle)
    return flow.handle


async def order_closure_completed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A circuit is built, then a closure order removes its data, recovers it, stops billing and closes its row."""
    built = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time()))
    await built.run_steps()
    await built.review("approve")
    await finished(env, built.handle)
    circuit_id = (await built.order()).circuit_id
    closure_spec = order_spec(await env.get_current_time(), action="delete", circuit_id=circuit_id)
    flow = await OrderFlow.start(env, task_queue, closure_spec)
    await flow.run_steps()
    await flow.review("approve")
    await finished(env, flow.handle)
    return flow.handle


async def order_cutover_after_notice(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Activation is a cut-over: the customers are told at once, and it starts once the notice period is over."""
    now = await env.get_current_time()
    window = Cutover(step="activation", window_start=now + timedelta(hours=1), window_end=now + timedelta(hours=5))
    flow = await OrderFlow.start(env, task_queue, order_spec(now, days=30, cutover=window))
    await flow.run_steps(until="activation")
    cutover = (await flow.order()).cutover
    assert cutover is not None
    await env.sleep(cutover.earliest_start - await env.get_current_time() + timedelta(minutes=1))
    await flow.run_steps()
    await flow.review("approve")
    await finished(env, flow.handle)
    return flow.handle


async def order_cutover_marked_after_dispatch(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """After dispatch the coordinator marks testing as a cut-over; it starts after the notice period."""
    flow = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time(), days=30))
    await flow.complete("dispatch")
    await flow.task("data_configuration")
    start = await env.get_current_time() + timedelta(days=3)
    window = Cutover(step="testing", window_start=start, window_end=start + timedelta(hours=4))
    await flow.act(MarkCutover(request_id=f"{flow.handle.id}:cutover", actor=ORDER_COORDINATOR, cutover=window))
    await flow.run_steps(until="testing")
    cutover = (await flow.order()).cutover
    assert cutover is not None
    await env.sleep(cutover.earliest_start - await env.get_current_time() + timedelta(minutes=1))
    await flow.run_steps()
    await flow.review("approve")
    await finished(env, flow.handle)
    return flow.handle


async def _alerts(flow: OrderFlow, count: int) -> bool:
    return len((await flow.order()).jeopardy_alerts) >= count


async def incident_restored_and_reviewed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Declared with two tickets; a member named, a note logged, one progress update; the stages run, the tickets
    resolve with it, the review closes it."""
    linked = await incidents.tickets_of_one_signature(env, task_queue, 2, incidents.signature())
    numbers = tuple(f.handle.id.removeprefix("ticket-") for f in linked)
    flow = await incidents.IncidentFlow.declare(env, task_queue, tickets=numbers)
    member = Member(username="engineer1", team=Team.TECHNICAL)
    await flow.act(AssignMember(request_id=rid(), actor=incidents.COMMANDER, member=member))
    await flow.act(LogNote(request_id=rid(), actor=incidents.TECH_LEAD, text="抢修队已到现场"))
    await env.sleep(timedelta(minutes=61))

    async def updated() -> bool:
        return bool((await flow.incident()).updates)

    await eventually(updated, what="the first progress update")
    await flow.through_restoration()
    await flow.review()
    await finished(env, flow.handle)
    return flow.handle


async def incident_major_chain_stood_down(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A major fault: the report chain runs its three hand-ons, then a supervisor stands the incident down."""
    flow = await incidents.IncidentFlow.declare(env, task_queue, level=IncidentLevel.MAJOR)
    first = dict(incidents.REPORT, plan="切换备用节点", departments=["operations"], people=["opshead"])
    await flow.decide("incident_chain_departments", incidents.COMMANDER, "passed", **first)
    await flow.decide(
        "incident_chain_account_owner", incidents.COMMANDER, "passed", account_owner="gcd1", manager="opshead"
    )
    owner = Actor(username="gcd1", roles=(Role.DEPARTMENT,), department="group-customer")
    await flow.decide("incident_chain_senior_management", owner, "passed", senior=["admin"])
    await flow.act(StandDown(request_id=rid(), actor=incidents.SUPERVISOR, reason="演练结束"))
    await finished(env, flow.handle)
    report = (await flow.incident()).fault_report_id
    if report:  # the fault report the major fault owes outlives the incident
        await env.client.get_workflow_handle(report).terminate("scenario over")
    return flow.handle


async def demand_no_fit(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Raised by the department and refined as it is; product support finds no existing product fits: ended."""
    flow = await DemandFlow.start(env, task_queue)
    await flow.refine()
    await flow.decide("product_fit", PRESALES, "no_fit", "现有产品不支持该带宽")
    await finished(env, flow.handle)
    return flow.handle


async def demand_ordered(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Refined (bandwidth changed); fit; the check child is answered and accepted; a complex solution is reviewed
    jointly; signed; the order starts with the refined bandwidth."""
    flow = await DemandFlow.start(env, task_queue, complex=True)
    await flow.refine(bandwidth="200M")
    await flow.decide("product_fit", PRESALES, "fit")
    check_id = await eventually(lambda: _check_id(flow), what="resource check started")
    check = CheckFlow(env, env.client.get_workflow_handle(check_workflow_id(check_id)), check_id)
    await check.wait(
        lambda c: c.status == "consulting" and all(line.task_id for line in c.round.lines), "departments asked"
    )
    await check.answer("1", "operations", Qualification.QUALIFIED, resources={"olt_port": "OLT-3/1/4"})
    await check.wait(lambda c: c.status == "awaiting_requester", "result reported")
    await check.act(AcceptResult(request_id=f"{check_id}:accept", actor=REQUESTER))
    await flow.decide("solution", DEMAND_COORDINATOR, "proposed", "MPLS-VPN 100M")
    await flow.decide("joint_review", STAFF["operations"], "approve")
    await flow.decide("contract", REQUESTER, "signed", "HT-2026-001")
    outcome = await finished(env, flow.handle)
    order = env.client.get_workflow_handle(order_workflow_id(outcome.order_id))
    await eventually(lambda: _order_waiting(order), what="order started")
    return flow.handle  # the children outlive the demand: the test's teardown ends them


async def _check_id(flow: DemandFlow) -> str | None:
    try:
        return (await flow.demand()).check_id
    except Exception:
        return None


async def _order_waiting(handle: WorkflowHandle) -> bool:
    try:
        return bool(await handle.query("tasks", result_type=list[HumanTask]))
    except Exception:
        return False


async def anchor_rounds_then_continues(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Two rounds (head recorded, interval waited), then continue-as-new carrying the anchors; the new run ends."""
    handle = await env.client.start_workflow(
        JournalAnchorWorkflow.run,
        AnchorState(interval_minutes=10, rounds_per_run=2),
        id=f"journal-anchor-scenario-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    with contextlib.suppress(WorkflowContinuedAsNewError):
        await handle.result(follow_runs=False)  # time skips through both intervals (this handle's run only)
    continued = env.client.get_workflow_handle(handle.id)
    # The test server stops skipping time for good if a run dies with an activity in flight: end it idle.
    await eventually(lambda: idle(continued), what="continued anchor run idle")
    await continued.terminate("scenario over")
    return env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)


async def dispatcher_rounds_then_continues(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Kicked, it looks for due messages; idle rounds wait; after its rounds it continues as new; the new run ends."""
    handle = await env.client.start_workflow(
        OutboxDispatcherWorkflow.run,
        DispatcherState(idle_minutes=10, rounds_per_run=3),
        id=f"outbox-dispatcher-scenario-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
        start_signal=KICK_SIGNAL,
    )
    with contextlib.suppress(WorkflowContinuedAsNewError):
        await handle.result(follow_runs=False)
    continued = env.client.get_workflow_handle(handle.id)
    await eventually(lambda: idle(continued), what="continued dispatcher run idle")
    await continued.terminate("scenario over")
    return env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)


async def dispatcher_delivers_a_round(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Two lanes due at once go out in one round; their listener is gone (dead at once); then the idle rounds."""
    tag = uuid.uuid4().hex[:8]
    async with DATABASE.get().session() as session:
        for lane in ("a", "b"):  # hub 0 is never registered: a permanent failure, nothing leaves the machine
            await enqueue(
                session,
                event=f"scenario:{tag}",
                subject=f"scenario-{tag}-{lane}",
                recipient="hub:0",
                channel=OutboxChannel.WEBHOOK,
                payload={"event": {"eventType": "ScenarioEvent"}},
            )
        await session.commit()
    return await dispatcher_rounds_then_continues(env, task_queue)


# ---- QualityInspection ---------------------------------------------------------------------------


async def _open_task_of(handle: WorkflowHandle, kind: str) -> HumanTask | None:
    tasks = await handle.query("tasks", result_type=list[HumanTask])
    return next((t for t in tasks if t.kind == kind and t.status == "open"), None)


async def quality_reviewed_acted_checked(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A closed ticket sampled, scored with a finding; the action done; after the wait, checked effective."""
    flow = await _worked_and_resolved(env, task_queue)
    await flow.act(CustomerFeedback(request_id=rid(), actor=CUSTOMER, resolved=True, rating=Rating.SATISFIED))
    await flow.act(Close(request_id=rid(), actor=tickets.AGENT))
    closed_at = (await flow.ticket()).closed_at
    assert closed_at is not None
    await flow.handle.result()  # the reopen window runs out: the ticket's run is over
    handle = await env.client.start_workflow(
        QualityInspectionWorkflow.run,
        InspectionInput(
            inspection_id=f"QI-scenario-{uuid.uuid4().hex[:8]}",
            start=closed_at - timedelta(seconds=1),
            end=closed_at + timedelta(seconds=1),
            requested_by=APPROVER,
            request_id=rid(),
        ),
        id=f"quality-scenario-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    review = await eventually(lambda: _open_task_of(handle, "quality_review"), what="the review task")
    rules = await handle.query("rules", result_type=QualityRules)
    form = {
        "marks": {c.name: c.points // 2 for c in rules.criteria},
        "findings": [{"text": "未向客户说明原因", "owner": tickets.ENGINEER.username}],
    }
    scored = DecisionInput(task_id=review.task_id, request_id=rid(), actor=APPROVER, outcome="scored", data=form)
    await handle.execute_update("decide", scored, id=scored.request_id)
    action = await eventually(lambda: _open_task_of(handle, "improvement_action"), what="the improvement action")
    done = DecisionInput(
        task_id=action.task_id, request_id=rid(), actor=tickets.ENGINEER, outcome="done", comment="已培训"
    )
    await handle.execute_update("decide", done, id=done.request_id)
    await env.sleep(timedelta(days=40))  # past check_after: the effect check opens
    check = await eventually(lambda: _open_task_of(handle, "improvement_check"), what="the effect check")
    checked = DecisionInput(
        task_id=check.task_id, request_id=rid(), actor=APPROVER, outcome="effective", comment="复查有效"
    )
    await handle.execute_update("decide", checked, id=checked.request_id)
    await finished(env, handle)
    return handle


# ---- MessageThread ---------------------------------------------------------------------------------


async def message_acknowledged_complex_explained_answered(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Acknowledged, marked complex, explained as taking longer (a new time), then answered."""
    flow = await ThreadFlow.start(env, task_queue)
    await flow.act({"type": "acknowledge"})
    await flow.act({"type": "mark_complex", "reason": "需网络部核查"})
    later = (await flow.thread()).answer_due + timedelta(days=1)
    await flow.act({"type": "takes_longer", "explanation": "需更换设备，敬请谅解", "answer_by": later.isoformat()})
    await flow.act({"type": "answer", "text": "已更换设备，专线恢复。"})
    await finished(env, flow.handle)
    return flow.handle


async def message_unacknowledged_breaches_then_answered(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """An urgent e-mail nobody acknowledges: reminders, escalation and the breach at 2 h; the customer writes again;
    the answer (acknowledging too) ends it."""
    flow = await ThreadFlow.start(env, task_queue, urgency=Urgency.URGENT)
    await env.sleep(timedelta(hours=2, minutes=1))

    async def escalated() -> bool:
        tasks = await flow.handle.query("tasks", result_type=list[HumanTask])
        return any(t.kind == "message_acknowledge" and t.escalation_level == 1 for t in tasks)

    await eventually(escalated, what="the acknowledgement escalated at the breach")
    now = await env.get_current_time()
    await flow.act(
        {"type": "follow_up", "text": "还没有回复吗？", "received_at": now.isoformat()},
        actor=Actor(username="mail-intake"),
    )
    await flow.act({"type": "answer", "text": "抱歉久等，专线已恢复。"})
    await finished(env, flow.handle)
    return flow.handle


async def order_step_arbitrated_then_completed(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Two departments disagree over the step after dispatch; the office decides; the decided one does it."""
    flow = await OrderFlow.start(env, task_queue, order_spec(await env.get_current_time()))
    await flow.complete("dispatch")
    order = await flow.order()
    step = order.step(order.current or "")
    task = await flow.task(step.step)
    other = "construction" if step.department != "construction" else "operations"
    request = ArbitrationRequest(
        request_id=f"{flow.handle.id}:arbitration",
        actor=ORDER_COORDINATOR,
        task_id=task.task_id,
        parties=(
            Party(department=step.department or "operations", position="不属于本部门"),
            Party(department=other, position="应由对方处理"),
        ),
        stalled=f"{step.title}: nobody takes it",
    )
    asked = await flow.handle.execute_update(
        "request_arbitration", request, id=request.request_id, result_type=ActResult
    )
    decision = DecisionInput(
        task_id=asked.task_id,
        request_id=f"{flow.handle.id}:decide",
        actor=APPROVER,
        outcome="decide",
        comment="由对方部门牵头",
        data={"department": other},
    )
    await flow.handle.execute_update("decide", decision, id=decision.request_id)
    await flow.complete(step.step, DEPARTMENT_STAFF[other])
    await flow.run_steps()
    await flow.review("approve")
    await finished(env, flow.handle)
    return flow.handle


# ---- CustomerCallback ------------------------------------------------------------------------------


async def _callback_schedule(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A major customer's schedule whose first callback falls a few days from now."""
    today = (await env.get_current_time()).astimezone(SHANGHAI).date()
    soon = today + timedelta(days=5)
    anchor = soon.replace(year=soon.year - 1, month=12) if soon.month == 1 else soon.replace(month=soon.month - 1)
    customer = f"C-{uuid.uuid4().hex[:8]}"
    return await env.client.start_workflow(
        CustomerCallbackWorkflow.run,
        CallbackInput(
            subject_type=SubjectType.CUSTOMER,
            subject_id=customer,
            customer_id=customer,
            anchor=anchor,
            started_by=CALLBACK_STARTER,
            request_id=f"callbacks-{customer}",
        ),
        id=callback_workflow_id(SubjectType.CUSTOMER, customer),
        task_queue=task_queue,
    )


async def _callback_task(env: WorkflowEnvironment, handle: WorkflowHandle) -> HumanTask:
    """Skip to the callback's opening; its open task."""

    async def planned() -> Callback | None:
        try:
            return await handle.query("callback", result_type=Callback)
        except Exception:
            return None

    await skip_to(env, (await eventually(planned, what="callback planned")).opens_at + timedelta(minutes=1))

    async def probe() -> HumanTask | None:
        try:
            tasks = await handle.query("tasks", result_type=list[HumanTask])
        except Exception:
            return None
        return next((t for t in tasks if t.status == "open"), None)

    return await eventually(probe, what="callback task open")


async def _callback_continued(env: WorkflowEnvironment, handle: WorkflowHandle) -> WorkflowHandle:
    """Let this run continue as new; end the next run idle; the first run's handle."""
    with contextlib.suppress(WorkflowContinuedAsNewError):
        await handle.result(follow_runs=False)
    continued = env.client.get_workflow_handle(handle.id)
    await eventually(lambda: idle(continued), what="next callback run idle")
    await continued.terminate("scenario over")
    return env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)


async def callback_reached_with_needs(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """The callback opens on its day; the agent reaches the customer, who raises a need (a ticket); next callback."""
    handle = await _callback_schedule(env, task_queue)
    task = await _callback_task(env, handle)
    decision = DecisionInput(
        task_id=task.task_id,
        request_id=f"{handle.id}:reached",
        actor=tickets.AGENT,
        outcome="reached",
        data={"satisfied": False, "needs": "希望增加一条备份线路"},
    )
    await handle.execute_update("decide", decision, id=decision.request_id)
    return await _callback_continued(env, handle)


async def callback_missed_then_continues(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """Nobody records a result: reminders, escalation, and the next callback's opening closes it as missed."""
    handle = await _callback_schedule(env, task_queue)
    await _callback_task(env, handle)
    return await _callback_continued(env, handle)


async def callback_stopped(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle:
    """A supervisor stops the schedule before its callback opens: the run ends, the callback stopped."""
    handle = await _callback_schedule(env, task_queue)
    stop = StopCallbacks(request_id=f"{handle.id}:stop", actor=APPROVER, reason="the customer declined callbacks")

    async def stopped() -> bool:
        try:
            await handle.execute_update("stop", stop, id=stop.request_id)
        except Exception:
            return False
        return True

    await eventually(stopped, what="stop accepted")
    await finished(env, handle)
    return handle


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
        "late-ladder-fires-at-once": ticket_late_ladder_fires_at_once,
        "extension-approved": ticket_extension_approved,
        "paused-and-resumed": ticket_paused_and_resumed,
        "dissatisfied-second-followup": ticket_dissatisfied_second_followup,
        "not-resolved-then-reopened": ticket_not_resolved_then_reopened,
        "cancelled": ticket_cancelled,
        "intake-completed": ticket_intake_completed,
        "joins-an-incident": ticket_joins_an_incident,
        "handed-over-then-arbitrated": ticket_handed_over_then_arbitrated,
    },
    "ResourceCheck": {
        "qualified-accepted": check_qualified_accepted,
        "late-department-escalated-joint-review": check_late_department_escalated_joint_review,
        "rechecked-then-cancelled": check_rechecked_then_cancelled,
        "construction-rechecked-with-changes": check_construction_rechecked_with_changes,
    },
    "ProvisioningOrder": {
        "completed-after-rework": order_completed_after_rework,
        "jeopardy-escalated-then-completed": order_jeopardy_escalated_then_completed,
        "cancelled": order_cancelled,
        "outlives-its-reservation": order_outlives_its_reservation,
        "cancelled-releases-its-reservation": order_cancelled_releases_its_reservation,
        "closure-completed": order_closure_completed,
        "cutover-after-notice": order_cutover_after_notice,
        "cutover-marked-after-dispatch": order_cutover_marked_after_dispatch,
        "step-arbitrated-then-completed": order_step_arbitrated_then_completed,
    },
    "PreSalesDemand": {
        "no-fit": demand_no_fit,
        "ordered": demand_ordered,
    },
    "JournalAnchor": {
        "rounds-then-continues": anchor_rounds_then_continues,
    },
    "OutboxDispatcher": {
        "rounds-then-continues": dispatcher_rounds_then_continues,
        "delivers-a-round": dispatcher_delivers_a_round,
    },
    "QualityInspection": {
        "reviewed-acted-checked": quality_reviewed_acted_checked,
    },
    "MessageThread": {
        "acknowledged-complex-explained-answered": message_acknowledged_complex_explained_answered,
        "unacknowledged-breaches-then-answered": message_unacknowledged_breaches_then_answered,
    },
    "Incident": {
        "restored-and-reviewed": incident_restored_and_reviewed,
        "major-chain-stood-down": incident_major_chain_stood_down,
    },
    **REPORT_SCENARIOS,
    "CustomerCallback": {
        "reached-with-needs": callback_reached_with_needs,
        "missed-then-continues": callback_missed_then_continues,
        "stopped": callback_stopped,
    },
}

# Registered workflow types whose scenarios are still to be written: the coverage test tolerates these and
# fails once an entry has scenarios (remove it then). Keep it empty whenever possible.
AWAITING_SCENARIOS: set[str] = set()
