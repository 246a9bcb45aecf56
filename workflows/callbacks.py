"""CustomerCallbackWorkflow: one durable schedule of phone callbacks per activated circuit or major customer.

Why a workflow and not a Temporal Schedule: the time-skipping test server implements no Schedule API
(`create_schedule` answers "Method temporal.api.workflowservice.v1.WorkflowService/CreateSchedule is
unimplemented", and the done-when test runs on it); a Schedule would also fire a fresh workflow per callback,
with the cadence change at month 12 as two schedules, and each callback is a human task with a ladder anyway.

So each run handles one callback (core.callbacks): wait for its opening on the business calendar, check the
subject still wants callbacks (a closed circuit ends the schedule), open the callback task for the agents, take
its result form through the `decide` update (reached or not, satisfied, needs; needs raise a new ticket through
the ticket service), close it as missed when the next one opens first, then continue as new with the next
number. History stays one callback long; task ids stay unique across runs: the task counter starts at the number.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.tasks import HumanTaskBook, refused

with workflow.unsafe.imports_passed_through():
    from core.callbacks import (
        CALLBACK_BUDGET,
        CALLBACK_KIND,
        CALLBACK_OUTCOMES,
        REACHED,
        UNREACHABLE,
        Callback,
        CallbackInput,
        CallbackOutcome,
        CallbackSave,
        CallbackStatus,
        CallbackTicket,
        StopCallbacks,
        SubjectState,
        callback_window,
        check_callback_form,
        check_stop,
        first_upcoming,
    )
    from core.records import AuditRecord
    from core.roles import Actor, Role
    from core.tasks import Candidates, DecisionInput, HumanTask, RefusalCode, TaskRequest
    from workflows.common import LOAD_CALLBACK_SUBJECT, RAISE_CALLBACK_TICKET, RECORD_CALLBACK, db_call, wait_until

CALLBACK_CANDIDATES = Candidates(roles=(Role.AGENT, Role.SUPERVISOR))  # customer service makes the calls


def refused_not_ready() -> Exception:
    """The schedule is still being set up: the API retries briefly."""
    return refused(RefusalCode.NOT_READY, "the callback schedule is still being set up; retry shortly")


@workflow.defn(name="CustomerCallback")
class CustomerCallbackWorkflow(HumanTaskBook):
    """One subject's callbacks, one per run: monthly in the first year, quarterly after."""

    def __init__(self) -> None:
        super().__init__()
        self._callback: Callback | None = None
        self._stop: StopCallbacks | None = None
        self._applying = False  # a result is being recorded (its ticket raised): the run waits for it

    @workflow.run
    async def run(self, start: CallbackInput) -> CallbackOutcome:
        """Wait for this run's callback, open it, take its result (or mark it missed), continue with the next."""
        await self.load_policy(start.policy)
        calendar, budget = self.snapshot.calendar, self.snapshot.policy.task_budgets.get(CALLBACK_KIND)
        budget = budget or CALLBACK_BUDGET
        number = start.number or first_upcoming(calendar, start.anchor, workflow.now(), budget)
        self._task_seq = number - 1
        window = callback_window(calendar, start.anchor, number, budget)
        callback = self._callback = Callback(
            callback_id=f"{workflow.info().workflow_id}:{number}",
            workflow_id=workflow.info().workflow_id,
            subject_type=start.subject_type,
            subject_id=start.subject_id,
            customer_id=start.customer_id,
            number=number,
            scheduled_for=window.scheduled_for,
            opens_at=window.opens_at,
            due_at=window.due_at,
        )
        first = start.number == 0
        await self._save(self._journal(start.started_by, "callbacks.start", start.request_id) if first else None)

        def stopping() -> bool:
            return self._stop is not None

        if not await wait_until(window.opens_at, stopping, summary=f"callback {number} opens"):
            subject = await db_call(LOAD_CALLBACK_SUBJECT, start, result_type=SubjectState)
            if subject == SubjectState.ENDED:
                return await self._end(CallbackStatus.STOPPED, f"{start.subject_type.value} {start.subject_id} ended")
            await self._open(start)
            following = callback_window(calendar, start.anchor, number + 1, budget)

            def settled() -> bool:
                return (callback.status != CallbackStatus.OPEN and not self._applying) or stopping()

            if not await wait_until(following.opens_at, settled, summary="result or next"):
                callback.status = CallbackStatus.MISSED
                await self.cancel_open_tasks(f"missed: callback {number + 1} is open now")
                await self._save()
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._applying)
        if self._stop is not None:
            return await self._end(CallbackStatus.STOPPED, self._stop.reason)
        workflow.continue_as_new(start.model_copy(update={"number": number + 1}))

    async def _open(self, start: CallbackInput) -> None:
        callback = self.callback
        who = f"customer {start.customer_id}" if start.customer_id else ""
        subject = f"{start.subject_type.value} {start.subject_id}"
        task = await self.open_task(
            TaskRequest(
                kind=CALLBACK_KIND,
                subject=f"Callback {callback.number} to {who or subject}" + (f" ({subject})" if who else ""),
                candidates=CALLBACK_CANDIDATES,
                outcomes=CALLBACK_OUTCOMES,
                due_at=callback.due_at,
                ladder_clock="business",
                business_ref=start.subject_id,
                comment_required_for=(UNREACHABLE,),
            )
        )
        callback.task_id, callback.status = task.task_id, CallbackStatus.OPEN
        await self._save()

    async def _end(self, status: CallbackStatus, reason: str) -> CallbackOutcome:
        """The schedule ends: this run's callback (not yet done) and its task are closed."""
        callback = self.callback
        audit = None
        if self._stop is not None:
            audit = self._journal(self._stop.actor, "callbacks.stop", self._stop.request_id, reason=reason)
        if callback.status in (CallbackStatus.SCHEDULED, CallbackStatus.OPEN):
            callback.status = status
            await self.cancel_open_tasks(f"callbacks stopped: {reason}")
        await self._save(audit)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return CallbackOutcome(workflow_id=callback.workflow_id, last_number=callback.number, status=status.value)

    # ---- the result form -----------------------------------------------------------------------

    def check_decision_data(self, task: HumanTask, decision: DecisionInput) -> None:
        """The result form must fit the outcome (core.callbacks.check_callback_form)."""
        check_callback_form(decision.outcome, decision.data)

    async def on_decided(self, task: HumanTask, decision: DecisionInput) -> None:
        """Record the result; needs raise a new ticket, registered by whoever made the call."""
        callback = self.callback
        if task.task_id != callback.task_id:
            return
        form = check_callback_form(decision.outcome, decision.data)
        self._applying = True
        try:
            callback.status = CallbackStatus.REACHED if decision.outcome == REACHED else CallbackStatus.UNREACHABLE
            callback.satisfied, callback.needs = form.satisfied, form.needs.strip()
            callback.done_by, callback.done_at = decision.actor.username, workflow.now()
            audit = None
            if callback.needs:
                callback.ticket_no = await db_call(
                    RAISE_CALLBACK_TICKET,
                    CallbackTicket(
                        request_id=f"{callback.callback_id}:ticket",
                        callback_id=callback.callback_id,
                        subject_type=callback.subject_type,
                        subject_id=callback.subject_id,
                        customer_id=callback.customer_id,
                        needs=callback.needs,
                        actor=decision.actor,
                        at=workflow.now(),
                    ),
                    result_type=str,
                )
                audit = self._journal(
                    decision.actor,
                    "callback.needs_raised",
                    f"{decision.request_id}:needs",
                    reason=f"ticket {callback.ticket_no}",
                )
            await self._save(audit)
        finally:
            self._applying = False

    # ---- messages ----------------------------------------------------------------------------

    @workflow.query(name="callback")
    def current(self) -> Callback:
        """This run's callback."""
        return self.callback

    @workflow.update(name="stop")
    async def stop(self, stop: StopCallbacks) -> CallbackOutcome:
        """End the schedule after this run's callback (a supervisor, coordinator or administrator)."""
        self._refuse_unless(check_stop, stop.actor, self._stop is not None)
        self._stop = stop
        return CallbackOutcome(
            workflow_id=self.callback.workflow_id, last_number=self.callback.number, status="stopping"
        )

    @stop.validator
    def _validate_stop(self, stop: StopCallbacks) -> None:
        if self._callback is None:
            raise refused_not_ready()
        self._refuse_unless(check_stop, stop.actor, self._stop is not None)

    # ---- helpers -------------------------------------------------------------------------------

    @property
    def callback(self) -> Callback:
        """This run's callback (set before any message is accepted)."""
        if self._callback is None:
            raise refused_not_ready()
        return self._callback

    def _journal(self, actor: Actor, action: str, request_id: str, *, reason: str | None = None) -> AuditRecord:
        callback = self.callback
        return AuditRecord.by(
            actor,
            action,
            "callback",
            callback.callback_id,
            at=workflow.now(),
            request_id=request_id,
            workflow_id=callback.workflow_id,
            reason=reason,
            details={"subject": f"{callback.subject_type.value}:{callback.subject_id}", "number": callback.number},
        )

    async def _save(self, audit: AuditRecord | None = None) -> None:
        callback = self.callback
        callback.revision += 1
        await db_call(RECORD_CALLBACK, CallbackSave(callback=callback.model_copy(), audit=audit))
