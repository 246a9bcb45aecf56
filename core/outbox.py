"""The outbox: messages written with the change that causes them, delivered later by the OutboxDispatcher workflow.

A message is keyed by (event, subject, recipient), so enqueueing twice writes it once. Messages of one subject to
one recipient (a lane) go out in the order they were written: a lane's next message waits until the one before it
is delivered or dead. A failed attempt is retried with exponential backoff until the retry budget is spent; then
the message is dead (a dead letter an admin may resend). Every attempt is one row of the message's delivery log.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

# Activity, workflow, signal names (workflows call activities by name).
OUTBOX_DUE = "outbox_due"
OUTBOX_DELIVER = "outbox_deliver"
OUTBOX_DELIVER_ROUND = "outbox_deliver_round"  # under ROUND_PATCH: a round's due messages in one activity
ROUND_PATCH = "outbox-round-one-activity"
ROUND_CONCURRENCY = 8  # a round's sends at once: each holds a pooled connection (its row lock) while it sends
KICK_SIGNAL = "kick"
DISPATCHER_WORKFLOW = "OutboxDispatcher"
NOTIFY_CHANNEL = "kexiang_outbox"  # the PostgreSQL NOTIFY channel an enqueue wakes the dispatcher with


class OutboxChannel(StrEnum):
    """How a message leaves."""

    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class OutboxStatus(StrEnum):
    """Where a message is: waiting (maybe in backoff), delivered, or dead after its retry budget."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


def outbox_key(event: str, subject: str, recipient: str) -> str:
    """The idempotency key of a message: one (event, subject, recipient), one message."""
    return f"{event}|{subject}|{recipient}"


class RetryBudget(BaseModel):
    """Exponential backoff between attempts, capped, and the attempts a message gets before it is dead."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=6, ge=1, le=50)
    first_backoff_seconds: float = Field(default=30.0, gt=0)
    factor: float = Field(default=2.0, ge=1.0)
    max_backoff_seconds: float = Field(default=3600.0, gt=0)

    def next_attempt_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after `attempts` failed attempts, or None: the budget is spent (dead letter)."""
        if attempts >= self.max_attempts:
            return None
        backoff = min(self.first_backoff_seconds * self.factor ** (attempts - 1), self.max_backoff_seconds)
        return now + timedelta(seconds=backoff)


class DueQuery(BaseModel):
    """The dispatcher asks for the head of every lane due at `now` (the workflow's clock)."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    limit: int = Field(default=50, ge=1, le=500)


class DueMessages(BaseModel):
    """The due lane heads (message ids, oldest first) and when the next waiting one falls due."""

    model_config = ConfigDict(frozen=True)

    ids: tuple[int, ...] = ()
    next_due_at: datetime | None = None


class DeliveryRequest(BaseModel):
    """Deliver one message now; a failure is scheduled by `budget` on the workflow's clock."""

    model_config = ConfigDict(frozen=True)

    message_id: int
    now: datetime
    budget: RetryBudget = RetryBudget()


class DeliveryOutcome(BaseModel):
    """What became of one attempt."""

    model_config = ConfigDict(frozen=True)

    message_id: int
    status: OutboxStatus
    next_attempt_at: datetime | None = None


class RoundRequest(BaseModel):
    """Deliver a round's due messages now, each once; a failure is scheduled by `budget` on the workflow's clock."""

    model_config = ConfigDict(frozen=True)

    message_ids: tuple[int, ...]
    now: datetime
    budget: RetryBudget = RetryBudget()

    def of(self, message_id: int) -> DeliveryRequest:
        """The request of one of the round's messages."""
        return DeliveryRequest(message_id=message_id, now=self.now, budget=self.budget)


class RoundOutcome(BaseModel):
    """What became of each message of a round, in the request's order; None: it could not be attempted at all."""

    model_config = ConfigDict(frozen=True)

    outcomes: tuple[DeliveryOutcome | None, ...]


OVERDUE_AFTER = timedelta(minutes=5)  # a pending message due longer ago than this: its channel is stuck


class ChannelHealth(BaseModel):
    """One channel as admins watch it: messages by status, overdue ones, and how its latest attempt went."""

    pending: int = 0
    delivered: int = 0
    dead: int = 0
    overdue: int = 0
    last_attempt_at: datetime | None = None
    last_outcome: str | None = None  # delivered, failed, dead
    last_error: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> Literal["ok", "stuck", "failing"]:
        """stuck: messages overdue (the dispatcher or the channel hangs); failing: its latest attempt failed."""
        if self.overdue:
            return "stuck"
        return "failing" if self.last_outcome in ("failed", "dead") else "ok"


class DispatcherState(BaseModel):
    """The dispatcher's input, carried across continue-as-new."""

    model_config = ConfigDict(frozen=True)

    budget: RetryBudget = RetryBudget()
    idle_minutes: int = Field(default=10, ge=1)  # a look without a kick, in case a wake-up was lost
    rounds_per_run: int = Field(default=500, ge=1)


_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
_EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def customer_channel(contact: str | None) -> OutboxChannel | None:
    """How a customer message reaches the one contact they gave: e-mail to an address, SMS to a mobile number;
    None for anything else (a landline: the agent calls)."""
    value = (contact or "").strip()
    if _EMAIL_ADDRESS.fullmatch(value):
        return OutboxChannel.EMAIL
    if _MOBILE.fullmatch(re.sub(r"[- ]", "", value)):
        return OutboxChannel.SMS
    return None


# Staff notifications that go out at once whatever the hour: escalations (and the breaches they come with),
# complaints to forward (10 minutes), major faults, jeopardy alerts, cut-overs, customers waiting for a call.
URGENT_KINDS = frozenset(
    {"escalate", "complaint_forward", "major_complaint_visit", "major_fault", "jeopardy", "customer_call"}
)
URGENT_TASK_PRIORITY = 100  # a task of an urgent ticket (the green channel): its reminders are urgent too


def is_urgent(kind: str, *, breach: bool = False, task_priority: int = 0) -> bool:
    """Whether a staff notification ignores quiet hours: an urgent kind, a missed deadline, an urgent ticket."""
    return kind in URGENT_KINDS or breach or task_priority >= URGENT_TASK_PRIORITY


def quiet_hours_end(at: datetime, start: time | None, end: time | None, zone: tzinfo) -> datetime | None:
    """When the quiet hours `start`–`end` (local wall-clock times in `zone`; start > end spans midnight) that
    contain `at` end; None when `at` is outside them or there are none."""
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        day = local.date()
    else:
        inside = clock >= start or clock < end
        day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return datetime.combine(day, end, tzinfo=zone).astimezone(at.tzinfo)
