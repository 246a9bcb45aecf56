"""Scheduled customer callbacks (回访, seed 004 §5): pure rules shared by the workflow, the activities and the API.

Every activated circuit and every major customer gets a phone callback monthly during its first year and
quarterly after that. Callback n falls on the anniversary day n months (n <= 12) or 12 + 3 (n - 12) months after
the anchor date (the circuit's activation, the customer's designation), opens at the first working instant of
that day or the next working day, and is due a budget of working days later. Its result form says whether the
customer was reached, whether they are satisfied, and what they need; needs become a new service ticket.
"""

from __future__ import annotations

import calendar as gregorian
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.calendar import Budget, BusinessCalendar, deadline
from core.records import AuditRecord, PolicyRef
from core.roles import Actor, Role
from core.tasks import RefusalCode, TaskRefused

CALLBACK_KIND = "callback"
REACHED, UNREACHABLE = "reached", "unreachable"
CALLBACK_OUTCOMES = (REACHED, UNREACHABLE)
CALLBACK_BUDGET = Budget(amount=3, unit="working_days")  # the SLA policy's task budget "callback" overrides it
MONTHLY_CALLBACKS = 12  # the first year: one a month; then one a quarter
QUARTER_MONTHS = 3
STOP_ROLES = (Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN)
START_ROLES = STOP_ROLES


class SubjectType(StrEnum):
    """What a callback schedule follows."""

    CIRCUIT = "circuit"  # an activated circuit in the circuit ledger
    CUSTOMER = "customer"  # a major customer


class CallbackStatus(StrEnum):
    """Life of one callback."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    REACHED = "reached"
    UNREACHABLE = "unreachable"
    MISSED = "missed"  # nobody recorded a result before the next callback opened
    STOPPED = "stopped"


def workflow_id_for(subject_type: SubjectType, subject_id: str) -> str:
    """One schedule per subject: the callback workflow's id."""
    return f"callbacks-{subject_type.value}-{subject_id}"


def months_after_anchor(number: int) -> int:
    """How many months after the anchor callback `number` (1-based) falls."""
    if number < 1:
        raise ValueError(f"callback numbers start at 1, got {number}")
    if number <= MONTHLY_CALLBACKS:
        return number
    return MONTHLY_CALLBACKS + QUARTER_MONTHS * (number - MONTHLY_CALLBACKS)


def callback_date(anchor: date, number: int) -> date:
    """The anniversary day of callback `number` (the month's last day when it is shorter)."""
    months = anchor.month - 1 + months_after_anchor(number)
    year, month = anchor.year + months // 12, months % 12 + 1
    return date(year, month, min(anchor.day, gregorian.monthrange(year, month)[1]))


class CallbackWindow(BaseModel):
    """When callback `number` opens and when it is due, on the business calendar."""

    model_config = ConfigDict(frozen=True)

    number: int
    scheduled_for: date
    opens_at: datetime
    due_at: datetime


def callback_window(calendar: BusinessCalendar, anchor: date, number: int, budget: Budget) -> CallbackWindow:
    """Callback `number`: its day, its opening (first working instant of that day or after), its due time."""
    day = callback_date(anchor, number)
    opens = calendar.first_working_instant(day)
    return CallbackWindow(number=number, scheduled_for=day, opens_at=opens, due_at=deadline(calendar, opens, budget))


def first_upcoming(calendar: BusinessCalendar, anchor: date, now: datetime, budget: Budget) -> int:
    """The first callback still due after `now`: a schedule started late skips the callbacks already past."""
    number = 1
    while callback_window(calendar, anchor, number, budget).due_at <= now:
        number += 1
    return number


class CallbackInput(BaseModel):
    """What starts (and, continued as new, carries on) one subject's callback schedule."""

    model_config = ConfigDict(frozen=True)

    subject_type: SubjectType
    subject_id: str = Field(min_length=1, max_length=64)
    customer_id: str | None = Field(default=None, max_length=64)
    anchor: date  # activation (circuit) or designation (major customer), a local date
    started_by: Actor
    request_id: str = Field(min_length=1, max_length=128)
    number: int = Field(default=0, ge=0)  # 0: the first upcoming callback (first run); then the next one
    policy: PolicyRef = PolicyRef()


class CallbackForm(BaseModel):
    """The result form of a callback (the `data` of the task decision)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    satisfied: bool | None = None
    needs: str = Field(default="", max_length=2000)


def check_callback_form(outcome: str, data: dict[str, Any]) -> CallbackForm:
    """The form, or TaskRefused(INVALID) naming what is wrong; unreachable callbacks carry no answers."""
    try:
        form = CallbackForm.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise TaskRefused(RefusalCode.INVALID, f"{where}: {first['msg']}") from None
    if outcome == REACHED and form.satisfied is None:
        raise TaskRefused(RefusalCode.INVALID, "satisfied: say whether the customer is satisfied")
    if outcome == UNREACHABLE and (form.satisfied is not None or form.needs.strip()):
        raise TaskRefused(RefusalCode.INVALID, "satisfied, needs: an unreachable customer gave no answers")
    return form


class Callback(BaseModel):
    """One callback as the workflow holds it and the read model mirrors it."""

    callback_id: str
    workflow_id: str
    subject_type: SubjectType
    subject_id: str
    customer_id: str | None = None
    number: int
    scheduled_for: date
    opens_at: datetime
    due_at: datetime
    status: CallbackStatus = CallbackStatus.SCHEDULED
    task_id: str | None = None
    satisfied: bool | None = None
    needs: str = ""
    ticket_no: str | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    revision: int = 0

    @property
    def reached(self) -> bool:
        """The customer was reached."""
        return self.status == CallbackStatus.REACHED


class CallbackSave(BaseModel):
    """A callback to write to the read model, with the audit row of what changed it."""

    model_config = ConfigDict(frozen=True)

    callback: Callback
    audit: AuditRecord | None = None


class CallbackTicket(BaseModel):
    """A need raised in a callback, to become a new service ticket registered by whoever made the call."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    callback_id: str
    subject_type: SubjectType
    subject_id: str
    customer_id: str | None
    needs: str
    actor: Actor
    at: datetime


class SubjectState(StrEnum):
    """Whether a schedule's subject still wants callbacks."""

    ACTIVE = "active"
    ENDED = "ended"  # the circuit is closed (or gone)


class StopCallbacks(BaseModel):
    """End a subject's schedule (the payload of the `stop` update)."""

    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor
    reason: str = Field(min_length=1, max_length=1000)


def check_stop(actor: Actor, stopped: bool) -> None:
    """Refuse a stop by someone other than a supervisor, coordinator or administrator, or of a stopped schedule."""
    if not actor.has_role(*STOP_ROLES):
        raise TaskRefused(RefusalCode.FORBIDDEN, "stop: supervisors, coordinators or administrators only")
    if stopped:
        raise TaskRefused(RefusalCode.CONFLICT, "stop: the schedule is already stopping")


class CallbackOutcome(BaseModel):
    """What a run of the schedule returns (a stopped or ended schedule; running ones continue as new)."""

    workflow_id: str
    last_number: int
    status: str
