"""Scheduled customer callbacks: start a schedule for an activated circuit or a major customer, see it, stop it.

Activation starts a circuit's schedule by itself (the provisioning workflow does); this API starts one for a
circuit activated before that (from the circuit ledger) and for each major customer. Results are the callback
task's decision (`POST /api/tasks/{id}/decision` with outcome `reached` or `unreachable` and the result form).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.acts import IdempotencyKey, Subject, deliver, start_journaled
from api.deps import DbDep, GatewayDep, Reader, SessionDep, SettingsDep, require_roles
from api.errors import ApiError, QuietValidationRoute
from core.callbacks import (
    START_ROLES,
    STOP_ROLES,
    CallbackInput,
    CallbackOutcome,
    StopCallbacks,
    SubjectType,
    check_stop,
    workflow_id_for,
)
from core.roles import Actor
from db.callbacks import active_circuit, callbacks_of
from db.models import ServiceOrderRow, utcnow
from workflows.common import BUSINESS_REF, ORDER_KIND

router = APIRouter(prefix="/api/callbacks", tags=["callbacks"], route_class=QuietValidationRoute)
START_ACTION = "callbacks.start"
MAX_YEARS_BACK = 30  # a designation date further back is a typing error
Scheduler = Annotated[Actor, Depends(require_roles(*START_ROLES))]
Stopper = Annotated[Actor, Depends(require_roles(*STOP_ROLES))]  # refused before the path or body is validated


class ScheduleBody(BaseModel):
    """Whose callbacks to schedule: a circuit from the ledger, or a major customer since a date."""

    subject_type: SubjectType
    subject_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    since: date | None = Field(default=None, description="a major customer's designation date (customers only)")


class StopBody(BaseModel):
    """Why the schedule ends."""

    reason: str = Field(min_length=1, max_length=1000)


class ScheduleView(BaseModel):
    """A schedule: its workflow and every callback it has opened or planned, in order."""

    workflow_id: str
    subject_type: SubjectType
    subject_id: str
    callbacks: list[dict[str, Any]]


async def _anchor(body: ScheduleBody, session: SessionDep, zone: ZoneInfo) -> tuple[date, str | None]:
    """The schedule's anchor date and customer: a circuit's activation (ledger), a customer's designation."""
    if body.subject_type == SubjectType.CUSTOMER:
        if body.since is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since: required for a major customer")
        today = utcnow().astimezone(zone).date()
        if body.since > today:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since: must not be in the future")
        if body.since < today.replace(year=today.year - MAX_YEARS_BACK, day=min(today.day, 28)):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"since: at most {MAX_YEARS_BACK} years ago")
        return body.since, body.subject_id
    if body.since is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since: a circuit's schedule starts at activation")
    circuit = await active_circuit(session, body.subject_id)
    if circuit is None or circuit.completed_at is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no activated circuit {body.subject_id} in the ledger")
    order = await session.get(ServiceOrderRow, circuit.order_id)
    return circuit.completed_at.astimezone(zone).date(), order.customer_id if order else None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScheduleView,
    summary="Start a schedule",
    responses={404: {"model": ApiError, "description": "no activated circuit in the ledger has this id"}},
)
async def start_schedule(
    body: ScheduleBody,
    actor: Scheduler,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    request_id: IdempotencyKey = None,
) -> ScheduleView:
    """Start the subject's callback schedule: monthly callbacks in its first year, quarterly after."""
    fresh_key = request_id is None  # no Idempotency-Key: the id made here is new
    request_id = request_id or str(uuid4())
    anchor, customer_id = await _anchor(body, session, ZoneInfo(settings.default_timezone))
    workflow_id = workflow_id_for(body.subject_type, body.subject_id)
    start = CallbackInput(
        subject_type=body.subject_type,
        subject_id=body.subject_id,
        customer_id=customer_id,
        anchor=anchor,
        started_by=actor,
        request_id=request_id,
    )

    async def nothing_to_write() -> None:  # the workflow writes each callback as it plans it
        return None

    try:
        await start_journaled(
            session=session,
            gateway=gateway,
            actor=actor,
            request_id=request_id,
            action=START_ACTION,
            subject=Subject(type="callback", id=workflow_id, workflow_id=workflow_id),
            workflow="CustomerCallback",
            arg=start,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(ORDER_KIND, "callback"), SearchAttributePair(BUSINESS_REF, body.subject_id)]
            ),
            write_row=nothing_to_write,
            fresh_key=fresh_key,
        )
    except WorkflowAlreadyStartedError:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"{body.subject_type.value} {body.subject_id} already has a callback schedule"
        ) from None
    return await get_schedule(body.subject_type, body.subject_id, actor, session)


@router.get("/{subject_type}/{subject_id}", response_model=ScheduleView, summary="A schedule and its callbacks")
async def get_schedule(subject_type: SubjectType, subject_id: str, actor: Reader, session: SessionDep) -> ScheduleView:
    """Every callback the schedule has planned or opened: day, window, status, result, raised ticket."""
    workflow_id = workflow_id_for(subject_type, subject_id)
    rows = await callbacks_of(session, workflow_id)
    return ScheduleView(
        workflow_id=workflow_id,
        subject_type=subject_type,
        subject_id=subject_id,
        callbacks=[row.model_dump(mode="json", exclude={"updated_at", "revision"}) for row in rows],
    )


@router.post(
    "/{subject_type}/{subject_id}/stop", response_model=CallbackOutcome, summary="Stop a schedule (after this callback)"
)
async def stop_schedule(
    subject_type: SubjectType,
    subject_id: str,
    body: StopBody,
    actor: Stopper,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    request_id: IdempotencyKey = None,
) -> CallbackOutcome:
    """End the schedule: the open callback is closed and no more are planned (journaled; refusals change nothing)."""
    workflow_id = workflow_id_for(subject_type, subject_id)
    if not await callbacks_of(session, workflow_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{subject_type.value} {subject_id} has no callback schedule")

    def precheck() -> None:
        check_stop(actor, stopped=False)

    outcome = await deliver(
        gateway=gateway,
        db=db,
        session=session,
        actor=actor,
        subject=Subject(type="callback", id=workflow_id, workflow_id=workflow_id),
        action="callbacks.stop",
        update="stop",
        build=lambda rid: StopCallbacks(request_id=rid, actor=actor, reason=body.reason),
        result_type=CallbackOutcome,
        request_id=request_id,
        precheck=precheck,
    )
    if outcome is None:
        return CallbackOutcome(workflow_id=workflow_id, last_number=0, status="stopping")
    return outcome
