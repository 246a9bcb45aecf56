"""SLA policies as versioned data: per-priority budgets, task budgets and the reminder ladder."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.calendar import Budget, BusinessCalendar
from core.roles import Role


class Priority(StrEnum):
    """Ticket priority (DOMAIN.md §1)."""

    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class PriorityBudgets(BaseModel):
    """The three deadlines a ticket of one priority runs against."""

    model_config = ConfigDict(frozen=True)

    response: Budget
    plan: Budget
    resolution: Budget


class LadderStep(BaseModel):
    """One rung of a task's reminder and escalation ladder, at a share of its business-time budget."""

    model_config = ConfigDict(frozen=True)

    percent: int = Field(gt=0, le=1000)
    action: Literal["remind", "escalate"]
    notify_roles: tuple[Role, ...] = ()
    reassign_to_role: Role | None = None


def default_ladder() -> tuple[LadderStep, ...]:
    """Remind at 50 % and 75 % (supervisor copied at 75 %), escalate to the supervisor at the breach."""
    return (
        LadderStep(percent=50, action="remind"),
        LadderStep(percent=75, action="remind", notify_roles=(Role.SUPERVISOR,)),
        LadderStep(percent=100, action="escalate", notify_roles=(Role.SUPERVISOR,)),
    )


class MessageChannel(StrEnum):
    """How a customer's message reached the center (DOMAIN.md §6)."""

    EMAIL = "email"
    ONLINE = "online"


class Urgency(StrEnum):
    """A message's urgency: general, or important/urgent (重要或紧急)."""

    GENERAL = "general"
    URGENT = "urgent"


class MessageAckRule(BaseModel):
    """One acknowledgement budget, for the messages it matches (an unset field matches any value)."""

    model_config = ConfigDict(frozen=True)

    channel: MessageChannel | None = None
    urgency: Urgency | None = None
    working_day: bool | None = None  # received on a working day of the business calendar
    budget: Budget

    def matches(self, channel: MessageChannel, urgency: Urgency, working_day: bool) -> bool:
        """True when this rule covers a message of this channel and urgency, received on such a day."""
        return (
            self.channel in (None, channel)
            and self.urgency in (None, urgency)
            and self.working_day in (None, working_day)
        )


class MessageSla(BaseModel):
    """Message response times (seed 000): acknowledgement by channel × urgency × working day (first matching rule
    wins), and the answer by the problem's complexity."""

    model_config = ConfigDict(frozen=True)

    acknowledge: tuple[MessageAckRule, ...]
    answer_general: Budget
    answer_complex: Budget

    @model_validator(mode="after")
    def _covers_every_message(self) -> MessageSla:
        """Every channel, urgency and kind of day needs an acknowledgement budget."""
        for channel in MessageChannel:
            for urgency in Urgency:
                for working_day in (True, False):
                    if not any(rule.matches(channel, urgency, working_day) for rule in self.acknowledge):
                        day = "a working day" if working_day else "a non-working day"
                        raise ValueError(f"acknowledge: no rule for a {urgency} {channel} message received on {day}")
        return self

    def acknowledge_budget(self, channel: MessageChannel, urgency: Urgency, working_day: bool) -> Budget:
        """The acknowledgement budget of a message (the first rule that matches it)."""
        return next(rule.budget for rule in self.acknowledge if rule.matches(channel, urgency, working_day))


def default_message_sla() -> MessageSla:
    """Acknowledge urgent messages in 2 h, others in 24 h, or 48 h when received on a non-working day; answer a
    general problem in 24 working hours, a complex one in 48."""
    return MessageSla(
        acknowledge=(
            MessageAckRule(urgency=Urgency.URGENT, budget=Budget(amount=2, unit="hours")),
            MessageAckRule(working_day=False, budget=Budget(amount=48, unit="hours")),
            MessageAckRule(working_day=True, budget=Budget(amount=24, unit="hours")),
        ),
        answer_general=Budget(amount=24, unit="working_hours"),
        answer_complex=Budget(amount=48, unit="working_hours"),
    )


class SlaPolicy(BaseModel):
    """A versioned SLA policy; a workflow keeps the version it started with."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64)
    version: int = 1
    priorities: dict[Priority, PriorityBudgets]
    task_budgets: dict[str, Budget] = Field(default_factory=dict)
    ladder: tuple[LadderStep, ...] = Field(default_factory=default_ladder)
    complaint_resolution: Budget = Budget(amount=48, unit="hours")
    rating_wait: Budget = Budget(amount=3, unit="working_days")
    reopen_window: Budget = Budget(amount=7, unit="working_days")
    messages: MessageSla = Field(default_factory=default_message_sla)

    @model_validator(mode="after")
    def _complete(self) -> SlaPolicy:
        """Every priority needs budgets, and ladder rungs must rise."""
        missing = [p.value for p in Priority if p not in self.priorities]
        if missing:
            raise ValueError(f"priorities: budgets missing for {', '.join(missing)}")
        percents = [step.percent for step in self.ladder]
        if percents != sorted(set(percents)):
            raise ValueError("ladder: percents must be strictly increasing")
        return self

    def task_budget(self, kind: str) -> Budget:
        """The budget for a human task of this kind, falling back to the policy's default task budget."""
        return self.task_budgets.get(kind) or self.task_budgets.get("default") or Budget(amount=1, unit="working_days")


def default_sla_policy() -> SlaPolicy:
    """The budgets of DOMAIN.md §1 (response / plan / resolution per priority)."""

    def hours(n: float) -> Budget:
        return Budget(amount=n, unit="hours")

    def days(n: int) -> Budget:
        return Budget(amount=n, unit="working_days")

    return SlaPolicy(
        name="standard",
        priorities={
            Priority.URGENT: PriorityBudgets(response=hours(2), plan=hours(4), resolution=hours(24)),
            Priority.HIGH: PriorityBudgets(response=hours(4), plan=hours(8), resolution=hours(48)),
            Priority.MEDIUM: PriorityBudgets(response=hours(8), plan=hours(24), resolution=days(3)),
            Priority.LOW: PriorityBudgets(response=hours(24), plan=days(3), resolution=days(5)),
        },
        task_budgets={
            "default": days(1),
            "approval": days(1),
            "complete_intake": hours(2),
            "coordinate": hours(2),
            "extension": hours(4),
            "escalation": hours(2),
            "complaint_forward": Budget(amount=10 / 60, unit="hours"),  # 10 minutes
            "callback": hours(72),  # within 3 days
            "onsite_visit": hours(48),
            "rating_followup": days(1),
            "followup_assignment": days(1),
            "second_followup": days(3),
            "support": days(1),
            "resource_check": days(3),  # the whole round, from request to reported result
            "rc_answer": days(2),  # one department's answer on one item
            "rc_review": days(1),  # a department head's joint review
            "rc_requester": days(3),  # the requester accepts or asks again
        },
    )


class PolicySnapshot(BaseModel):
    """The calendar and SLA policy a workflow runs under, read once and kept in its history."""

    model_config = ConfigDict(frozen=True)

    calendar: BusinessCalendar
    policy: SlaPolicy
    assignment: dict[str, Any] | None = None  # AssignmentRules as data; core.tickets parses it (no import cycle)
