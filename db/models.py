"""SQLModel tables: users, versioned calendars and SLA policies, the task read model, audit journal.

Only the API and activities import this module; workflows never do (tables are not sandbox-safe).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Current UTC time (for row timestamps outside workflows)."""
    return datetime.now(timezone.utc)


def _ts(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column."""
    return Field(sa_type=DateTime(timezone=True), **kwargs)


def _strings() -> Any:
    """A PostgreSQL text[] column defaulting to empty."""
    return Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False, server_default="{}"))


def _json() -> Any:
    """A JSONB column defaulting to an empty object."""
    return Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))


class User(SQLModel, table=True):
    """A person who signs in; roles decide what they may do."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=128)
    password_hash: str = Field(max_length=255)
    roles: list[str] = _strings()
    department: str | None = Field(default=None, max_length=64)
    active: bool = True
    created_at: datetime = _ts(default_factory=utcnow)


class CalendarVersion(SQLModel, table=True):
    """One immutable version of a named business calendar."""

    __tablename__ = "calendar_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int
    spec: dict[str, Any] = _json()
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)


class SlaPolicyVersion(SQLModel, table=True):
    """One immutable version of a named SLA policy."""

    __tablename__ = "sla_policy_version"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int
    spec: dict[str, Any] = _json()
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)


class TaskRow(SQLModel, table=True):
    """Read model of a human task: every inbox and overdue list reads this, never Temporal visibility."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_open_due", "status", "due_at"),
        Index("ix_human_task_open_roles", "candidate_roles", postgresql_using="gin"),
        Index("ix_human_task_assignee", "assignee", "status"),
        Index("ix_human_task_claimed", "claimed_by", "status"),
        Index("ix_human_task_department", "candidate_department", "status"),
    )

    task_id: str = Field(primary_key=True, max_length=200)
    workflow_id: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=64)
    subject: str = Field(max_length=500)
    business_ref: str | None = Field(default=None, max_length=64, index=True)
    candidate_roles: list[str] = _strings()
    candidate_department: str | None = Field(default=None, max_length=64)
    assignee: str | None = Field(default=None, max_length=64)
    requested_by: str | None = Field(default=None, max_length=64)
    outcomes: list[str] = _strings()
    priority: int = 0
    status: str = Field(default="open", max_length=16)
    claimed_by: str | None = Field(default=None, max_length=64)
    opened_at: datetime = _ts()
    due_at: datetime = _ts()
    escalation_level: int = 0
    outcome: str | None = Field(default=None, max_length=64)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _ts(default=None)
    comment: str | None = Field(default=None, max_length=2000)
    revision: int = 0
    updated_at: datetime = _ts(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Journal of every human act, accepted or refused: who, as what, did what to what, when, and why."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    at: datetime = _ts(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64, index=True)
    actor_roles: list[str] = _strings()
    action: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=64)
    subject_id: str = Field(max_length=200, index=True)
    workflow_id: str | None = Field(default=None, max_length=200, index=True)
    outcome: str = Field(max_length=16)  # accepted | refused
    reason: str | None = Field(default=None, max_length=2000)
    request_id: str | None = Field(default=None, max_length=200, unique=True)
    details: dict[str, Any] = _json()


class Notification(SQLModel, table=True):
    """An in-app message (reminder, escalation, assignment) for a person or a role."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_recipient", "recipient_user", "recipient_role", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)  # idempotency key chosen by the workflow
    recipient_user: str | None = Field(default=None, max_length=64)
    recipient_role: str | None = Field(default=None, max_length=32)
    recipient_department: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=32)
    task_id: str | None = Field(default=None, max_length=200)
    workflow_id: str | None = Field(default=None, max_length=200, index=True)
    message: str = Field(max_length=1000)
    created_at: datetime = _ts(default_factory=utcnow)
    read_at: datetime | None = _ts(default=None)


class SlaBreach(SQLModel, table=True):
    """A missed deadline, counted against the person (or role) responsible at the time."""

    __tablename__ = "sla_breach"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    workflow_id: str = Field(max_length=200, index=True)
    task_id: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=64)
    responsible: str = Field(max_length=64, index=True)
    due_at: datetime = _ts()
    breached_at: datetime = _ts()
