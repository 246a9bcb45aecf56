"""Ticket operations shared by the TMF API, the ticket acts endpoint and the survey: register, load, act."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, registered_subject, start_journaled
from api.gateway import TemporalGateway
from api.subjects import SubjectKind
from core.roles import Actor
from core.tickets import ActOutcome, Intake, Ticket, TicketAct, TicketInput, TicketStatus, missing_intake
from db.models import TicketRow, utcnow
from db.tickets import allocate_ticket_no, upsert_ticket, workflow_id_for
from workflows.common import BUSINESS_REF, ORDER_KIND

CREATE_ACTION = "ticket.create"

TICKETS: SubjectKind[TicketRow, Ticket] = SubjectKind(
    noun="ticket",
    subject_type="ticket",
    action_prefix="ticket",
    table=TicketRow,
    key=lambda row: row.ticket_no,
    state=Ticket,
    acts=TypeAdapter(TicketAct),
    result_type=ActOutcome,
    closed=lambda row: f"ticket {row.ticket_no} is cancelled" if row.status == TicketStatus.CANCELLED else None,
)
load_row, ticket_of, perform = TICKETS.load_row, TICKETS.state_of, TICKETS.perform


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


async def register(
    *, session: AsyncSession, gateway: TemporalGateway, actor: Actor, intake: Intake, request_id: str | None
) -> Ticket:
    """Number a new ticket, write its first read-model row and start its workflow; all or nothing (bar the serial)."""
    request_id = request_id or str(uuid4())
    if (earlier := await registered_subject(session, request_id, CREATE_ACTION)) is not None:
        return ticket_of(await load_row(session, earlier))
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
    earlier = await start_journaled(
        session=session,
        gateway=gateway,
        actor=actor,
        request_id=request_id,
        action=CREATE_ACTION,
        subject=Subject(type=TICKETS.subject_type, id=ticket_no, workflow_id=workflow_id),
        workflow="ServiceTicket",
        arg=TicketInput(ticket_no=ticket_no, intake=intake, created_by=actor, request_id=request_id),
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(ORDER_KIND, "ticket"), SearchAttributePair(BUSINESS_REF, ticket_no)]
        ),
        write_row=lambda: upsert_ticket(session, ticket),
    )
    return ticket_of(await load_row(session, earlier)) if earlier else ticket
