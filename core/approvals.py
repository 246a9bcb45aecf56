"""Contracts of the stand-alone approval request workflow."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.calendar import Budget
from core.records import PolicyRef
from core.roles import Actor, Role


class ApprovalInput(BaseModel):
    """A request that someone else (four-eyes) with the approver role must decide."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=2000)
    requested_by: Actor
    request_id: str
    approver_role: Role = Role.SUPERVISOR
    budget: Budget | None = None
    policy: PolicyRef = PolicyRef()


class ApprovalResult(BaseModel):
    """How an approval request ended."""

    task_id: str
    outcome: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
