"""Read-only views: my notifications, and the audit journal for overseers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import or_
from sqlmodel import col

from api.deps import Reader, SessionDep, require_roles
from api.schemas import Offset, Page
from core.bounds import AwareInstant
from core.contacts import mask_contacts, mask_contacts_in
from core.roles import Actor, Role
from db.models import AuditEntry, Notification
from db.readmodel import page_of

router = APIRouter(tags=["journal"])


class NotificationView(BaseModel):
    """A notification addressed to me, my role or my department."""

    id: int
    kind: str
    message: str
    task_id: str | None
    workflow_id: str | None
    recipient_user: str | None
    recipient_role: str | None
    recipient_department: str | None
    created_at: datetime

    def masked(self) -> NotificationView:
        """The view with contact details in the message masked."""
        return self.model_copy(update={"message": mask_contacts(self.message)})


class AuditView(BaseModel):
    """One audit-journal row."""

    id: int
    at: datetime
    actor: str
    actor_roles: list[str]
    action: str
    subject_type: str
    subject_id: str
    workflow_id: str | None
    outcome: str
    reason: str | None
    request_id: str | None
    details: dict[str, Any]

    def masked(self) -> AuditView:
        """The view with contact details in the reason and details masked."""
        reason = mask_contacts(self.reason) if self.reason else self.reason
        return self.model_copy(update={"reason": reason, "details": mask_contacts_in(self.details)})


@router.get(
    "/api/notifications", response_model=Page[NotificationView], tags=["notifications"], summary="My notifications"
)
async def my_notifications(
    actor: Reader,
    session: SessionDep,
    workflow_id: str | None = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[NotificationView]:
    """Reminders, escalations and assignments for me, my roles or my department, newest first."""
    mine = [
        col(Notification.recipient_user) == actor.username,
        col(Notification.recipient_role).in_([r.value for r in actor.roles]),
    ]
    if actor.department:
        mine.append(col(Notification.recipient_department) == actor.department)
    conditions = [or_(*mine)]
    if workflow_id:
        conditions.append(col(Notification.workflow_id) == workflow_id)
    newest_first = col(Notification.id).desc()
    total, rows = await page_of(session, Notification, conditions, newest_first, offset=offset, limit=limit)
    return Page(
        items=[NotificationView.model_validate(r, from_attributes=True).masked() for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


Overseer = Annotated[Actor, Depends(require_roles(Role.AUDITOR, Role.ADMIN, Role.SUPERVISOR))]


@router.get("/api/audit", response_model=Page[AuditView], tags=["audit"], summary="Query the audit journal")
async def audit_journal(
    actor: Overseer,
    session: SessionDep,
    by: str | None = Query(default=None, description="actor username"),
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    workflow_id: str | None = None,
    outcome: str | None = Query(default=None, pattern="^(accepted|refused)$"),
    since: AwareInstant | None = Query(default=None, description="from this instant (with a UTC offset)"),
    until: AwareInstant | None = Query(default=None, description="before this instant (with a UTC offset)"),
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[AuditView]:
    """Journal rows in time order, filtered by actor, action, subject, workflow, outcome and [since, until)."""
    filters = [
        col(AuditEntry.actor) == by if by else None,
        col(AuditEntry.action) == action if action else None,
        col(AuditEntry.subject_type) == subject_type if subject_type else None,
        col(AuditEntry.subject_id) == subject_id if subject_id else None,
        col(AuditEntry.workflow_id) == workflow_id if workflow_id else None,
        col(AuditEntry.outcome) == outcome if outcome else None,
        col(AuditEntry.at) >= since if since else None,
        col(AuditEntry.at) < until if until else None,
    ]
    conditions = [f for f in filters if f is not None]
    total, rows = await page_of(
        session, AuditEntry, conditions, col(AuditEntry.at), col(AuditEntry.id), offset=offset, limit=limit
    )
    return Page(
        items=[AuditView.model_validate(r, from_attributes=True).masked() for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )
