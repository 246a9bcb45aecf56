"""Ticket operations shared by the TMF API, the ticket acts endpoint and the survey: register, load, act."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, registered_subject, start_journaled
from api.gateway import TemporalGateway
from api.subjects import SubjectKind
from core.roles import Actor, Role
from core.tickets import (
    CREATE_ACTION,
    ActOutcome,
    AssignmentRules,
    Intake,
    ProgressEntry,
    ProgressKind,
    Ticket,
    TicketAct,
    TicketInput,
    TicketStatus,
    TicketTypes,
    default_ticket_types,
    missing_intake,
)
from db.models import AssignmentRulesVersion, TicketExternalRef, TicketRow, User, utcnow
from db.policies import latest_parsed
from db.tickets import allocate_ticket_no, upsert_ticket, workflow_id_for
from workflows.common import BUSINESS_REF, ORDER_KIND

HANDOVER_ROLES = (Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.DEPARTMENT, Role.COORDINATOR)

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


async def check_colleague(session: AsyncSession, username: str) -> None:
    """A ticket is handed over only to an active member of staff (422 otherwise)."""
    user = await session.scalar(select(User).where(col(User.username) == username))
    if user is None or not user.active or not set(user.roles) & {r.value for r in HANDOVER_ROLES}:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"to_user: {username} is not an active member of staff"
        )


async def ticket_types(session: AsyncSession) -> TicketTypes:
    """The ticketType → category table of the latest default assignment rules (the built-in one without rules)."""
    rules = await latest_parsed(session, AssignmentRulesVersion, "default", AssignmentRules.model_validate)
    return rules.ticket_types if rules else default_ticket_types()


def fingerprint(body: BaseModel) -> str:
    """SHA-256 of a create body as parsed (what was sent, in a canonical form): the same body, the same fingerprint."""
    sent = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return hashlib.sha256(json.dumps(sent, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Registration:
    """A registered ticket, and whether this request created it (False: an earlier create did)."""

    ticket: Ticket
    created: bool


async def _external_ticket(session: AsyncSession, actor: Actor, external_id: str, fingerprint: str) -> str | None:
    """The ticket this caller registered under `external_id`; 409 when that create's body differed."""
    ref = await session.get(TicketExternalRef, (actor.username, external_id))
    if ref is None:
        return None
    if ref.fingerprint != fingerprint:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"externalId: already names ticket {ref.ticket_no}, registered with a different body",
        )
    return ref.ticket_no


async def register(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    actor: Actor,
    intake: Intake,
    request_id: str | None,
    notes: tuple[tuple[ProgressKind, str], ...] = (),
    fingerprint: str | None = None,
) -> Registration:
    """Number a new ticket, write its first read-model row and start its workflow; all or nothing (bar the serial).

    `notes` (kind, text) become the first progress entries, by the caller, at the registration time.

    A repeated Idempotency-Key answers the ticket it registered (created, as the first answer said). With an
    externalId (and the body's `fingerprint`) the caller's externalId is the key instead: the same one again answers
    the ticket it registered (not created: an earlier request created it), or 409 when the body differs.
    """
    if request_id and (earlier := await registered_subject(session, request_id, CREATE_ACTION)) is not None:
        return Registration(ticket_of(await load_row(session, earlier)), created=True)
    external = (intake.external_id, fingerprint) if intake.external_id and fingerprint else None
    if external:
        if (known := await _external_ticket(session, actor, *external)) is not None:
            return Registration(ticket_of(await load_row(session, known)), created=False)
        key = hashlib.sha256(f"{actor.username}\n{external[0]}".encode()).hexdigest()[:48]
        request_id = f"{CREATE_ACTION}.external:{key}"
    fresh_key = not request_id  # no Idempotency-Key and no externalId: the id made below is new
    request_id = request_id or str(uuid4())
    now = utcnow()
    log = tuple(ProgressEntry(at=now, author=actor.username, kind=kind, text=text) for kind, text in notes)
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
        log=list(log),
    )

    async def write_row() -> None:
        await upsert_ticket(session, ticket)
        if external:
            external_id, body_fingerprint = external
            ref = TicketExternalRef(
                created_by=actor.username, external_id=external_id, ticket_no=ticket_no, fingerprint=body_fingerprint
            )
            session.add(ref)
            await session.flush()

    earlier = await start_journaled(
        session=session,
        gateway=gateway,
        actor=actor,
        request_id=request_id,
        action=CREATE_ACTION,
        subject=Subject(type=TICKETS.subject_type, id=ticket_no, workflow_id=workflow_id),
        workflow="ServiceTicket",
        arg=TicketInput(ticket_no=ticket_no, intake=intake, created_by=actor, request_id=request_id, log=log),
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(ORDER_KIND, "ticket"), SearchAttributePair(BUSINESS_REF, ticket_no)]
        ),
        write_row=write_row,
        fresh_key=fresh_key,
    )
    if earlier is None:
        return Registration(ticket, created=True)
    if external:  # a concurrent create with the same externalId won the race: the same rule applies
        await _external_ticket(session, actor, *external)
    return Registration(ticket_of(await load_row(session, earlier)), created=not external)
