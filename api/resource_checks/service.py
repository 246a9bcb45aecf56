"""Resource-check operations shared by the TMF645 API and the plain act routes: register, load, act."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, deliver, registered_subject
from api.errors import field_errors
from api.gateway import ActRefused, TemporalGateway
from core.numbers import random_number
from core.records import AuditRecord
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
from core.tasks import RefusalCode
from db import audit as audit_journal
from db.models import ResourceCheckRow, utcnow
from db.resource_checks import upsert_check
from db.session import Database
from workflows.common import BUSINESS_REF, ORDER_KIND

CHECK_ACT: TypeAdapter[Any] = TypeAdapter(CheckAct)
CREATE_ACTION = "resource_check.create"


async def load_row(session: AsyncSession, check_id: str) -> ResourceCheckRow:
    """The check's read-model row; 404 when there is no such check."""
    row = await session.get(ResourceCheckRow, check_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"resource check {check_id} does not exist")
    return row


def check_of(row: ResourceCheckRow) -> ResourceCheck:
    """The check state a read-model row holds."""
    return ResourceCheck.model_validate(row.detail)


def new_check_id() -> str:
    """A fresh check id: RC + the center's YYYYMMDD + a random suffix (never customer data)."""
    return random_number("RC", utcnow())


async def register(
    *, session: AsyncSession, gateway: TemporalGateway, actor: Actor, request: dict[str, Any], request_id: str | None
) -> ResourceCheck:
    """Write a new check's first read-model row and start its workflow; all or nothing, replayed per Idempotency-Key."""
    request_id = request_id or str(uuid4())
    if (known := await registered_subject(session, request_id, CREATE_ACTION)) is not None:
        return check_of(await load_row(session, known))
    now, check_id = utcnow(), new_check_id()
    try:
        start = ResourceCheckInput(
            check_id=check_id, requested_by=actor, request_id=request_id, created_at=now, **request
        )
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, field_errors(err.errors())) from None
    workflow_id = workflow_id_for(check_id)
    check = ResourceCheck(
        check_id=check_id,
        workflow_id=workflow_id,
        request=start,
        created_at=now,
        created_by=actor.username,
        status_history=[(now, CheckStatus.ACKNOWLEDGED, "requested")],
    )
    try:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"check:{request_id}"})
        if (known := await registered_subject(session, request_id, CREATE_ACTION)) is not None:
            await session.rollback()
            return check_of(await load_row(session, known))
        await upsert_check(session, check)
        attributes = TypedSearchAttributes(
            [SearchAttributePair(ORDER_KIND, "resource_check"), SearchAttributePair(BUSINESS_REF, check_id)]
        )
        await gateway.start(WORKFLOW_TYPE, start, workflow_id=workflow_id, search_attributes=attributes)
        await audit_journal.append(
            session,
            AuditRecord(
                at=now,
                actor=actor.username,
                actor_roles=tuple(r.value for r in actor.roles),
                action=CREATE_ACTION,
                subject_type="resource_check",
                subject_id=check_id,
                workflow_id=workflow_id,
                request_id=request_id,
            ),
        )
    except BaseException:
        await session.rollback()  # nothing is left behind: no row, no journal entry, no workflow
        raise
    await session.commit()
    return check


async def perform(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    db: Database,
    actor: Actor,
    row: ResourceCheckRow,
    act: dict[str, Any],
    request_id: str | None,
) -> ResourceCheck:
    """Send one act (a CheckAct payload without request id and actor) to the check's workflow; the check after it."""
    request_id = request_id or str(uuid4())
    try:
        message = CHECK_ACT.validate_python({**act, "request_id": request_id, "actor": actor})
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, field_errors(err.errors(), skip=1)) from None

    def not_finished() -> None:
        if row.status in FINISHED:
            raise ActRefused(RefusalCode.CONFLICT, f"resource check {row.check_id} is already {row.status}")

    await deliver(
        gateway=gateway,
        db=db,
        session=session,
        actor=actor,
        action=f"resource_check.{message.type}",
        update="act",
        subject=Subject(type="resource_check", id=row.check_id, workflow_id=row.workflow_id),
        build=lambda _: message,
        result_type=CheckOutcome,
        request_id=request_id,
        precheck=not_finished,
    )
    await session.refresh(row)  # the workflow wrote the read model before answering
    return check_of(row)
