"""Ticket operations shared by the TMF API, the ticket acts endpoint and the survey: register, load, act."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, deliver, registered_subject
from api.errors import field_errors
from api.gateway import TemporalGateway
from core.records import AuditRecord
from core.roles import Actor
from core.tasks import RefusalCode, TaskRefused
from core.tickets import ActOutcome, Intake, Ticket, TicketAct, TicketInput, TicketStatus, missing_intake
from db import audit as audit_journal
from db.models import TicketRow, utcnow
from db.session import Database
from db.tickets import allocate_ticket_no, upsert_ticket, workflow_id_for
from workflows.common import BUSINESS_REF, ORDER_KIND

TICKET_ACT: TypeAdapter[Any] = TypeAdapter(TicketAct)
CREATE_ACTION = "ticket.create"


async def load_row(session: AsyncSession, ticket_no: str) -> TicketRow:
    """The ticket's read-model row; 404 when there is no such ticket."""
    row = await session.get(TicketRow, ticket_no)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"ticket {ticket_no} does not exist")
    return row


def ticket_of(row: TicketRow) -> Ticket:
    """The ticket state a read-model row holds."""
    return Ticket.model_validate(row.detail)


def check_intake(intake: Intake, now: datetime, rename: Callable[[str], str] = str, *, amend: bool = False) -> None:
    """Refuse what the intake model cannot judge: removed fields; occurred_at to the minute and not in the future."""
    if amend and (removed := [rename(f) for f in sorted(intake.model_fields_set) if getattr(intake, f) in (None, ())]):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{', '.join(removed)}: cannot be removed, only corrected"
        )
    at = intake.occurred_at
    if at is None:
        return
    problem = (
        "include a timezone offset"
        if at.tzinfo is None
        else "to the minute, without seconds"
        if at.second or at.microsecond
        else "must not be in the future"
        if at > now
        else None
    )
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{rename('occurred_at')}: {problem}")


async def _registered(session: AsyncSession, request_id: str) -> Ticket | None:
    """The ticket an earlier create with this request id registered (None when there was none)."""
    ticket_no = await registered_subject(session, request_id, CREATE_ACTION)
    row = await session.get(TicketRow, ticket_no) if ticket_no else None
    return ticket_of(row) if row is not None else None


async def register(
    *, session: AsyncSession, gateway: TemporalGateway, actor: Actor, intake: Intake, request_id: str | None
) -> Ticket:
    """Number a new ticket, write its first read-model row and start its workflow; all or nothing (bar the serial)."""
    request_id = request_id or str(uuid4())
    if (known := await _registered(session, request_id)) is not None:
        return known
    now = utcnow()
    ticket_no = await allocate_ticket_no(session, now)
    await session.commit()  # the serial is taken at once: concurrent intakes never wait on each other's workflow start
    workflow_id = workflow_id_for(ticket_no)
    first = TicketStatus.INTAKE_INCOMPLETE if missing_intake(intake) else TicketStatus.PENDING_ASSIGNMENT
    ticket = Ticket(
        ticket_no=ticket_no,
        workflow_id=workflow_id,
        intake=intake,
        status=first,
        created_at=now,
        created_by=actor.username,
        first_responder=actor.username,
        status_history=[(now, first, "registered")],
    )
    try:
        # A per-key lock makes a concurrent create with the same Idempotency-Key wait and then find this ticket;
        # the journal's chain lock is taken only at the end, so intakes never queue behind a Temporal call.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"intake:{request_id}"})
        if (known := await _registered(session, request_id)) is not None:
            await session.rollback()
            return known
        await upsert_ticket(session, ticket)
        attributes = TypedSearchAttributes(
            [SearchAttributePair(ORDER_KIND, "ticket"), SearchAttributePair(BUSINESS_REF, ticket_no)]
        )
        await gateway.start(
            "ServiceTicket",
            TicketInput(ticket_no=ticket_no, intake=intake, created_by=actor, request_id=request_id),
            workflow_id=workflow_id,
            search_attributes=attributes,
        )
        await audit_journal.append(
            session,
            AuditRecord.by(
                actor,
                CREATE_ACTION,
                "ticket",
                ticket_no,
                at=now,
                request_id=request_id,
                workflow_id=workflow_id,
            ),
        )
    except BaseException:
        await session.rollback()  # nothing is left behind: no row, no journal entry, no workflow
        raise
    await session.commit()
    return ticket


async def perform(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    db: Database,
    actor: Actor,
    row: TicketRow,
    act: dict[str, Any],
    request_id: str | None,
    rename: Callable[[str], str] = str,
) -> Ticket:
    """Send one act (a TicketAct payload without request id and actor) to the ticket's workflow; the ticket after it."""
    request_id = request_id or str(uuid4())
    try:
        message = TICKET_ACT.validate_python({**act, "request_id": request_id, "actor": actor})
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, field_errors(err.errors(), rename, skip=1)) from None

    def not_cancelled() -> None:
        if row.status == TicketStatus.CANCELLED:
            raise TaskRefused(RefusalCode.CONFLICT, f"ticket {row.ticket_no} is cancelled")

    await deliver(
        gateway=gateway,
        db=db,
        session=session,
        actor=actor,
        action=f"ticket.{message.type}",
        update="act",
        subject=Subject(type="ticket", id=row.ticket_no, workflow_id=row.workflow_id),
        build=lambda _: message,
        result_type=ActOutcome,
        request_id=request_id,
        precheck=not_cancelled,
    )
    await session.refresh(row)  # the workflow wrote the read model before answering
    return ticket_of(row)
