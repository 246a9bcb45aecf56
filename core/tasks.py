"""Human tasks: the one mechanism every workflow uses to wait for a person.

A workflow opens a task for candidates (a role, a department or a named person), with a due
time from the business calendar and a reminder/escalation ladder. People claim and decide tasks
through Temporal updates; the pure checks here are what the update validators run, so the API
and the workflow refuse exactly the same things.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.calendar import Budget, Clock
from core.roles import Actor, Role
from core.sla import LadderStep


class TaskStatus(StrEnum):
    """Life of a human task."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class RefusalCode(StrEnum):
    """Why a human act was refused; the API maps each to an HTTP status."""

    NOT_FOUND = "not_found"  # 404
    FORBIDDEN = "forbidden"  # 403: wrong role, not a candidate, four-eyes
    CONFLICT = "conflict"  # 409: closed task, claimed by someone else
    INVALID = "invalid"  # 422: malformed payload, unknown outcome


class TaskRefused(Exception):
    """A human act that the rules do not allow; nothing changes."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Candidates(BaseModel):
    """Who may act on a task: a named person, members of a department, or holders of a role."""

    model_config = ConfigDict(frozen=True)

    roles: tuple[Role, ...] = ()
    department: str | None = None
    assignee: str | None = None

    def admits(self, actor: Actor) -> bool:
        """True when the actor is one of the candidates."""
        if self.assignee and actor.username == self.assignee:
            return True
        if self.department and actor.department == self.department and not actor.has_role(Role.AUDITOR):
            return True
        return actor.has_role(*self.roles)

    def describe(self) -> str:
        """Human-readable candidate list for error messages."""
        parts = [f"user {self.assignee}"] if self.assignee else []
        if self.department:
            parts.append(f"department {self.department}")
        parts += [f"role {role.value}" for role in self.roles]
        return " or ".join(parts) or "nobody"


class TaskRequest(BaseModel):
    """What a workflow asks for when it opens a task."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=500)
    candidates: Candidates
    outcomes: tuple[str, ...] = ("approve", "reject")
    requested_by: str | None = None  # the requester may never decide (four-eyes)
    budget: Budget | None = None  # from the policy's task budgets when neither budget nor due_at is set
    due_at: datetime | None = None
    ladder: tuple[LadderStep, ...] | None = None  # the policy's ladder when None
    priority: int = 0  # higher first in every inbox (the urgent "green channel")
    business_ref: str | None = None  # ticket number or order id, never customer data
    comment_required_for: tuple[str, ...] = ("reject",)
    notify_roles: tuple[Role, ...] = ()  # told at once when the task opens (green channel)
    ladder_clock: Clock | None = None  # None: the budget's clock (core.calendar.clock_of)


class HumanTask(BaseModel):
    """A task as the workflow holds it and as the read model mirrors it."""

    task_id: str
    workflow_id: str
    kind: str
    subject: str
    candidates: Candidates
    outcomes: tuple[str, ...]
    requested_by: str | None = None
    business_ref: str | None = None
    priority: int = 0
    comment_required_for: tuple[str, ...] = ()
    opened_at: datetime
    due_at: datetime
    ladder: tuple[LadderStep, ...] = ()
    ladder_at: tuple[datetime, ...] = ()  # the instant of each ladder rung, from the calendar
    ladder_clock: Clock = "business"  # elapsed for budgets in plain hours
    suspended: bool = False  # SLA paused: no reminders or escalations until resumed
    rungs_fired: int = 0
    due_version: int = 0
    status: TaskStatus = TaskStatus.OPEN
    claimed_by: str | None = None
    escalation_level: int = 0
    outcome: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    revision: int = 0  # bumped on every change; the read model keeps the highest


class DecisionInput(BaseModel):
    """A person's decision on a task: the payload of the `decide` update."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor
    outcome: str = Field(min_length=1, max_length=64)
    comment: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)


class ClaimInput(BaseModel):
    """Claim (or release) a task: the payload of the `claim` update."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor
    release: bool = False


class ActResult(BaseModel):
    """What an accepted human act returns to the caller."""

    task_id: str
    workflow_id: str
    status: TaskStatus
    outcome: str | None = None
    claimed_by: str | None = None
    actor: str


def _open_task(task: HumanTask | None, task_id: str) -> HumanTask:
    """The task, if it exists and is still open."""
    if task is None:
        raise TaskRefused(RefusalCode.NOT_FOUND, f"task {task_id} does not exist in this workflow")
    if task.status != TaskStatus.OPEN:
        raise TaskRefused(RefusalCode.CONFLICT, f"task {task_id} is already {task.status.value}")
    return task


def _may_act(task: HumanTask, actor: Actor) -> None:
    """Role/candidate and four-eyes checks shared by claim and decide."""
    if task.requested_by and actor.username == task.requested_by:
        raise TaskRefused(RefusalCode.FORBIDDEN, f"four-eyes: {actor.username} requested this and cannot act on it")
    if not task.candidates.admits(actor):
        raise TaskRefused(
            RefusalCode.FORBIDDEN,
            f"{actor.username} is not a candidate for this task (needs {task.candidates.describe()})",
        )


def check_claim(task: HumanTask | None, claim: ClaimInput) -> None:
    """Refuse a claim or release the rules do not allow."""
    task = _open_task(task, claim.task_id)
    _may_act(task, claim.actor)
    if claim.release:
        if task.claimed_by != claim.actor.username:
            raise TaskRefused(RefusalCode.CONFLICT, f"task {task.task_id} is not claimed by {claim.actor.username}")
    elif task.claimed_by and task.claimed_by != claim.actor.username:
        raise TaskRefused(RefusalCode.CONFLICT, f"task {task.task_id} is already claimed by {task.claimed_by}")


def check_decision(task: HumanTask | None, decision: DecisionInput) -> None:
    """Refuse a decision the rules do not allow: unknown/closed task, wrong person, four-eyes, bad payload."""
    task = _open_task(task, decision.task_id)
    if not task.outcomes:
        raise TaskRefused(
            RefusalCode.CONFLICT, f"task {task.task_id} ({task.kind}) is completed by its own act, not by a decision"
        )
    if decision.outcome not in task.outcomes:
        raise TaskRefused(
            RefusalCode.INVALID, f"outcome: {decision.outcome!r} is not one of {', '.join(task.outcomes)}"
        )
    if decision.outcome in task.comment_required_for and not (decision.comment or "").strip():
        raise TaskRefused(RefusalCode.INVALID, f"comment: a reason is required to {decision.outcome}")
    _may_act(task, decision.actor)
    if task.claimed_by and task.claimed_by != decision.actor.username:
        raise TaskRefused(RefusalCode.CONFLICT, f"task {task.task_id} is claimed by {task.claimed_by}")
