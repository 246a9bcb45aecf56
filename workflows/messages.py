"""MessageThreadWorkflow: one customer message thread, from receipt to the answer (DOMAIN.md §6, seed 000).

The acknowledgement and the answer are two deadlines of the message SLA the run pins at start (channel × urgency ×
received on a working day, on the business calendar), each a human task for the agents with the policy's ladder:
reminders, escalation to the supervisor and the breach at 100 %. The acts (core.messages) acknowledge, answer, mark
the problem complex (the complex budget) or explain to the customer that it takes longer (a new answer time, only
before the due time). What the center tells the customer goes out through the outbox with the read-model write.
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from temporalio import workflow

from workflows.acts import ActBook

with workflow.unsafe.imports_passed_through():
    from core.calendar import Clock, clock_of
    from core.messages import (
        ACKNOWLEDGE,
        ANSWER,
        Acknowledge,
        AnswerMessage,
        Entry,
        FollowUp,
        MarkComplex,
        MessageAct,
        TakesLonger,
        Thread,
        ThreadInput,
        ThreadOutcome,
        ThreadSave,
        ThreadStatus,
        acknowledgement_text,
        check_act,
        complex_answer_due,
        deadlines,
    )
    from core.records import AuditRecord
    from core.roles import Actor, Role
    from core.sla import Urgency
    from core.tasks import Candidates, RefusalCode, TaskRefused, TaskRequest
    from workflows.common import RECORD_MESSAGE_THREAD, SLA_DUE_AT


@workflow.defn(name="MessageThread")
class MessageThreadWorkflow(ActBook[Thread, MessageAct]):
    """One message thread: acknowledged and answered on time, or explained before it is late."""

    acts = MessageAct
    subject_type = "message_thread"
    noun = "message"
    action_prefix = "message"
    reason_fields = ("reason", "explanation")

    def __init__(self) -> None:
        super().__init__()
        self._task: dict[str, str] = {}  # ACKNOWLEDGE / ANSWER → task id
        self._send: int | None = None  # the entry the next save sends to the customer

    @property
    def thread(self) -> Thread:
        """The thread state (set before any act is accepted)."""
        return self.state

    def subject_id(self) -> str:
        """The thread number."""
        return self.thread.thread_id

    @workflow.query(name="thread")
    def thread_state(self) -> Thread:
        """The whole thread: messages, deadlines, status."""
        return self.thread

    @workflow.run
    async def run(self, start: ThreadInput) -> ThreadOutcome:
        """Open the two deadlines, take acts until the answer went out."""
        snapshot = await self.load_policy(start.policy)
        sla = snapshot.policy.messages
        working_day, acknowledge_due, answer_due = deadlines(sla, snapshot.calendar, start)
        self._state = Thread(
            thread_id=start.thread_id,
            workflow_id=workflow.info().workflow_id,
            request=start,
            received_on_working_day=working_day,
            policy_name=snapshot.policy.name,
            policy_version=snapshot.policy.version,
            calendar_name=snapshot.calendar.name,
            calendar_version=snapshot.calendar.version,
            acknowledge_due=acknowledge_due,
            answer_due=answer_due,
            entries=[Entry(at=start.received_at, direction="in", kind="message", by="customer", text=start.body)],
        )
        urgent = start.urgency == Urgency.URGENT
        async with self._lock:
            self.set_status(ThreadStatus.RECEIVED, f"received by {start.channel.value}")
            await self.save(self.audit(start.created_by, "message.create", start.request_id))
            acknowledge = await self.open_task(
                self._request(
                    ACKNOWLEDGE,
                    f"acknowledge the {start.urgency.value} {start.channel.value} message",
                    acknowledge_due,
                    clock_of(sla.acknowledge_budget(start.channel, start.urgency, working_day)),
                    urgent,
                )
            )
            answer = await self.open_task(
                self._request(ANSWER, "answer the message", answer_due, clock_of(sla.answer_general), urgent)
            )
            self._task = {ACKNOWLEDGE: acknowledge.task_id, ANSWER: answer.task_id}
        await workflow.wait_condition(lambda: self.thread.status == ThreadStatus.ANSWERED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.outcome("answered")

    # ---- acts --------------------------------------------------------------------------------

    def check_act(self, act: MessageAct) -> None:
        """The rules of DOMAIN.md §6 (core.messages.check_act)."""
        if not self._task:
            raise TaskRefused(RefusalCode.NOT_READY, "the message is still being registered; retry shortly")
        check_act(self.thread, act, workflow.now())

    async def apply(self, act: MessageAct) -> None:
        """Apply an accepted act to the thread."""
        thread, now = self.thread, workflow.now()
        match act:
            case Acknowledge():
                text = act.text or acknowledgement_text(thread, self.snapshot.calendar)
                self._out("acknowledgement", act.actor.username, text, due_at=thread.answer_due)
                await self._acknowledged(act.actor, "acknowledged")
            case AnswerMessage():
                self._out("answer", act.actor.username, act.text)
                if thread.status == ThreadStatus.RECEIVED:
                    await self._acknowledged(act.actor, "answered")
                thread.answered_at, thread.answered_by = now, act.actor.username
                await self.close_task(self._task[ANSWER], "answered", act.actor)
                self.set_status(ThreadStatus.ANSWERED, "answered")
            case MarkComplex():
                thread.complex = True
                due = complex_answer_due(self.snapshot.policy.messages, self.snapshot.calendar, thread)
                await self._move_answer(due, "marked complex")
            case TakesLonger():
                thread.extended = True
                self._out("explanation", act.actor.username, act.explanation, due_at=act.answer_by)
                await self._move_answer(act.answer_by, "takes longer, explained to the customer")
            case FollowUp():
                thread.entries.append(
                    Entry(at=act.received_at, direction="in", kind="message", by="customer", text=act.text)
                )
            case _:
                assert_never(act)

    async def save(self, audit: AuditRecord | None = None) -> None:
        """Write the thread (and the entry to send, if any) to the read model."""
        send, self._send = self._send, None
        await self.write(RECORD_MESSAGE_THREAD, lambda thread: ThreadSave(thread=thread, audit=audit, send=send))

    def outcome(self, message: str) -> ThreadOutcome:
        """The thread's number and status."""
        return ThreadOutcome(thread_id=self.thread.thread_id, status=self.thread.status, message=message)

    # ---- helpers -----------------------------------------------------------------------------

    def _request(self, kind: str, subject: str, due: datetime, clock: Clock, urgent: bool) -> TaskRequest:
        return TaskRequest(
            kind=kind,
            subject=f"{self.thread.thread_id}: {subject}",
            candidates=Candidates(roles=(Role.AGENT,)),
            outcomes=(),
            due_at=due,
            ladder_clock=clock,
            business_ref=self.thread.thread_id,
            priority=100 if urgent else 0,
            notify_roles=(Role.SUPERVISOR,) if urgent else (),
        )

    def _out(self, kind: str, by: str, text: str, *, due_at: datetime | None = None) -> None:
        """Add what the center tells the customer; the next save sends it."""
        self.thread.entries.append(
            Entry(at=workflow.now(), direction="out", kind=kind, by=by, text=text, due_at=due_at)
        )
        self._send = len(self.thread.entries) - 1

    async def _acknowledged(self, actor: Actor, outcome: str) -> None:
        thread = self.thread
        thread.acknowledged_at, thread.acknowledged_by = workflow.now(), actor.username
        await self.close_task(self._task[ACKNOWLEDGE], outcome, actor)
        self.set_status(ThreadStatus.ACKNOWLEDGED, outcome)

    async def _move_answer(self, due: datetime, reason: str) -> None:
        """Move the answer deadline (its task's ladder, the SlaDueAt search attribute); `reason` is logged, so it
        never quotes the person's free text."""
        self.thread.answer_due = due
        workflow.upsert_search_attributes([SLA_DUE_AT.value_set(due)])
        await self.move_due(self._task[ANSWER], due, reason=reason)
