"""Request and response bodies shared by several routers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel

from core.bounds import MAX_INT

T = TypeVar("T")

# Paging and version numbers: bounded once here, so no number reaches the database beyond its integer range.
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="items to skip")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_INT, description="a version number")]


class Page(BaseModel, Generic[T]):
    """A page of results with the total count."""

    items: list[T]
    total: int
    offset: int
    limit: int


class Message(BaseModel):
    """A plain message."""

    detail: str


class TaskView(BaseModel):
    """A human task as inboxes show it."""

    task_id: str
    workflow_id: str
    kind: str
    subject: str
    business_ref: str | None
    candidate_roles: list[str]
    candidate_department: str | None
    assignee: str | None
    requested_by: str | None
    outcomes: list[str]
    priority: int
    status: str
    claimed_by: str | None
    opened_at: datetime
    due_at: datetime
    overdue: bool
    escalation_level: int
    outcome: str | None
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
