"""Resource-check operations shared by the TMF645 API and the plain act routes: register, load, act."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, registered_subject, start_journaled
from api.errors import field_errors
from api.gateway import TemporalGateway
from api.subjects import SubjectKind
from core.numbers import random_number
from core.resource_checks import (
    FINISHED,
    WORKFLOW_TYPE,
    CheckAct,
    CheckOutcome,
    CheckStatus,
    ResourceCheck,
    ResourceCheckInput,
    workflow_id_for,
)
from core.roles import Actor
from db.models import ResourceCheckRow, utcnow
from db.resource_checks import upsert_check
from workflows.common import BUSINESS_REF, ORDER_KIND

CREATE_ACTION = "resource_check.create"

CHECKS: SubjectKind[ResourceCheckRow, ResourceCheck] = SubjectKind(
    noun="resource check",
    subject_type="resource_check",
    action_prefix="resource_check",
    table=ResourceCheckRow,
    key=lambda row: row.check_id,
    state=ResourceCheck,
    acts=TypeAdapter(CheckAct),
    result_type=CheckOutcome,
    closed=lambda row: f"resource check {row.check_id} is already {row.status}" if row.status in FINISHED else None,
)
load_row, check_of, perform = CHECKS.load_row, CHECKS.state_of, CHECKS.perform


def new_check_id() -> str:
    """A fresh check id: RC + the center's YYYYMMDD + a random suffix (never customer data)."""
    return random_number("RC", utcnow())


async def register(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    actor: Actor,
    request: dict[str, Any],
    request_id: str | None,
    rename: Callable[[str], str] = str,
) -> ResourceCheck:
    """Write a new check's first read-model row and start its workflow; all or nothing, replayed per Idempotency-Key."""
    fresh_key = request_id is None  # no Idempotency-Key: the id made here is new
    request_id = request_id or str(uuid4())
    if not fresh_key and (earlier := await registered_subject(session, request_id, CREATE_ACTION)) is not None:
        return check_of(await load_row(session, earlier))
    now, check_id = utcnow(), new_check_id()
    try:
        start = ResourceCheckInput(
            check_id=check_id, requested_by=actor, request_id=request_id, created_at=now, **request
        )
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, field_errors(err.errors(), rename)) from None
    workflow_id = workflow_id_for(check_id)
    check = ResourceCheck(
        check_id=check_id,
        workflow_id=workflow_id,
        request=start,
        created_at=now,
        created_by=actor.username,
        status_history=[(now, CheckStatus.ACKNOWLEDGED, "requested")],
    )
    earlier = await start_journaled(
        session=session,
        gateway=gateway,
        actor=actor,
        request_id=request_id,
        action=CREATE_ACTION,
        subject=Subject(type=CHECKS.subject_type, id=check_id, workflow_id=workflow_id),
        workflow=WORKFLOW_TYPE,
        arg=start,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(ORDER_KIND, "resource_check"), SearchAttributePair(BUSINESS_REF, check_id)]
        ),
        write_row=lambda: upsert_check(session, check),
        fresh_key=fresh_key,
    )
    return check_of(await load_row(session, earlier)) if earlier else check
