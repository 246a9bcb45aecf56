"""Payloads of the read-model activities: what a workflow asks to be written to PostgreSQL."""

from __future__ import annotations

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
