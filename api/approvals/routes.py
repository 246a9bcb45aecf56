"""Stand-alone approval requests: any staff member asks, someone else with the approver role decides."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Header, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.deps import GatewayDep, Reader, SessionDep, Staff
from api.schemas import TaskView
from api.tasks.routes import task_view
from core.approvals import ApprovalInput
from core.calendar import Budget
from core.roles import Role
from db.models import TaskRow
from workflows.common import BUSINESS_REF, ORDER_KIND

router = APIRouter(prefix="/api/approvals", tags=["approvals"])


class ApprovalCreate(BaseModel):
    """What the requester asks for."""

    subject: str = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=2000)
    approver_role: Role = Role.SUPERVISOR
    budget: Budget | None = Field(
        default=None, description="time to decide; the SLA policy's approval budget when omitted"
    )


class ApprovalView(BaseModel):
    """An approval request and its task(s)."""

    workflow_id: str
    tasks: list[TaskView]


@router.post("", response_model=ApprovalView, status_code=status.HTTP_201_CREATED, summary="Request an approval")
async def create_approval(
    body: ApprovalCreate,
    actor: Staff,
    gateway: GatewayDep,
    request_id: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> ApprovalView:
    """Start an approval workflow; its task appears in approvers' inboxes once the workflow records it."""
    request_id = request_id or str(uuid4())
    workflow_id = f"approval-{request_id}"
    request = ApprovalInput(
        subject=body.subject,
        reason=body.reason,
        requested_by=actor,
        request_id=request_id,
        approver_role=body.approver_role,
        budget=body.budget,
    )
    attributes = TypedSearchAttributes(
        [SearchAttributePair(ORDER_KIND, "approval"), SearchAttributePair(BUSINESS_REF, workflow_id)]
    )
    with suppress(WorkflowAlreadyStartedError):  # the same Idempotency-Key again: the request already exists
        await gateway.start("Approval", request, workflow_id=workflow_id, search_attributes=attributes)
    return ApprovalView(workflow_id=workflow_id, tasks=[])


@router.get("/{workflow_id}", response_model=ApprovalView, summary="An approval request's tasks")
async def get_approval(workflow_id: str, actor: Reader, session: SessionDep, gateway: GatewayDep) -> ApprovalView:
    """The request's tasks from the read model; none yet (an empty list) while its workflow opens the task."""
    rows = list(
        await session.scalars(
            select(TaskRow).where(col(TaskRow.workflow_id) == workflow_id).order_by(col(TaskRow.opened_at))
        )
    )
    if not rows and not (workflow_id.startswith("approval-") and await gateway.exists(workflow_id)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"approval {workflow_id} does not exist")
    return ApprovalView(workflow_id=workflow_id, tasks=[task_view(r) for r in rows])
