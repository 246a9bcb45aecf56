"""Arbitration (DOMAIN.md §7): ask for it on a stalled task of any ticket or order, and read a workflow's.

The arbiter the assignment rules name (section `arbitration`) decides through the arbitration task,
`POST /api/tasks/{id}/decision` with outcome `decide`, `data.department` (one of the parties) and the reasons
as `comment`; the decision moves the stalled task, and the step or assignment behind it, to that department.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from temporalio.service import RPCError

from api.acts import IdempotencyKey, StaffActing, Subject, deliver
from api.deps import GatewayDep, Reader
from api.errors import ApiError, QuietValidationRoute
from core.arbitration import Arbitration, ArbitrationRequest, Party
from core.tasks import ActResult
from db.models import TaskRow

router = APIRouter(prefix="/api/arbitrations", tags=["arbitration"], route_class=QuietValidationRoute)


class ArbitrationBody(BaseModel):
    """The stalled task, the departments that disagree with their positions, and what is stalled."""

    task_id: str = Field(min_length=1, max_length=200)
    parties: list[Party] = Field(min_length=2, max_length=8)
    stalled: str = Field(min_length=1, max_length=2000)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ActResult,
    summary="Ask for arbitration",
    responses={404: {"model": ApiError, "description": "no task has this id"}},
)
async def request_arbitration(
    body: ArbitrationBody, acting: StaffActing, request_id: IdempotencyKey = None
) -> ActResult:
    """Open the arbitration task for the arbiter the rules name; refusals (outsider, closed task, one department,
    already waiting) change nothing and are journaled."""
    task = await acting.session.get(TaskRow, body.task_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"task {body.task_id} does not exist")
    result = await deliver(
        gateway=acting.gateway,
        db=acting.db,
        session=acting.session,
        actor=acting.actor,
        subject=Subject(type="task", id=task.task_id, workflow_id=task.workflow_id),
        action="arbitration.request",
        update="request_arbitration",
        build=lambda rid: ArbitrationRequest(
            request_id=rid, actor=acting.actor, task_id=body.task_id, parties=tuple(body.parties), stalled=body.stalled
        ),
        result_type=ActResult,
        request_id=request_id,
    )
    if result is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "Idempotency-Key: this arbitration was already requested")
    return result


@router.get(
    "",
    response_model=list[Arbitration],
    summary="A workflow's arbitrations",
    responses={404: {"model": ApiError, "description": "no running workflow has this id"}},
)
async def arbitrations_of(
    workflow_id: Annotated[str, Query(min_length=1, max_length=200)], actor: Reader, gateway: GatewayDep
) -> list[Arbitration]:
    """Every arbitration asked on the workflow's tasks: parties, positions, arbiter, decision, whether it bound."""
    try:
        found: list[Arbitration] = await gateway.client.get_workflow_handle(workflow_id).query(
            "arbitrations", result_type=list[Arbitration], rpc_timeout=gateway.rpc_timeout
        )
    except RPCError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"workflow {workflow_id} is not running") from None
    return found
