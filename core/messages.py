"""Customer message threads (DOMAIN.md §6 "message response times", seed 000): an e-mail or online message becomes
a thread attached to its customer (and to their ticket when they quote its number), acknowledged and answered within
the message SLA of the pinned policy (core.sla.MessageSla). A longer time is explained to the customer before the
answer is due ("takes longer"); after the due time it is a breach, not an explanation.

Pure contracts and rules shared by the `MessageThread` workflow, its activities and the API.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.bounds import AwareInstant
from core.calendar import BusinessCalendar, deadline
from core.records import AuditRecord, PolicyRef
from core.roles import Actor, Role
from core.sla import MessageChannel, MessageSla, Urgency
from core.tasks import RefusalCode, TaskRefused

WORKFLOW_TYPE = "MessageThread"
ACKNOWLEDGE = "message_acknowledge"  # the acknowledgement deadline's task
ANSWER = "message_answer"  # the answer deadline's task
MESSAGE_ROLES = (Role.AGENT, Role.SUPERVISOR)  # who acknowledges, answers and explains
INTAKE_ACTOR = "mail-intake"  # the inbound SMTP receiver, the only one who adds the customer's follow-ups
LONGEST_EXTENSION = timedelta(days=30)  # how far past the current due time a "takes longer" may promise
TICKET_NUMBER = re.compile(r"(?<![A-Za-z0-9])CS\d{12}(?!\d)")
THREAD_NUMBER = re.compile(r"(?<![A-Za-z0-9])MS\d{8}[0-9A-F]{6}(?![0-9A-Za-z])")
_URGENT_WORDS = ("紧急", "加急", "urgent", "emergency")


def workflow_id_for(thread_id: str) -> str:
    """The id of a thread's workflow."""
    return f"message-{thread_id}"


def ticket_numbers_in(*texts: str | None) -> list[str]:
    """The ticket numbers (CS + 12 digits) quoted in the texts, first first, each once."""
    return list(dict.fromkeys(n for text in texts if text for n in TICKET_NUMBER.findall(text)))


def thread_number_in(text: str | None) -> str | None:
    """The thread number a reply quotes (in its subject: "Re: [MS…] …"), if any."""
    found = THREAD_NUMBER.search(text or "")
    return found.group() if found else None


def urgency_of_email(subject: str | None, headers: dict[str, str]) -> Urgency:
    """Urgent when the sender marked it (Importance: high, Priority: urgent, X-Priority 1 or 2) or the subject says
    so (紧急, 加急, urgent); general otherwise."""
    importance = headers.get("importance", "").strip().lower()
    priority = headers.get("priority", "").strip().lower()
    x_priority = headers.get("x-priority", "").strip()[:1]
    if importance == "high" or priority == "urgent" or x_priority in ("1", "2"):
        return Urgency.URGENT
    lowered = (subject or "").lower()
    return Urgency.URGENT if any(word in lowered for word in _URGENT_WORDS) else Urgency.GENERAL


class ThreadStatus(StrEnum):
    """Where a thread stands."""

    RECEIVED = "received"  # waiting for the acknowledgement
    ACKNOWLEDGED = "acknowledged"  # the customer knows it arrived and when to expect the answer
    ANSWERED = "answered"  # the answer went out: the thread is done


class ThreadInput(BaseModel):
    """A message as received: by whom, through which channel, when; stored whole, every view masks the contact."""

    model_config = ConfigDict(frozen=True)

    thread_id: str = Field(min_length=1, max_length=32)
    channel: MessageChannel
    urgency: Urgency = Urgency.GENERAL
    received_at: AwareDatetime  # when the center received it: the deadlines run from here
    contact: str = Field(min_length=1, max_length=200, description="the sender's address; always shown masked")
    customer_id: str | None = Field(default=None, max_length=64)
    customer_name: str | None = Field(default=None, max_length=200)
    ticket_no: str | None = Field(default=None, max_length=20)
    subject: str = Field(default="", max_length=500)
    body: str = Field(min_length=1, max_length=20000)
    message_id: str | None = Field(default=None, max_length=300)  # the e-mail's Message-ID
    created_by: Actor
    request_id: str = Field(min_length=1, max_length=128)
    policy: PolicyRef = PolicyRef()


class Entry(BaseModel):
    """One message of the thread: the customer's (in) or the center's (out)."""

    at: datetime
    direction: Literal["in", "out"]
    kind: Literal["message", "acknowledgement", "answer", "explanation"]
    by: str
    text: str
    due_at: datetime | None = None  # what an acknowledgement or explanation promised


class Thread(BaseModel):
    """The thread as its workflow holds it (and as the read model shows it, masked)."""

    thread_id: str
    workflow_id: str
    request: ThreadInput
    status: ThreadStatus = ThreadStatus.RECEIVED
    status_history: list[tuple[datetime, ThreadStatus, str]] = Field(default_factory=list)
    received_on_working_day: bool
    policy_name: str
    policy_version: int
    calendar_name: str
    calendar_version: int
    acknowledge_due: datetime
    answer_due: datetime
    complex: bool = False
    extended: bool = False  # a "takes longer" moved the answer due time
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    entries: list[Entry] = Field(default_factory=list)
    revision: int = 0


def deadlines(sla: MessageSla, calendar: BusinessCalendar, request: ThreadInput) -> tuple[bool, datetime, datetime]:
    """(received on a working day, acknowledge due, answer due) of a message on the business calendar; the answer is
    never due before the acknowledgement."""
    working_day = calendar.is_working_day(calendar.local_date(request.received_at))
    budget = sla.acknowledge_budget(request.channel, request.urgency, working_day)
    acknowledge = deadline(calendar, request.received_at, budget)
    answer = deadline(calendar, request.received_at, sla.answer_general)
    return working_day, acknowledge, max(acknowledge, answer)


ACKNOWLEDGEMENT_TEXT = (
    "【客响中心】您的留言 {thread_id} 已收到，我们将在 {due} 前答复。\n"
    "We received your message {thread_id} and will answer by {due}."
)


def acknowledgement_text(thread: Thread, calendar: BusinessCalendar) -> str:
    """What the customer is told when no text is given: it arrived, and the answer time (the center's local time)."""
    due = thread.answer_due.astimezone(ZoneInfo(calendar.timezone)).strftime("%Y-%m-%d %H:%M")
    return ACKNOWLEDGEMENT_TEXT.format(thread_id=thread.thread_id, due=due)


def complex_answer_due(sla: MessageSla, calendar: BusinessCalendar, thread: Thread) -> datetime:
    """When a complex problem's answer is due: the complex budget from receipt, never earlier than now due."""
    return max(thread.answer_due, deadline(calendar, thread.request.received_at, sla.answer_complex))


# ---- acts --------------------------------------------------------------------------------------------------


class _Act(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor


class Acknowledge(_Act):
    """Tell the customer the message arrived and when the answer will come (the answer due time, unless the text
    says otherwise)."""

    type: Literal["acknowledge"] = "acknowledge"
    text: str | None = Field(default=None, max_length=4000)


class AnswerMessage(_Act):
    """Send the customer the answer or solution; the thread is done (it acknowledges too, if not done yet)."""

    type: Literal["answer"] = "answer"
    text: str = Field(min_length=1, max_length=20000)


class MarkComplex(_Act):
    """A complex problem: the answer is due within the complex budget from receipt (before the general one ran out)."""

    type: Literal["mark_complex"] = "mark_complex"
    reason: str = Field(min_length=1, max_length=2000)


class TakesLonger(_Act):
    """The answer will take longer: the explanation goes to the customer with the new time, before the due time."""

    type: Literal["takes_longer"] = "takes_longer"
    explanation: str = Field(min_length=1, max_length=4000)
    answer_by: AwareInstant


class FollowUp(_Act):
    """The customer wrote again on the thread (the inbound receiver only)."""

    type: Literal["follow_up"] = "follow_up"
    text: str = Field(min_length=1, max_length=20000)
    received_at: AwareDatetime


MessageAct = Annotated[Acknowledge | AnswerMessage | MarkComplex | TakesLonger | FollowUp, Field(discriminator="type")]
STAFF_ACTS = (Acknowledge, AnswerMessage, MarkComplex, TakesLonger)  # what people may send through the API


def check_act(thread: Thread, act: BaseModel, now: datetime) -> None:
    """The rules of DOMAIN.md §6 for one act on a thread; raise TaskRefused to refuse it (nothing changes)."""
    actor: Actor = act.actor  # type: ignore[attr-defined]
    if isinstance(act, FollowUp):
        if actor.username != INTAKE_ACTOR:
            raise TaskRefused(RefusalCode.FORBIDDEN, "follow_up: only the inbound receiver adds the customer's mail")
        return
    if not actor.has_role(*MESSAGE_ROLES):
        raise TaskRefused(
            RefusalCode.FORBIDDEN, f"{actor.username} may not act on messages (needs agent or supervisor)"
        )
    if thread.status == ThreadStatus.ANSWERED:
        raise TaskRefused(RefusalCode.CONFLICT, f"message {thread.thread_id} is already answered")
    match act:
        case Acknowledge():
            if thread.status != ThreadStatus.RECEIVED:
                raise TaskRefused(RefusalCode.CONFLICT, f"message {thread.thread_id} is already acknowledged")
        case MarkComplex():
            if thread.complex:
                raise TaskRefused(RefusalCode.CONFLICT, f"message {thread.thread_id} is already marked complex")
            if thread.extended:
                raise TaskRefused(RefusalCode.CONFLICT, "mark_complex: the answer time was already extended")
            if now >= thread.answer_due:
                raise TaskRefused(
                    RefusalCode.CONFLICT, f"mark_complex: the answer was due {thread.answer_due.isoformat()}"
                )
        case TakesLonger():
            if now >= thread.answer_due:
                raise TaskRefused(
                    RefusalCode.CONFLICT,
                    f"takes_longer: must be explained before the answer is due ({thread.answer_due.isoformat()})",
                )
            if act.answer_by <= thread.answer_due:
                raise TaskRefused(RefusalCode.INVALID, "answer_by: must be later than the current answer due time")
            if act.answer_by > thread.answer_due + LONGEST_EXTENSION:
                raise TaskRefused(
                    RefusalCode.INVALID, f"answer_by: at most {LONGEST_EXTENSION.days} days past the current due time"
                )
        case AnswerMessage():
            pass


class ThreadSave(BaseModel):
    """A thread state for the read model, the audit row of the act that produced it, and the entry (if any) that
    goes to the customer through the outbox."""

    model_config = ConfigDict(frozen=True)

    thread: Thread
    audit: AuditRecord | None = None
    send: int | None = None  # index of the entry in thread.entries to send to the customer


class ThreadOutcome(BaseModel):
    """What an accepted act (and the finished workflow) returns."""

    thread_id: str
    status: ThreadStatus
    message: str = ""
