"""Service tickets over plain REST: the handler's acts, the ticket with its tasks, and the audited contact reveal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from api.acts import StaffActing, act_bodies, act_fields, body_union, journal_refusal
from api.deps import DbDep, Reader, SessionDep, Staff
from api.errors import QuietValidationRoute
from api.schemas import TaskView
from api.tasks.routes import task_texts, tasks_of
from api.tickets.service import TICKETS, check_colleague, check_intake, load_row, perform, ticket_of
from api.tickets.tmf621 import revealed_texts, row_to_tmf, to_tmf
from core.records import AuditRecord
from core.roles import Role
from core.tasks import RefusalCode, TaskRefused
from core.tickets import AmendIntake, CustomerFeedback, HandOver, HandOverRecord, TicketAct
from db import audit as audit_journal
from db.models import utcnow

router = APIRouter(prefix="/api/tickets", tags=["tickets"], route_class=QuietValidationRoute)

REVEAL_ACTION = "ticket.contact.reveal"


# The customer's survey answer arrives only through /api/survey/{token}.
BODIES = act_bodies(TicketAct, exclude=(CustomerFeedback,))
if TYPE_CHECKING:  # the union is built at import time; to the type checker a body is a model
    ActBody = BaseModel
else:
    ActBody = body_union(BODIES)


class Ownership(BaseModel):
    """首问负责制: who first received the request, who owns it now, and every recorded hand-over."""

    first_responder: str
    owner: str
    handovers: list[HandOverRecord]


class TicketDetail(BaseModel):
    """A ticket (its TMF representation, contact masked), its ownership and every human task it opened."""

    ticket: dict[str, Any]
    ownership: Ownership | None = None
    tasks: list[TaskView]


class RevealBody(BaseModel):
    """Why the contact is needed (kept in the audit journal)."""

    reason: str = Field(default="", max_length=500)


class ContactView(BaseModel):
    """The whole contact of a ticket's customer, and the ticket's free text that views show masked."""

    ticket_no: str
    contact: str | None
    texts: dict[str, str] = Field(
        default_factory=dict,
        description="TMF attribute path (note[0].text) or task (tasks[<id>].subject) → the text whole, where masked",
    )


@router.get("/{ticket_no}", response_model=TicketDetail, summary="A ticket with its tasks")
async def get_ticket(ticket_no: str, actor: Reader, session: SessionDep) -> TicketDetail:
    """The ticket and its tasks (open and done) from the read models."""
    row = await load_row(session, ticket_no)
    state = ticket_of(row)
    ownership = Ownership(first_responder=state.first_responder, owner=state.responsible, handovers=state.handovers)
    return TicketDetail(ticket=row_to_tmf(row), ownership=ownership, tasks=await tasks_of(session, ticket_no))


@router.post(
    "/{ticket_no}/acts", summary="Act on a ticket: accept, log progress, request an extension, resolve, close …"
)
async def act_on_ticket(
    ticket_no: str,
    body: Annotated[ActBody, Body()],
    acting: StaffActing,
) -> dict[str, Any]:
    """Deliver the act to the ticket's workflow; a refusal (403/409/422) changes nothing and is journaled."""
    row = await load_row(acting.session, ticket_no)
    act = act_fields(body)
    if isinstance(body, BODIES[AmendIntake]):
        check_intake(act["changes"], utcnow(), lambda f: f"changes.{f}", amend=True)
    if isinstance(body, BODIES[HandOver]):
        await check_colleague(acting.session, act["to_user"])
    ticket = await perform(acting, row, act)
    return to_tmf(ticket, last_update=row.updated_at)


@router.post(
    "/{ticket_no}/contact/reveal", response_model=ContactView, summary="Reveal the customer's whole contact (audited)"
)
async def reveal_contact(
    ticket_no: str,
    actor: Staff,
    session: SessionDep,
    db: DbDep,
    body: RevealBody | None = None,
) -> ContactView:
    """The handler, agents and supervisors may see the contact and free text whole; every reveal is journaled."""
    row = await load_row(session, ticket_no)
    subject = TICKETS.subject(row)
    if not (actor.username == row.handler or actor.has_role(Role.AGENT, Role.SUPERVISOR)):
        refused = TaskRefused(
            RefusalCode.FORBIDDEN, "contact: only the ticket's handler, agents and supervisors may reveal it"
        )
        raise await journal_refusal(db, actor, subject, REVEAL_ACTION, refused, None)
    await audit_journal.append(
        session,
        AuditRecord.by(
            actor,
            REVEAL_ACTION,
            subject.type,
            ticket_no,
            at=utcnow(),
            request_id=f"reveal:{uuid4()}",  # every reveal is its own row
            workflow_id=row.workflow_id,
            reason=(body.reason or None) if body else None,
        ),
    )
    await session.commit()
    texts = revealed_texts(ticket_of(row)) | await task_texts(session, ticket_no)
    return ContactView(ticket_no=ticket_no, contact=row.contact, texts=texts)
