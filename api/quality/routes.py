"""Quality inspection (质检) routes: start a period's inspection, read it with its tasks, and the rules document.

Reviews, improvement actions and effect checks are decided through /api/tasks like every task; a review's
decision carries the scoring form (core.quality.ReviewForm) as its data.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import col
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.acts import IdempotencyKey, Subject, start_journaled
from api.deps import GatewayDep, SessionDep, SettingsDep, require_roles
from api.kpis.routes import MEASURERS
from api.platform.versioned import only_document, versioned_router
from api.schemas import TaskView
from api.tasks.routes import tasks_of
from core.kpis import local_period
from core.quality import QUALITY_RULES_NAME, Inspection, InspectionInput, QualityRules, inspection_id_for
from core.roles import Actor, Role
from db.models import QualityInspectionRow, QualityRulesVersion
from db.quality import upsert_inspection
from infra.settings import Settings
from workflows.common import BUSINESS_REF, ORDER_KIND

router = APIRouter(prefix="/api/quality/inspections", tags=["quality inspection"])
START_ACTION = "quality.start"
Inspector = Annotated[Actor, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
QualityReader = Annotated[Actor, Depends(require_roles(*MEASURERS))]


class InspectionBody(BaseModel):
    """The period to inspect: whole local days."""

    from_: str = Field(alias="from", description="first local day, YYYY-MM-DD")
    to: str = Field(description="last local day (inclusive), YYYY-MM-DD")


class InspectionView(BaseModel):
    """An inspection (sample, scores, actions, checks) and every task it opened."""

    inspection: dict[str, Any]
    tasks: list[TaskView]


def _period(settings: Settings, body: InspectionBody) -> tuple[datetime, datetime, str]:
    try:
        first, last = date.fromisoformat(body.from_), date.fromisoformat(body.to)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "from/to: dates YYYY-MM-DD") from None
    try:
        start, end = local_period(first, last, ZoneInfo(settings.default_timezone))
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err)) from None
    return start, end, inspection_id_for(first, last)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=InspectionView, summary="Inspect a period")
async def start_inspection(
    body: InspectionBody,
    actor: Inspector,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    request_id: IdempotencyKey = None,
) -> InspectionView:
    """Draw the period's sample of closed tickets per handler and send each to an inspector; one per period."""
    start, end, inspection_id = _period(settings, body)
    if end > datetime.now(start.tzinfo):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "to: a period is inspected once it is over")
    if await session.get(QualityInspectionRow, inspection_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{inspection_id}: this period is already inspected")
    fresh_key = request_id is None  # no Idempotency-Key: the id made here is new
    request_id = request_id or str(uuid4())
    workflow_id = f"quality-{inspection_id}"
    arg = InspectionInput(inspection_id=inspection_id, start=start, end=end, requested_by=actor, request_id=request_id)
    first = Inspection(
        inspection_id=inspection_id,
        workflow_id=workflow_id,
        start=start,
        end=end,
        rules_version=0,
        requested_by=actor.username,
    )
    try:
        known = await start_journaled(
            session=session,
            gateway=gateway,
            actor=actor,
            request_id=request_id,
            action=START_ACTION,
            subject=Subject(type="quality_inspection", id=inspection_id, workflow_id=workflow_id),
            workflow="QualityInspection",
            arg=arg,
            write_row=lambda: upsert_inspection(session, first),
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORDER_KIND, "quality"), SearchAttributePair(BUSINESS_REF, inspection_id)]
            ),
            fresh_key=fresh_key,
        )
    except WorkflowAlreadyStartedError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{inspection_id}: this period is already inspected") from None
    return await get_inspection(known or inspection_id, actor, session)


@router.get("", response_model=list[dict[str, Any]], summary="Inspections, newest period first")
async def list_inspections(
    actor: QualityReader, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    """Each inspection's period, status and counts."""
    rows = await session.scalars(
        select(QualityInspectionRow).order_by(col(QualityInspectionRow.start_at).desc()).limit(limit)
    )
    out = []
    for row in rows:
        inspection = Inspection.model_validate(row.detail)
        out.append(
            {
                "inspection_id": inspection.inspection_id,
                "start": inspection.start,
                "end": inspection.end,
                "status": inspection.status,
                "reviews": len(inspection.reviews),
                "scored": sum(r.scored_at is not None for r in inspection.reviews),
                "actions": len(inspection.actions),
                "effective": sum(bool(a.effective) for a in inspection.actions),
            }
        )
    return out


@router.get("/{inspection_id}", response_model=InspectionView, summary="An inspection with its tasks")
async def get_inspection(inspection_id: str, actor: QualityReader, session: SessionDep) -> InspectionView:
    """The sample with its scores, the improvement actions with their checks, and every task."""
    row = await session.get(QualityInspectionRow, inspection_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"quality inspection {inspection_id} does not exist")
    return InspectionView(inspection=row.detail, tasks=await tasks_of(session, inspection_id))


rules = versioned_router(
    prefix="/api/quality-rules",
    tag="quality-rules",
    table=QualityRulesVersion,
    model=QualityRules,
    noun="quality rules",
    review=only_document(QUALITY_RULES_NAME, "quality rules"),
)
