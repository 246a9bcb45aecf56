"""ProvisioningOrderWorkflow: one durable workflow per circuit-provisioning order (DOMAIN.md §3).

The dispatcher (HQ operations across provinces, the provincial response center within one) issues the
dispatch order; then the departments do the steps the rules plan for this circuit (procurement and
construction when the resource check said so, data configuration, activation, testing, the completion
order with the test report); a reviewer approves or returns the order to a named step. The requested
completion date is split into step deadlines on the business calendar by the rules' weights; each step
is a human task whose ladder reminds, raises a jeopardy alert at the warning threshold and escalates at
the breach. The order claims its reservation when it is accepted (patch `order-claims-reservation-at-create`;
before it, only on approval, so a reservation could expire under a running order) and keeps it for life; on
approval completion is reported to the group dispatch system, the group-customer department is told and the
circuit ledger written, and the circuit's callback schedule started (patch `order-starts-callbacks`). A cancel
releases the reservation, closes the open tasks and notes the cancel in the ledger.

The plan follows the resource check (the API merges the check's findings into the spec; `plan_basis` says how).
A review return reopens the returned step and every later step depending on it (`Step.dependants`), each with
a fresh deadline. A cut-over step (in the spec, or marked later by `mark_cutover`) tells the customer manager
and the customer's contacts at once and opens only after the notice period. A closure order (`action` delete)
runs the closure steps and then closes its circuit's ledger row and releases the circuit's reservation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, assert_never

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.acts import ActBook

with workflow.unsafe.imports_passed_through():
    from core.arbitration import Arbitration
    from core.calendar import deadline, shift_by_working_seconds
    from core.callbacks import CallbackInput, SubjectType
    from core.callbacks import workflow_id_for as callbacks_workflow_id
    from core.provisioning import (
        DISPATCH,
        REVIEW,
        CancelOrder,
        CancelRequest,
        CircuitClosure,
        CompleteStep,
        CompletionReport,
        Cutover,
        CutoverNotice,
        CutoverState,
        DocumentRef,
        JeopardyAlert,
        LedgerEntry,
        MarkCutover,
        Milestone,
        OrderAct,
        OrderChange,
        OrderInput,
        OrderOutcome,
        OrderSave,
        OrderStatus,
        ProvisioningOrder,
        ProvisioningRules,
        Review,
        ReviewOrder,
        Step,
        StepRule,
        check_act,
        dependants_of,
        plan_basis,
        plan_steps,
        split_deadline,
    )
    from core.records import AuditRecord, NotificationRecord
    from core.reservations import ClaimReservation, ReleaseOrderReservations, ReleaseReservation, ReservationState
    from core.roles import GROUP_CUSTOMER, SYSTEM_ACTOR, Actor
    from core.sla import LadderStep
    from core.tasks import HumanTask, TaskRequest, TaskStatus
    from workflows.common import (
        CLAIM_RESERVATION,
        CLOSE_CIRCUIT,
        ESCALATED,
        EXTERNAL_RETRY,
        EXTERNAL_TIMEOUT,
        LOAD_PROVISIONING_RULES,
        RECORD_ORDER,
        RECORD_ORDER_CHANGE,
        RELEASE_ORDER_RESERVATIONS,
        RELEASE_RESERVATION,
        REPORT_COMPLETION,
        SLA_DUE_AT,
        WRITE_LEDGER,
        db_call,
        wait_until,
    )

# Patches (docs/versioning.md): each guards a change to what running orders do.
RETURN_REDOES_DEPENDANTS = "order-return-redoes-dependants"
CUTOVER_NOTICE = "order-cutover-notice"
SERVICE_CLOSURE = "order-service-closure"


CLAIM_AT_CREATE = "order-claims-reservation-at-create"
STARTS_CALLBACKS = "order-starts-callbacks"
# An act's task changes and search-attribute upserts ride with the order's write (record_order_change, brief echo),
# as read-model-one-write does for tickets; it implies every earlier patch of the order (issue 18).
ORDER_ONE_WRITE = "order-one-write"


def circuit_id_for(order_id: str) -> str:
    """The circuit's ledger id derives from its order."""
    return f"CIR-{order_id}"


@workflow.defn(name="ProvisioningOrder")
class ProvisioningOrderWorkflow(ActBook[ProvisioningOrder, OrderAct]):
    """One circuit-provisioning order from dispatch to the circuit ledger (or its cancel)."""

    acts = OrderAct
    subject_type = "service_order"
    noun = action_prefix = "order"
    one_write_patch = ORDER_ONE_WRITE

    def __init__(self) -> None:
        super().__init__()
        self._rules: ProvisioningRules | None = None
        self._claimed_at_create = False
        self._cutover_notices: tuple[NotificationRecord, ...] = ()  # written with the act that produced them

    @property
    def order(self) -> ProvisioningOrder:
        """The order state (set before any message is accepted)."""
        return self.state

    def subject_id(self) -> str:
        """The order id."""
        return self.order.order_id

    # ---- lifecycle ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: OrderInput) -> OrderOutcome:
        """Plan and split the deadline, run the steps and the review loop, then complete or compensate."""
        await self.load_policy(start.policy)
        self._rules = await db_call(LOAD_PROVISIONING_RULES, start.rules or "default", result_type=ProvisioningRules)
        self._state = self._plan(start)
        self.set_status(OrderStatus.ACKNOWLEDGED, "order received")
        await self.save(self.audit(start.created_by, "order.create", start.request_id))
        if start.spec.reservation_id and self.patched_or_implied(CLAIM_AT_CREATE):
            self._claimed_at_create = True
            if not await self._claim_reservation():
                await workflow.wait_condition(workflow.all_handlers_finished)
                return self.outcome("finished")
        if start.spec.cutover is not None and self.patched_or_implied(CUTOVER_NOTICE):
            await self.save(notifications=self._announce_cutover(start.spec.cutover))
        while self.order.current is not None and self.order.cancel is None:
            step = self.order.step(self.order.current)
            if not await self._cutover_may_start(step):
                break
            task = await self._open_step(step)
            # Wait for the act that closed the task to finish changing the order (it holds the lock until saved).
            await workflow.wait_condition(self._step_settled(task.task_id))
        if self.order.cancel is not None:
            await self._compensate()
        elif self.order.spec.action == "delete" and self.patched_or_implied(SERVICE_CLOSURE):
            await self._close_circuit()
        else:
            await self._complete()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.outcome("finished")

    def _step_settled(self, task_id: str) -> Callable[[], bool]:
        """True once the step's task is closed (or the order cancelled) and the act that did it has saved."""
        return lambda: (
            (self._tasks[task_id].status != TaskStatus.OPEN or self.order.cancel is not None)
            and not self._lock.locked()
        )

    def _plan(self, start: OrderInput) -> ProvisioningOrder:
        """The step plan from the rules and each step's share of the requested completion date."""
        assert self._rules is not None
        now, spec = workflow.now(), start.spec
        plan = plan_steps(self._rules, spec)
        dues = split_deadline(self.snapshot.calendar, now, spec.requested_completion, [r.weight for r in plan])
        names = [r.step for r in plan]
        steps, begin = [], now
        for rule, due in zip(plan, dues, strict=True):
            steps.append(
                Step(
                    step=rule.step,
                    title=rule.title,
                    department=rule.department,
                    role=rule.role,
                    weight=rule.weight,
                    planned_start=begin,
                    planned_due=due,
                    due_at=due,
                    dependants=dependants_of(self._plan_rules(spec.action), names, rule.step),
                )
            )
            begin = due
        return ProvisioningOrder(
            order_id=start.order_id,
            workflow_id=workflow.info().workflow_id,
            spec=spec,
            description=start.description,
            external_id=start.external_id,
            scope=spec.scope,
            created_by=start.created_by.username,
            created_at=now,
            rules_name=self._rules.name,
            rules_version=self._rules.version,
            calendar_name=self.snapshot.calendar.name,
            calendar_version=self.snapshot.calendar.version,
            steps=steps,
            current=DISPATCH,
            plan_basis=plan_basis(spec),
        )

    def _plan_rules(self, action: str) -> tuple[StepRule, ...]:
        """The rules the order's steps come from (new circuits or closures)."""
        assert self._rules is not None
        return self._rules.closure_steps if action == "delete" else self._rules.steps

    # ---- cut-over ----------------------------------------------------------------------------

    def _announce_cutover(self, cutover: Cutover) -> tuple[NotificationRecord, ...]:
        """Tell the customer manager and the customer's contacts of the cut-over now; its notice period starts."""
        assert self._rules is not None
        order, spec, now = self.order, self.order.spec, workflow.now()
        notice_end = deadline(self.snapshot.calendar, now, self._rules.cutover_notice)
        manager = spec.check.customer_manager if spec.check else None
        window = f"{cutover.window_start.isoformat()} – {cutover.window_end.isoformat()}"
        step = order.step(cutover.step)
        message = f"Cut-over of order {order.order_id} ({step.title}) in the window {window}"
        manager_notice = NotificationRecord(
            key=f"{order.workflow_id}:cutover:manager",
            kind="cutover_notice",
            recipient_user=manager,
            recipient_department=None if manager else GROUP_CUSTOMER,
            workflow_id=order.workflow_id,
            created_at=now,
            message=f"{message}: tell customer {spec.customer_id or '(unnamed)'} (notice sent to its contacts)",
        )
        # The customer's contacts: recorded for delivery; contact data is resolved by the outbox, never kept here.
        customer_notice = NotificationRecord(
            key=f"{order.workflow_id}:cutover:customer",
            kind="cutover_notice_customer",
            recipient_department=GROUP_CUSTOMER,
            workflow_id=order.workflow_id,
            created_at=now,
            message=f"To the contacts of customer {spec.customer_id or '(unnamed)'}: {message}",
        )
        order.cutover = CutoverState(
            step=cutover.step,
            window_start=cutover.window_start,
            window_end=cutover.window_end,
            notified_at=now,
            earliest_start=max(notice_end, cutover.window_start),
            notice_period=self._rules.cutover_notice.label(),
            notices=[
                CutoverNotice(
                    audience="customer_manager",
                    recipient=manager or GROUP_CUSTOMER,
                    key=manager_notice.key,
                    at=now,
                ),
                CutoverNotice(
                    audience="customer_contacts",
                    recipient=spec.customer_id or "",
                    key=customer_notice.key,
                    at=now,
                ),
            ],
        )
        if order.cutover.earliest_start > cutover.window_end:
            order.jeopardy_alerts.append(
                JeopardyAlert(
                    id=str(len(order.jeopardy_alerts) + 1),
                    name=f"{cutover.step}:cutover",
                    jeopardy_type="warning",
                    message=f"{step.title}: the notice period ends at {order.cutover.earliest_start.isoformat()}, "
                    f"after the cut-over window ({window}); agree a new window with the customer",
                    date=now,
                    step=cutover.step,
                )
            )
        return manager_notice, customer_notice

    async def _cutover_may_start(self, step: Step) -> bool:
        """A cut-over step waits out its notice period (False when the order is cancelled meanwhile)."""
        cutover = self.order.cutover
        if cutover is None or cutover.step != step.step or cutover.started_at is not None:
            return True
        await wait_until(
            cutover.earliest_start, lambda: self.order.cancel is not None, summary="cut-over notice period"
        )
        if self.order.cancel is not None:
            return False
        cutover.started_at = workflow.now()
        return True

    async def _open_step(self, step: Step) -> HumanTask:
        """The step's task, due at its share of the deadline, with the rules' ladder."""
        assert self._rules is not None
        async with self._lock, self.one_write():
            task = await self.open_task(
                TaskRequest(
                    kind=step.step,
                    subject=f"{self.order.order_id}: {step.title}",
                    candidates=step.candidates,
                    outcomes=(),
                    due_at=step.due_at,
                    ladder=self._rules.ladder(),
                    ladder_clock="business",
                    business_ref=self.order.order_id,
                )
            )
            step.task_id, step.opened_at = task.task_id, task.opened_at
            self.upsert_search([SLA_DUE_AT.value_set(step.due_at)])
            await self.save()
        return task

    # ---- messages ----------------------------------------------------------------------------

    @workflow.query(name="order")
    def order_state(self) -> ProvisioningOrder:
        """The whole order: plan, steps, reviews, milestones, jeopardy alerts, cancel."""
        return self.order

    # ---- acts --------------------------------------------------------------------------------

    def check_act(self, act: OrderAct) -> None:
        """The rules of DOMAIN.md §3 (core.provisioning.check_act)."""
        check_act(self.order, act)

    async def apply(self, act: OrderAct) -> None:
        """Apply an accepted act to the order."""
        match act:
            case CompleteStep():
                await self._on_complete_step(act)
            case ReviewOrder():
                await self._on_review(act)
            case CancelOrder():
                self._on_cancel(act)
            case MarkCutover():
                self.patched_or_implied(CUTOVER_NOTICE)
                self._cutover_notices = self._announce_cutover(act.cutover)
            case _:
                assert_never(act)

    async def save_act(self, act: OrderAct, audit: AuditRecord) -> None:
        """A completed step's documents are written with the order."""
        if isinstance(act, CompleteStep) and act.documents:
            await self.save(audit, documents=act.documents, document_step=act.step, uploaded_by=act.actor.username)
        elif self._cutover_notices:
            notices, self._cutover_notices = self._cutover_notices, ()
            await self.save(audit, notifications=notices)
        else:
            await self.save(audit)

    async def _on_complete_step(self, act: CompleteStep) -> None:
        order, step, now = self.order, self.order.step(act.step), workflow.now()
        step.done_at, step.done_by, step.note = now, act.actor.username, act.note or None
        step.doers.append(act.actor.username)
        step.documents = [*step.documents, *act.documents]
        step.on_time = now <= step.due_at
        await self.close_task(step.task_id or "", "done", act.actor)
        order.milestones.append(
            Milestone(
                id=str(len(order.milestones) + 1),
                name=f"{step.step}Completed",
                step=step.step,
                date=now,
                message=f"{step.title}: done by {act.actor.username}" + ("" if step.on_time else " (late)"),
            )
        )
        if order.redo:
            following = order.redo.pop(0)
        else:
            following = REVIEW if order.back_to_review else order.steps[order.steps.index(step) + 1].step
            order.back_to_review = False
        order.current, order.step(following).task_id = following, None
        if following == REVIEW:
            self.set_status(OrderStatus.IN_REVIEW, "waiting for review")
        elif step.step == DISPATCH:
            self.set_status(OrderStatus.IN_PROGRESS, f"dispatched by {act.actor.username}")

    async def _on_review(self, act: ReviewOrder) -> None:
        order, review, now = self.order, self.order.step(REVIEW), workflow.now()
        order.reviews.append(
            Review(
                reviewer=act.actor.username,
                outcome=act.outcome,
                return_to=act.return_to,
                reason=act.reason or None,
                at=now,
            )
        )
        await self.close_task(review.task_id or "", "approved" if act.outcome == "approve" else "returned", act.actor)
        if act.outcome == "approve":
            review.done_at, review.done_by, review.on_time = now, act.actor.username, now <= review.due_at
            order.current = None
            order.milestones.append(
                Milestone(
                    id=str(len(order.milestones) + 1),
                    name="reviewApproved",
                    step=REVIEW,
                    date=now,
                    message=f"approved by {act.actor.username}",
                )
            )
            self.set_status(OrderStatus.COMPLETING, "review approved")
            return
        assert act.return_to is not None
        step = order.step(act.return_to)
        redo = [step]
        if self.patched_or_implied(RETURN_REDOES_DEPENDANTS):
            names = [s.step for s in order.steps]
            redo += [order.step(name) for name in dependants_of(self._plan_rules(order.spec.action), names, step.step)]
        due: datetime | None = None
        for again in redo:
            again.rework += 1
            again.done_at = again.done_by = again.on_time = None
            again.jeopardy = again.breached = False
            again.due_at = due = self._fresh_due(again, after=due)
            again.task_id = None
        review.due_at = self._fresh_due(review, after=due)
        order.current, order.back_to_review, order.redo = step.step, True, [s.step for s in redo[1:]]
        also = f" (then {', '.join(order.redo)})" if order.redo else ""
        self.set_status(OrderStatus.IN_PROGRESS, f"returned to {step.step}{also}: {act.reason}")

    def _on_cancel(self, act: CancelOrder) -> None:
        self.order.cancel = CancelRequest(
            cancel_id=act.cancel_id, reason=act.reason, requested_by=act.actor.username, requested_at=workflow.now()
        )
        self.set_status(OrderStatus.ASSESSING_CANCELLATION, act.reason)

    def _fresh_due(self, step: Step, *, after: datetime | None = None) -> datetime:
        """A reopened step gets its planned business-time budget again, counted from now (or from `after`)."""
        calendar = self.snapshot.calendar
        budget = calendar.working_seconds_between(step.planned_start, step.planned_due)
        return shift_by_working_seconds(calendar, after or workflow.now(), max(budget, 60.0))

    async def on_reassigned(self, task: HumanTask, arbitration: Arbitration) -> None:
        """An arbitration moved the step's task: the step moves to the decided department with it."""
        step = next((s for s in self.order.steps if s.task_id == task.task_id), None)
        if step is None or arbitration.decided_department is None:
            return
        async with self._lock:
            step.department, step.role = arbitration.decided_department, None
            await self.save()

    # ---- ladder --------------------------------------------------------------------------------

    async def on_rung(self, task: HumanTask, rung: LadderStep) -> None:
        """The warning threshold raises a jeopardy alert; the breach escalates and is recorded."""
        assert self._rules is not None
        step = next((s for s in self.order.steps if s.task_id == task.task_id), None)
        if step is None or self.order.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
            return
        if rung.percent != self._rules.warning_percent and rung.percent < 100:
            return
        async with self._lock:
            if rung.percent == self._rules.warning_percent:
                kind, step.jeopardy = "warning", True
                message = f"{step.title}: {rung.percent}% of the step's time used, due {step.due_at.isoformat()}"
            else:
                kind, step.breached = "breach", True
                message = f"{step.title}: overdue since {step.due_at.isoformat()}, escalated"
                self.upsert_search([ESCALATED.value_set(True)])
            alerts = self.order.jeopardy_alerts
            alerts.append(
                JeopardyAlert(
                    id=str(len(alerts) + 1),
                    name=f"{step.step}:{kind}",
                    jeopardy_type=kind,
                    message=message,
                    date=workflow.now(),
                    step=step.step,
                )
            )
            await self.save()

    # ---- the end -------------------------------------------------------------------------------

    async def _report_done(
        self, circuit_id: str, kind: str, milestone: str, message: str, **report: Any
    ) -> tuple[DocumentRef, ...]:
        """The order is done now: report it (报竣) to the group dispatch system, mark the milestone; its documents."""
        order, spec, now = self.order, self.order.spec, workflow.now()
        order.circuit_id, order.completed_at = circuit_id, now
        order.on_time = now <= spec.requested_completion
        order.cycle_seconds = (now - order.created_at).total_seconds()
        documents = tuple(d for s in order.steps for d in s.documents)
        order.dispatch_receipt = await workflow.execute_activity(
            REPORT_COMPLETION,
            CompletionReport(
                key=f"{order.order_id}:{kind}",
                order_id=order.order_id,
                circuit_id=circuit_id,
                circuit_type=spec.circuit_type,
                a_end=spec.a_end,
                z_end=spec.z_end,
                bandwidth=spec.bandwidth,
                completed_at=now,
                documents=documents,
                **report,
            ),
            result_type=str,
            start_to_close_timeout=EXTERNAL_TIMEOUT,
            retry_policy=EXTERNAL_RETRY,
        )
        order.milestones.append(
            Milestone(
                id=str(len(order.milestones) + 1),
                name=milestone,
                date=now,
                message=f"{message} ({order.dispatch_receipt})",
            )
        )
        return documents

    async def _complete(self) -> None:
        """Claim the reservation, report completion (报竣), tell the group-customer department, write the ledger."""
        order, spec, now = self.order, self.order.spec, workflow.now()
        if spec.reservation_id and not self._claimed_at_create and not await self._claim_reservation():
            return
        documents = await self._report_done(
            circuit_id_for(order.order_id),
            "completion",
            "completionReported",
            "reported to the group dispatch system",
        )
        await self._ledger(
            status="active",
            completed_at=now,
            on_time=order.on_time,
            cycle_seconds=order.cycle_seconds,
            documents=documents,
        )
        if self.patched_or_implied(STARTS_CALLBACKS):
            await self._start_callbacks(order.circuit_id or circuit_id_for(order.order_id))
        self.set_status(OrderStatus.COMPLETED, "circuit completed")
        await self._tell_group_customer(
            "completed",
            now,
            f"Circuit {order.circuit_id} ({spec.circuit_type.value}, {spec.bandwidth}) "
            f"of order {order.order_id} is complete",
        )

    async def _start_callbacks(self, circuit_id: str) -> None:
        """The activated circuit's callback schedule (core.callbacks), a workflow of its own that outlives the order."""
        order = self.order
        try:
            await workflow.start_child_workflow(
                "CustomerCallback",
                CallbackInput(
                    subject_type=SubjectType.CIRCUIT,
                    subject_id=circuit_id,
                    customer_id=order.spec.customer_id,
                    anchor=self.snapshot.calendar.local_date(workflow.now()),
                    started_by=Actor(username=SYSTEM_ACTOR),
                    request_id=f"{order.order_id}:callbacks",
                ),
                id=callbacks_workflow_id(SubjectType.CIRCUIT, circuit_id),
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:  # started by hand (POST /api/callbacks) meanwhile: that one stands
            workflow.logger.info("order %s: circuit %s already has a callback schedule", order.order_id, circuit_id)

    async def _close_circuit(self) -> None:
        """A closure: report it (报竣), close the circuit's ledger row, release its reservation, tell the department."""
        order, spec, now = self.order, self.order.spec, workflow.now()
        assert spec.circuit_id is not None
        await self._report_done(
            spec.circuit_id,
            "closure",
            "closureReported",
            "closure reported to the group dispatch system",
            action="delete",
        )
        try:
            await db_call(
                CLOSE_CIRCUIT,
                CircuitClosure(circuit_id=spec.circuit_id, closure_order_id=order.order_id, closed_at=now),
            )
        except ActivityError as err:  # the circuit is no longer active (closed meanwhile): a visible failure
            order.error = str(err.cause.message if isinstance(err.cause, ApplicationError) else err)
            self.set_status(OrderStatus.FAILED, f"the circuit could not be closed: {order.error}")
            await self.save()
            return
        if spec.circuit_order_id:  # the reservations the circuit's own order claimed end with the circuit
            await db_call(
                RELEASE_ORDER_RESERVATIONS,
                ReleaseOrderReservations(
                    order_id=spec.circuit_order_id,
                    reason=f"circuit {spec.circuit_id} closed by order {order.order_id}",
                ),
                result_type=list[ReservationState],
            )
        self.set_status(OrderStatus.COMPLETED, f"circuit {spec.circuit_id} closed")
        await self._tell_group_customer(
            "closed",
            now,
            f"Circuit {spec.circuit_id} ({spec.circuit_type.value}, {spec.bandwidth}) is closed by order "
            f"{order.order_id}; billing stops",
        )

    async def _tell_group_customer(self, kind: str, at: datetime, message: str) -> None:
        """Save the order with a notice to the group-customer department (one per order and kind)."""
        order = self.order
        notice = NotificationRecord(
            key=f"{order.workflow_id}:{kind}",
            kind=kind,
            recipient_department=GROUP_CUSTOMER,
            workflow_id=order.workflow_id,
            created_at=at,
            message=message,
        )
        await self.save(notifications=(notice,))

    async def _claim_reservation(self) -> bool:
        """Claim the order's reservation; when it cannot be claimed the order fails, saying why."""
        order = self.order
        assert order.spec.reservation_id is not None
        try:
            order.reservation = await db_call(
                CLAIM_RESERVATION,
                ClaimReservation(reservation_id=order.spec.reservation_id, order_id=order.order_id),
                result_type=ReservationState,
            )
        except ActivityError as err:
            order.error = str(err.cause.message if isinstance(err.cause, ApplicationError) else err)
            self.set_status(OrderStatus.FAILED, f"the reservation could not be claimed: {order.error}")
            await self.save()
            return False
        return True

    async def _compensate(self) -> None:
        """Cancel: release the reservation, close the open tasks, note the cancel in the ledger."""
        order, cancel = self.order, self.order.cancel
        assert cancel is not None
        await workflow.wait_condition(workflow.all_handlers_finished)
        async with self.one_write():  # the cancelled tasks ride with the cancel's last write
            cancel.state = "inProgress"
            self.set_status(OrderStatus.PENDING_CANCELLATION, "releasing what the order holds")
            await self.save()
            closure = order.spec.action == "delete"  # a cancelled closure leaves the circuit and its reservation alone
            reason = f"order {order.order_id} cancelled: {cancel.reason}"
            if self._claimed_at_create:  # only what this order claimed is released
                released = await db_call(
                    RELEASE_ORDER_RESERVATIONS,
                    ReleaseOrderReservations(order_id=order.order_id, reason=reason),
                    result_type=list[ReservationState],
                )
                order.reservation = next(
                    (r for r in released if r.reservation_id == order.spec.reservation_id), order.reservation
                )
            elif order.spec.reservation_id and not closure:
                try:
                    await db_call(
                        RELEASE_RESERVATION,
                        ReleaseReservation(
                            reservation_id=order.spec.reservation_id,
                            reason=reason,
                        ),
                    )
                except ActivityError as err:  # nothing to release (unknown reservation): the cancel goes on
                    workflow.logger.warning("order %s: reservation not released: %s", order.order_id, err.cause)
            await self.cancel_open_tasks(f"order cancelled: {cancel.reason}")
            order.current = None
            now = workflow.now()
            if not closure:
                await self._ledger(status="cancelled", cancelled_at=now, cancel_reason=cancel.reason)
            cancel.state, cancel.effective_at = "done", now
            self.set_status(OrderStatus.CANCELLED, cancel.reason)
            await self.save()

    async def _ledger(self, **entry: Any) -> None:
        order, spec = self.order, self.order.spec
        steps = tuple(
            dict(
                step=s.step,
                due_at=s.due_at.isoformat(),
                done_at=s.done_at.isoformat() if s.done_at else None,
                on_time=s.on_time,
                rework=s.rework,
                done_by=s.done_by,
            )
            for s in order.steps
        )
        await db_call(
            WRITE_LEDGER,
            LedgerEntry(
                circuit_id=circuit_id_for(order.order_id),
                order_id=order.order_id,
                circuit_type=spec.circuit_type,
                a_end=spec.a_end,
                z_end=spec.z_end,
                bandwidth=spec.bandwidth,
                ordered_at=order.created_at,
                requested_completion=spec.requested_completion,
                steps=steps,
                **entry,
            ),
        )

    # ---- helpers -----------------------------------------------------------------------------

    async def save(self, audit: AuditRecord | None = None, **extra: Any) -> None:
        """Write the order (and what came with the change) to the read model; under order-one-write with the task
        changes the act held for it."""
        if self.under_one_write():
            await self.write(
                RECORD_ORDER_CHANGE,
                lambda order: OrderChange(order=order, audit=audit, tasks=self.take_held(), **extra),
            )
        else:
            await self.write(RECORD_ORDER, lambda order: OrderSave(order=order, audit=audit, **extra))

    def outcome(self, message: str) -> OrderOutcome:
        """What an accepted act returns: id, status, revision."""
        order = self.order
        return OrderOutcome(order_id=order.order_id, status=order.status, revision=order.revision, message=message)
