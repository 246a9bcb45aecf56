"""Payloads of the read-model activities: what a workflow asks to be written to PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.roles import Actor
from core.tasks import HumanTask


class AuditRecord(BaseModel):
    """One audit-journal row; `request_id` makes the write idempotent."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str
    actor_roles: tuple[str, ...] = ()
    action: str
    subject_type: str
    subject_id: str
    workflow_id: str | None = None
    outcome: str = "accepted"
    reason: str | None = None
    request_id: str
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def by(
        cls,
        actor: Actor,
        action: str,
        subject_type: str,
        subject_id: str,
        *,
        at: datetime,
        request_id: str,
        workflow_id: str | None = None,
        reason: str | None = None,
        outcome: str = "accepted",
        details: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """The journal row of one act by `actor` (name and roles as they were at the time)."""
        return cls(
            at=at,
            actor=actor.username,
            actor_roles=tuple(role.value for role in actor.roles),
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            workflow_id=workflow_id,
            outcome=outcome,
            reason=reason,
            request_id=request_id,
            details=details or {},
        )


class NotificationRecord(BaseModel):
    """An in-app notification; `key` makes the write idempotent."""

    model_config = ConfigDict(frozen=True)

    key: str
    kind: str
    message: str
    recipient_user: str | None = None
    recipient_role: str | None = None
    recipient_department: str | None = None
    task_id: str | None = None
    workflow_id: str | None = None
    created_at: datetime


class BreachRecord(BaseModel):
    """A missed deadline counted against whoever was responsible."""

    model_config = ConfigDict(frozen=True)

    key: str
    workflow_id: str
    task_id: str | None = None
    kind: str
    responsible: str
    due_at: datetime
    breached_at: datetime


class TaskEvent(BaseModel):
    """Everything one change to a human task writes, in one transaction."""

    model_config = ConfigDict(frozen=True)

    task: HumanTask | None = None
    audit: AuditRecord | None = None
    notifications: tuple[NotificationRecord, ...] = ()
    breach: BreachRecord | None = None


class PolicyRef(BaseModel):
    """Which calendar and SLA policy a workflow wants (latest version when unset)."""

    model_config = ConfigDict(frozen=True)

    calendar: str | None = None
    policy: str | None = None
    assignment: str | None = None


# What the auditor's timeline (audit/timeline.py) reads of a task change: a local write's input is not in the
# history, so the write echoes this much of it into its marker, and no more (every byte is encoded and encrypted).
TASK_ECHO_FIELDS = frozenset(
    {
        "task_id",
        "kind",
        "subject",
        "status",
        "business_ref",
        "due_at",
        "candidates",
        "suspended",
        "decided_by",
        "outcome",
        "comment",
    }
)


class TaskChange(BaseModel):
    """The echo of one task change: the task's timeline fields, its audit row, reminders and breach."""

    model_config = ConfigDict(frozen=True)

    task: dict[str, Any] | None = None
    audit: AuditRecord | None = None
    notifications: tuple[NotificationRecord, ...] = ()  # reminders only: the timeline names their recipients
    breach: BreachRecord | None = None

    @classmethod
    def of(cls, event: TaskEvent) -> TaskChange:
        """The echo of a written task event."""
        return cls(
            task=event.task.model_dump(mode="json", include=set(TASK_ECHO_FIELDS)) if event.task else None,
            audit=event.audit,
            notifications=tuple(n for n in event.notifications if n.kind == "remind"),
            breach=event.breach,
        )


class WriteEcho(BaseModel):
    """What one write of a state with its act's task changes echoes: the state's reference and the audit rows."""

    model_config = ConfigDict(frozen=True)

    subject_id: str
    revision: int
    status: str
    audit: AuditRecord | None = None
    tasks: tuple[TaskChange, ...] = ()

    @classmethod
    def of(
        cls, subject_id: str, revision: int, status: str, audit: AuditRecord | None, tasks: Iterable[TaskEvent]
    ) -> WriteEcho:
        """The echo of a state written at `revision` with its act's audit row and task events."""
        changes = tuple(TaskChange.of(event) for event in tasks)
        return cls(subject_id=subject_id, revision=revision, status=status, audit=audit, tasks=changes)
