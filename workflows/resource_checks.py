"""ResourceCheckWorkflow: one durable workflow per resource-check order (DOMAIN.md §2, TMF645).

Each round asks every department the rules name about every item (one human task per item and
department, due from the SLA policy and calendar, chased by the ladder, escalated to the department
head on breach), consolidates the answers by the TMF rule, sends complex solutions to a joint review
by the involved department heads, reserves the confirmed resources with an expiry, and reports back.
The requester accepts (the ledger records the check) or asks again (a new round; the old one is kept).
A cancel at any point closes the open tasks and releases what was reserved.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import assert_never

from temporalio import workflow

from workflows.acts import ActBook

with workflow.unsafe.imports_passed_through():
    from core.calendar import Budget, deadline
    from core.records import AuditRecord, NotificationRecord, TaskEvent
    from core.reservations import HoldReservation, ReleaseReservation, ReservationState, ReservationStatus
    from core.resource_checks import (
        FINISHED,
        REPORT_SIGNAL,
        WORKFLOW_TYPE,
        AcceptResult,
        Answer,
        Ask,
        CancelCheck,
        Chase,
        ChaseLine,
        CheckAct,
        CheckChange,
        CheckItem,
        CheckOutcome,
        CheckReport,
        CheckSave,
        CheckStatus,
        DepartmentAnswer,
        EscalateLine,
        Line,
        Message,
        Qualification,
        Recheck,
        Reply,
        RequirementChange,
        ResourceCheck,
        ResourceCheckInput,
        ResourceCheckRules,
        Review,
        Round,
        check_act,
        qualification_result,
    )
    from core.roles import SYSTEM_ACTOR, Actor, Role
    from core.sla import LadderStep
    from core.tasks import Candidates, DecisionInput, HumanTask, RefusalCode, TaskRefused, TaskRequest
    from core.tickets import AssignmentRules
    from workflows.common import (
        BUSINESS_REF,
        ESCALATED,
        HOLD_RESERVATION,
        ORDER_KIND,
        RECORD_CHECK_CHANGE,
        RECORD_RESOURCE_CHECK,
        RELEASE_RESERVATION,
        SLA_DUE_AT,
        db_call,
        wait_until,
    )

CIRCUIT_TYPES_PATCH = "circuit-type-vocabulary"


EXPIRY_RECORDED = "reservation-expiry-recorded"  # the expiry release says so: the reservation ends `expired`
# An act's task changes and search-attribute upserts ride with the check's write (record_check_change, brief echo),
# as read-model-one-write does for tickets; it implies every earlier patch of the check (issue 18).
CHECK_ONE_WRITE = "check-one-write"


@workflow.defn(name=WORKFLOW_TYPE)
class ResourceCheckWorkflow(ActBook[ResourceCheck, CheckAct]):
    """One resource check from request to ledger, through as many rounds as the requester asks for."""

    acts = CheckAct
    subject_type = action_prefix = "resource_check"
    noun = "check"
    reason_fields = ("reason", "note", "text")
    one_write_patch = CHECK_ONE_WRITE

    def __init__(self) -> None:
        super().__init__()
        self._rules = ResourceCheckRules()
        self._line_of: dict[str, Line] = {}  # task id → line
        self._requester_task: str | None = None
        self._expiries: list[asyncio.Task[None]] = []  # one per reserved round

    @property
    def check(self) -> ResourceCheck:
        """The check state (set before any message is accepted)."""
        return self.state

    def subject_id(self) -> str:
        """The check id."""
        return self.check.check_id

    # ---- lifecycle ---------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: ResourceCheckInput) -> CheckOutcome:
        """Consult, consolidate, review, reserve and report, round after round, until accepted or cancelled."""
        snapshot = await self.load_policy(start.policy)
        if snapshot.assignment:
            self._rules = AssignmentRules.model_validate(snapshot.assignment).resource_check
        self._state = ResourceCheck(
            check_id=start.check_id,
            workflow_id=workflow.info().workflow_id,
            request=start,
            created_at=start.created_at or workflow.now(),
            created_by=start.requested_by.username,
            policy_name=snapshot.policy.name,
            policy_version=snapshot.policy.version,
        )
        async with self.one_write():  # the search attributes in one upsert
            self.upsert_search([BUSINESS_REF.value_set(start.check_id), ORDER_KIND.value_set("resource_check")])
            self.set_status(CheckStatus.ACKNOWLEDGED, "requested")
        reason: str | None = ""
        while reason is not None and self.check.status != CheckStatus.CANCELLED:
            reason = await self._run_round(reason)
        await workflow.wait_condition(workflow.all_handlers_finished)
        async with self._lock, self.one_write():
            await self.cancel_open_tasks(f"check {self.check.status.value}")
            if self.check.status == CheckStatus.CANCELLED:
                await self._release_all(f"check cancelled: {self.check.cancel_reason}")
            self.check.finished_at = self.check.finished_at or workflow.now()
            await self.save(ledger=True)
        await self._tell_parent()
        await self._await_expiries()
        return self.outcome("finished")

    async def _run_round(self, reason: str) -> str | None:
        """One round; returns the next round's reason, or None when the check is finished."""
        async with self._lock, self.one_write():
            await self._open_round(reason)
        await workflow.wait_condition(self._answered_or_cancelled)
        if self._cancelled():
            return None
        current = self.check.round
        assert current is not None
        async with self._lock, self.one_write():  # a cancel may have slipped in since the wait: checked again
            if self._cancelled():
                return None
            self._consolidate(current)
            if current.complex:
                await self._open_reviews(current)
        if current.complex:
            await workflow.wait_condition(lambda: self._reviews_settled(current))
            rejected = next((r for r in current.reviews if r.decision == "reject"), None)
            if rejected is not None and not self._cancelled():
                async with self._lock, self.one_write():
                    await self.cancel_open_tasks("joint review rejected")
                    current.requester_decision = "review_rejected"
                    current.decision_reason = f"{rejected.department} head: {rejected.comment}"
                    await self.save()
                return f"joint review rejected by {rejected.department}: {rejected.comment}"
        async with self._lock, self.one_write():
            if self._cancelled():
                return None
            await self._reserve(current)
            await self._report(current)
        await workflow.wait_condition(lambda: current.requester_decision is not None)
        if current.requester_decision == "recheck":
            return current.decision_reason or "re-check"
        return None

    # ---- messages ----------------------------------------------------------------------------

    @workflow.query(name="check")
    def check_state(self) -> ResourceCheck:
        """The whole check: rounds, lines, answers, Q&A, chases, reviews, reservations."""
        return self.check

    # ---- acts --------------------------------------------------------------------------------

    def check_act(self, act: CheckAct) -> None:
        """The rules of DOMAIN.md §2 (core.resource_checks.check_act); a replayed act recorded before a rule was
        added is re-checked without it (a live act meets it in the validator, so its outcome never differs)."""
        check_act(self.check, act, workflow.now(), strict=not workflow.unsafe.is_replaying())

    async def apply(self, act: CheckAct) -> None:
        """Apply an accepted act to the check."""
        match act:
            case Answer():
                await self._on_answer(act)
            case Ask():
                await self._on_ask(act)
            case Reply():
                self._on_reply(act)
            case ChaseLine():
                await self._on_chase(act)
            case EscalateLine():
                await self._on_escalate(act)
            case AcceptResult():
                await self._on_accept(act)
            case Recheck():
                await self._on_recheck(act)
            case CancelCheck():
                self._on_cancel(act)
            case _:
                assert_never(act)

    async def save_act(self, act: CheckAct, audit: AuditRecord) -> None:
        """The ledger row is there when the act that finished the check answers."""
        await self.save(audit=audit, ledger=self.check.status in FINISHED)

    def _line(self, act: Answer | Ask | Reply | ChaseLine | EscalateLine) -> Line:
        line = self.check.round.line(act.item_id, act.department)  # type: ignore[union-attr]
        assert line is not None
        return line

    async def _on_answer(self, act: Answer) -> None:
        line = self._line(act)
        line.answer = DepartmentAnswer(
            result=act.result,
            proposal=act.proposal,
            reasons=act.reasons,
            resources=act.resources,
            new_construction=act.new_construction,
            construction=act.construction if act.new_construction else None,
            construction_days=act.construction_days if act.new_construction else None,
            ready_by=self._ready_by(act.construction_days) if act.new_construction else None,
            needs_procurement=act.needs_procurement,
            answered_by=act.actor.username,
            answered_at=workflow.now(),
        )
        assert line.task_id is not None
        await self.close_task(line.task_id, act.result.value, act.actor)

    def _ready_by(self, working_days: int | None) -> datetime | None:
        """When a construction estimated at `working_days` is ready, counted from now on the check's calendar."""
        if working_days is None:
            return None
        return deadline(self.snapshot.calendar, workflow.now(), Budget(amount=working_days, unit="working_days"))

    async def _on_ask(self, act: Ask) -> None:
        line = self._line(act)
        line.messages.append(Message(at=workflow.now(), author=act.actor.username, kind="question", text=act.text))
        await self._notify(line, "question", f"Question on item {line.item_id}: {act.text}", f"q{len(line.messages)}")

    def _on_reply(self, act: Reply) -> None:
        self._line(act).messages.append(
            Message(at=workflow.now(), author=act.actor.username, kind="answer", text=act.text)
        )

    async def _on_chase(self, act: ChaseLine) -> None:
        line = self._line(act)
        line.chases.append(Chase(at=workflow.now(), kind="manual", by=act.actor.username, note=act.note))
        note = f": {act.note}" if act.note else ""
        await self._notify(line, "chase", f"Chase: please answer item {line.item_id}{note}", f"chase{len(line.chases)}")

    async def _on_escalate(self, act: EscalateLine) -> None:
        """The coordinator's escalation: recorded as a chase, the department head told (as the ladder's breach does)."""
        line = self._line(act)
        line.chases.append(Chase(at=workflow.now(), kind="escalation", by=act.actor.username, note=act.note))
        await self._escalate(line, f"head{len(line.chases)}")

    async def _escalate(self, line: Line, suffix: str) -> None:
        """Mark the line escalated, tell its department head, flag the workflow as escalated."""
        line.escalated = True
        head = self._rules.department_heads.get(line.department)
        if head:
            await self._notify(
                line,
                "escalate",
                f"Escalated: {line.department} has not answered item "
                f"{line.item_id} by {line.due_at.isoformat() if line.due_at else 'its deadline'}",
                suffix,
                to_user=head,
            )
        self.upsert_search([ESCALATED.value_set(True)])

    async def _on_accept(self, act: AcceptResult) -> None:
        current = self.check.round
        assert current is not None
        current.requester_decision = "accepted"
        await self._close_requester_task(act.actor, "accepted")
        self.check.finished_at = workflow.now()
        self.set_status(CheckStatus.ACCEPTED, f"accepted by {act.actor.username}")

    async def _on_recheck(self, act: Recheck) -> None:
        current = self.check.round
        assert current is not None
        current.requester_decision, current.decision_reason = "recheck", act.reason
        current.requested_changes = list(act.changes)
        await self._close_requester_task(act.actor, "recheck")
        await self._release(current, f"re-check requested: {act.reason}")

    def _on_cancel(self, act: CancelCheck) -> None:
        self.check.cancel_reason = act.reason
        self.check.finished_at = workflow.now()
        if self.check.round is not None and self.check.round.requester_decision is None:
            self.check.round.requester_decision = "cancelled"
        self.set_status(CheckStatus.CANCELLED, act.reason)

    # ---- joint review (generic task decisions) -------------------------------------------------

    def check_decision_data(self, task: HumanTask, decision: DecisionInput) -> None:
        """Four-eyes: a department head who answered an item of this round may not review it."""
        current = self.check.round
        if task.kind == "rc_review" and current is not None:
            answered = {line.answer.answered_by for line in current.lines if line.answer}
            if decision.actor.username in answered:
                raise TaskRefused(
                    RefusalCode.FORBIDDEN,
                    f"four-eyes: {decision.actor.username} answered an item of this round "
                    "and cannot review the solution",
                )

    async def on_decided(self, task: HumanTask, decision: DecisionInput) -> None:
        """Record a joint-review decision on its round."""
        current = self.check.round
        review = next((r for r in current.reviews if r.task_id == task.task_id), None) if current else None
        if review is None:
            return
        async with self._lock:
            review.decision = "approve" if decision.outcome == "approve" else "reject"
            review.decided_by, review.comment = decision.actor.username, decision.comment
            await self.save()

    # ---- chasing -----------------------------------------------------------------------------

    async def on_rung(self, task: HumanTask, rung: LadderStep) -> None:
        """Every ladder rung on a department task is a chase; the breach escalates to the department head."""
        line = self._line_of.get(task.task_id)
        if line is None or line.answer is not None:
            return
        async with self._lock:
            escalate = rung.action == "escalate"
            kind = "escalation" if escalate else "reminder"
            line.chases.append(
                Chase(at=workflow.now(), kind=kind, by=SYSTEM_ACTOR, note=f"{rung.percent}% of the time used")
            )
            if escalate:
                await self._escalate(line, f"head{len(line.chases)}")
            await self.save()

    # ---- steps -------------------------------------------------------------------------------

    def _next_items(self) -> tuple[list[CheckItem], list[RequirementChange]]:
        """The requirements of the next round: the last round's, with the re-check's changes made (and the diff)."""
        items, diff = list(self.check.items), []
        previous = self.check.round
        for change in previous.requested_changes if previous else []:
            index = next(i for i, item in enumerate(items) if item.item_id == change.item_id)
            before, after = items[index], change.applied_to(items[index])
            for field in ("bandwidth", "sites", "wanted_date"):
                if getattr(before, field) != getattr(after, field):
                    diff.append(
                        RequirementChange(
                            item_id=before.item_id,
                            field=field,
                            before=getattr(before, field),
                            after=getattr(after, field),
                        )
                    )
            items[index] = after
        return items, diff

    async def _open_round(self, reason: str) -> None:
        now, calendar, policy = workflow.now(), self.snapshot.calendar, self.snapshot.policy
        items, changes = self._next_items()
        current = Round(
            number=len(self.check.rounds) + 1,
            started_at=now,
            reason=reason,
            due_at=deadline(calendar, now, policy.task_budget("resource_check")),
            items=items,
            changes=changes,
        )
        self.check.rounds.append(current)
        self.set_status(CheckStatus.CONSULTING, reason or "consulting the departments")
        self.upsert_search([SLA_DUE_AT.value_set(current.due_at)])
        canonical = self.patched_or_implied(
            CIRCUIT_TYPES_PATCH
        )  # before it, `mpls_vpn` did not match a `mpls-vpn` rule
        for item in current.items:
            for department in self._rules.departments_for(item, canonical=canonical):
                line = Line(item_id=item.item_id, department=department)
                current.lines.append(line)
                subject = (
                    f"{item.service_type} {item.circuit_type or ''} {item.bandwidth} at "
                    f"{', '.join(item.sites)} by {item.wanted_date.isoformat()}: can you serve it?"
                )
                task = await self.open_task(
                    self._request("rc_answer", f"item {item.item_id}: {subject}", Candidates(department=department))
                )
                line.task_id, line.due_at = task.task_id, task.due_at
                self._line_of[task.task_id] = line
        await self.save()

    def _cancelled(self) -> bool:
        """Asked afresh after every wait: a cancel may arrive while the round waits."""
        return self.check.status == CheckStatus.CANCELLED

    def _answered_or_cancelled(self) -> bool:
        current = self.check.round
        return self.check.status == CheckStatus.CANCELLED or (
            current is not None and all(line.answer for line in current.lines)
        )

    def _consolidate(self, current: Round) -> None:
        """Per item over its departments, then over the items: the TMF rule; complex by the rules' flags."""
        for item in current.items:
            results = [line.answer.result for line in current.lines if line.item_id == item.item_id and line.answer]
            current.item_results[item.item_id] = qualification_result(results)
        current.result = qualification_result(current.item_results.values())
        answers = [line.answer for line in current.lines if line.answer]
        current.complex = current.result != Qualification.UNQUALIFIED and (
            (self._rules.joint_review_on_alternate and current.result == Qualification.ALTERNATE)
            or (self._rules.joint_review_on_new_construction and any(a.new_construction for a in answers))
        )

    async def _open_reviews(self, current: Round) -> None:
        self.set_status(CheckStatus.JOINT_REVIEW, f"complex solution ({current.result}): joint review")
        for department in dict.fromkeys(line.department for line in current.lines):
            head = self._rules.department_heads.get(department)
            # The head decides; a service supervisor stands in when the head answered an item (four-eyes).
            candidates = (
                Candidates(assignee=head, roles=(Role.SUPERVISOR,)) if head else Candidates(roles=(Role.SUPERVISOR,))
            )
            task = await self.open_task(
                self._request(
                    "rc_review",
                    f"joint review of the {current.result} solution (round {current.number}) for {department}",
                    candidates,
                    outcomes=("approve", "reject"),
                )
            )
            current.reviews.append(Review(department=department, task_id=task.task_id, head=head))
        await self.save()

    def _reviews_settled(self, current: Round) -> bool:
        decisions = [r.decision for r in current.reviews]
        return self.check.status == CheckStatus.CANCELLED or "reject" in decisions or all(decisions)

    async def _reserve(self, current: Round) -> None:
        """Hold each confirmed item's resources until the validity runs out; the expiry runs on its own."""
        if current.result == Qualification.UNQUALIFIED:
            return
        expires = deadline(self.snapshot.calendar, workflow.now(), self._rules.reservation_validity)
        for item_id, result in current.item_results.items():
            if result == Qualification.UNQUALIFIED:
                continue
            resources = {
                line.department: line.answer.resources
                for line in current.lines
                if line.item_id == item_id and line.answer
            }
            hold = HoldReservation(
                reservation_id=f"{self.check.check_id}-r{current.number}-{item_id}",
                check_id=self.check.check_id,
                item_id=item_id,
                resources=resources,
                expires_at=expires,
            )
            state = await db_call(HOLD_RESERVATION, hold, result_type=ReservationState)
            current.reservations.append(state)
        if current.reservations:
            self._expiries.append(asyncio.create_task(self._expire(current)))

    async def _report(self, current: Round) -> None:
        current.reported_at = workflow.now()
        self.set_status(CheckStatus.AWAITING_REQUESTER, f"result {current.result}: reported to the requester")
        requester = self.check.request.requested_by
        task = await self.open_task(
            self._request(
                "rc_requester",
                f"result {current.result} (round {current.number}): accept it or ask for a re-check",
                Candidates(assignee=requester.username, department=requester.department),
                outcomes=(),
            )
        )
        self._requester_task = task.task_id
        await self.save()

    async def _close_requester_task(self, actor: Actor, outcome: str) -> None:
        if self._requester_task:
            await self.close_task(self._requester_task, outcome, actor)
            self._requester_task = None

    # ---- reservations --------------------------------------------------------------------------

    async def _expire(self, current: Round) -> None:
        """At the expiry, release what no order claimed (the database decides a race with a claim)."""
        released = lambda: all(r.status == ReservationStatus.RELEASED for r in current.reservations)  # noqa: E731
        summary = f"reservations of round {current.number} expire"
        if not await wait_until(current.reservations[0].expires_at, released, summary=summary):
            async with self._lock, self.one_write():
                expiry = self.patched_or_implied(EXPIRY_RECORDED)
                await self._release(current, "expired: no order claimed it", only_if_unclaimed=True, expiry=expiry)
                await self.save(ledger=self.check.status in FINISHED)

    async def _release(
        self, current: Round, reason: str, *, only_if_unclaimed: bool = True, expiry: bool = False
    ) -> None:
        """Release a round's held reservations; one an order claimed stays with the order."""
        for index, state in enumerate(current.reservations):
            if state.status != ReservationStatus.HELD:
                continue
            release = ReleaseReservation(
                reservation_id=state.reservation_id, reason=reason, only_if_unclaimed=only_if_unclaimed, expiry=expiry
            )
            current.reservations[index] = await db_call(RELEASE_RESERVATION, release, result_type=ReservationState)

    async def _release_all(self, reason: str) -> None:
        for current in self.check.rounds:
            await self._release(current, reason)

    async def _await_expiries(self) -> None:
        """Stay until every round's expiry is over (released early, or released/kept at the expiry), writes included."""
        await asyncio.gather(*self._expiries)
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _tell_parent(self) -> None:
        """A child check reports its outcome to the parent at once (it lives on until its reservations expire)."""
        parent = workflow.info().parent
        if parent is None:
            return
        current = self.check.round
        report = CheckReport(
            check_id=self.check.check_id,
            status=self.check.status,
            result=self.check.result,
            item_results=dict(current.item_results) if current else {},
            reservations=tuple(current.reservations) if current else (),
            rounds=len(self.check.rounds),
            on_time=self.check.on_time,
        )
        try:
            await workflow.get_external_workflow_handle(parent.workflow_id, run_id=parent.run_id).signal(
                REPORT_SIGNAL, report
            )
        except Exception as err:
            workflow.logger.warning(
                "check %s could not report to its parent: %s", self.check.check_id, type(err).__name__
            )

    # ---- helpers -----------------------------------------------------------------------------

    def _request(
        self, kind: str, subject: str, candidates: Candidates, *, outcomes: tuple[str, ...] = ()
    ) -> TaskRequest:
        return TaskRequest(
            kind=kind,
            subject=f"{self.check.check_id}: {subject}",
            candidates=candidates,
            outcomes=outcomes,
            business_ref=self.check.check_id,
            requested_by=None,
            ladder_clock="business",
        )

    async def _notify(self, line: Line, kind: str, message: str, suffix: str, *, to_user: str | None = None) -> None:
        """Tell the line's department (or a named person) something, through the task read-model write."""
        key = f"{line.task_id}:{suffix}:r{self.check.round.number if self.check.round else 0}"
        notice = NotificationRecord(
            key=key,
            kind=kind,
            message=f"{self.check.check_id}: {message}",
            task_id=line.task_id,
            workflow_id=self.check.workflow_id,
            created_at=workflow.now(),
            recipient_user=to_user,
            recipient_department=None if to_user else line.department,
        )
        await self.record_event(TaskEvent(notifications=(notice,)))

    async def save(self, audit: AuditRecord | None = None, *, ledger: bool = False) -> None:
        """Write the check (with the act's audit row, and the ledger row once finished) to the read model; under
        check-one-write with the task changes the act held for it."""
        if self.under_one_write():
            await self.write(
                RECORD_CHECK_CHANGE,
                lambda check: CheckChange(check=check, audit=audit, ledger=ledger, tasks=self.take_held()),
            )
        else:
            await self.write(RECORD_RESOURCE_CHECK, lambda check: CheckSave(check=check, audit=audit, ledger=ledger))

    def outcome(self, message: str) -> CheckOutcome:
        """What an accepted act returns: id, status, revision."""
        check = self.check
        return CheckOutcome(check_id=check.check_id, status=check.status, revision=check.revision, message=message)
