"""Emergencies (DOMAIN.md §5): declare one, list and read them with their tasks, act on them; the incident policy.

Supervisors declare; the detection on ticket intake declares one by itself (activities/incidents.py). Stage and
report-chain tasks are decided at /api/tasks/{id}/decision; the acts here link tickets, name team members, log
progress and stand an incident down. TMF621 shows an incident as the parent trouble ticket of its tickets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import uuid4

from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import select
from sqlmodel import col

from activities.incidents import incident_attributes
from api.acts import IdempotencyKey, StaffActing, Subject, act_bodies, act_fields, body_union, start_journaled
from api.deps import GatewayDep, Reader, SessionDep, require_roles
from api.errors import QuietValidationRoute
from api.platform.versioned import versioned_router
from api.schemas import Offset, TaskView
from api.subjects import SubjectKind
from api.tasks.routes import tasks_of
from core.incidents import (
    COMMAND_ROLES,
    OPEN_STATUSES,
    WORKFLOW_TYPE,
    AssignMember,
    FaultSignature,
    Incident,
    IncidentAct,
    IncidentClass,
    IncidentInput,
    IncidentLevel,
    IncidentOutcome,
    IncidentPolicy,
    IncidentStatus,
    LinkTicket,
    Member,
    workflow_id_for,
)
from core.numbers import random_number
from core.roles import Actor
from db.incidents import upsert_incident
from db.models import IncidentPolicyVersion, IncidentRow, TicketRow, User, utcnow
from db.readmodel import page_of

router = APIRouter(prefix="/api/incidents", tags=["incidents"], route_class=QuietValidationRoute)
DECLARE_ACTION = "incident.declare"
Commander = Annotated[Actor, Depends(require_roles(*COMMAND_ROLES))]


def _closed(row: IncidentRow) -> str | None:
    return None if row.status in {s.value for s in OPEN_STATUSES} else f"incident {row.incident_no} is {row.status}"


INCIDENTS: SubjectKind[IncidentRow, Incident] = SubjectKind(
    noun="incident",
    subject_type="incident",
    action_prefix="incident",
    table=IncidentRow,
    key=lambda row: row.incident_no,
    state=Incident,
    acts=TypeAdapter(IncidentAct),
    result_type=IncidentOutcome,
    closed=_closed,
)
BODIES = act_bodies(IncidentAct)
if TYPE_CHECKING:
    ActBody = BaseModel
else:
    ActBody = body_union(BODIES)


class DeclareBody(BaseModel):
    """An emergency as a supervisor declares it: class, level, what happened, the teams, the affected tickets."""

    incident_class: IncidentClass
    level: IncidentLevel
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    signature: FaultSignature | None = Field(default=None, description="the fault signature later tickets join by")
    members: list[Member] = Field(default_factory=list, max_length=50)
    tickets: list[str] = Field(default_factory=list, max_length=500, description="affected tickets to link now")


class IncidentView(BaseModel):
    """An incident and every task it opened."""

    incident: Incident
    tasks: list[TaskView]


class IncidentPage(BaseModel):
    """A page of incidents, newest first."""

    total: int
    items: list[Incident]


async def _unknown_tickets(session: SessionDep, tickets: list[str]) -> list[str]:
    found = set(await session.scalars(select(col(TicketRow.ticket_no)).where(col(TicketRow.ticket_no).in_(tickets))))
    return [t for t in tickets if t not in found]


async def _unknown_users(session: SessionDep, usernames: list[str]) -> list[str]:
    found = set(
        await session.scalars(
            select(col(User.username)).where(col(User.username).in_(usernames), col(User.active).is_(True))
        )
    )
    return [u for u in usernames if u not in found]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentView, summary="Declare an emergency")
async def declare_incident(
    body: DeclareBody,
    actor: Commander,
    session: SessionDep,
    gateway: GatewayDep,
    request_id: IdempotencyKey = None,
) -> IncidentView:
    """Start the incident's workflow: its stages, the progress updates and, for a major fault, the report chain.

    Unknown tickets or people answer 422 and nothing starts; a repeated Idempotency-Key returns the first incident.
    """
    fresh_key = request_id is None  # no Idempotency-Key: the id made here is new
    request_id = request_id or str(uuid4())
    tickets = list(dict.fromkeys(body.tickets))
    if missing := await _unknown_tickets(session, tickets):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"tickets: unknown {', '.join(missing)}")
    if missing := await _unknown_users(session, [m.username for m in body.members]):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"members: unknown users {', '.join(missing)}")
    now = utcnow()
    incident_no = random_number("INC", now)
    start = IncidentInput(
        incident_no=incident_no,
        incident_class=body.incident_class,
        level=body.level,
        title=body.title,
        description=body.description,
        signature=body.signature,
        members=tuple(body.members),
        tickets=tuple(tickets),
        declared_by=actor,
        request_id=request_id,
    )
    first = Incident(
        incident_no=incident_no,
        workflow_id=workflow_id_for(incident_no),
        incident_class=body.incident_class,
        level=body.level,
        title=body.title,
        description=body.description,
        signature=body.signature,
        declared_by=actor.username,
        created_at=now,
        members=list(body.members),
    )
    known = await start_journaled(
        session=session,
        gateway=gateway,
        actor=actor,
        request_id=request_id,
        action=DECLARE_ACTION,
        subject=Subject(type="incident", id=incident_no, workflow_id=first.workflow_id),
        workflow=WORKFLOW_TYPE,
        arg=start,
        write_row=lambda: upsert_incident(session, first),
        search_attributes=incident_attributes(incident_no),
        fresh_key=fresh_key,
    )
    if known is not None:
        return await get_incident(known, actor, session)
    return IncidentView(incident=first, tasks=[])


@router.get("", response_model=IncidentPage, summary="List incidents")
async def list_incidents(
    actor: Reader,
    session: SessionDep,
    incident_status: Annotated[IncidentStatus | None, Query(alias="status")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> IncidentPage:
    """Incidents newest first from the read model, optionally of one status."""
    conditions = [col(IncidentRow.status) == incident_status.value] if incident_status else []
    total, rows = await page_of(
        session, IncidentRow, conditions, col(IncidentRow.created_at).desc(), offset=offset, limit=limit
    )
    return IncidentPage(total=total, items=[INCIDENTS.state_of(r) for r in rows])


@router.get("/{incident_no}", response_model=IncidentView, summary="An incident with its tasks")
async def get_incident(incident_no: str, actor: Reader, session: SessionDep) -> IncidentView:
    """The incident (teams, linked tickets, stages, report chain, updates, review) and its tasks."""
    row = await INCIDENTS.load_row(session, incident_no)
    return IncidentView(incident=INCIDENTS.state_of(row), tasks=await tasks_of(session, incident_no))


@router.post("/{incident_no}/acts", response_model=Incident, summary="Link a ticket, name a member, log, stand down")
async def act_on_incident(incident_no: str, body: Annotated[ActBody, Body()], acting: StaffActing) -> Incident:
    """Deliver the act to the incident's workflow; a refusal (403/404/409/422) changes nothing and is journaled."""
    row = await INCIDENTS.load_row(acting.session, incident_no)
    act = act_fields(body)
    if isinstance(body, BODIES[LinkTicket]) and await _unknown_tickets(acting.session, [act["ticket_no"]]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"ticket {act['ticket_no']} does not exist")
    if isinstance(body, BODIES[AssignMember]) and await _unknown_users(acting.session, [act["member"].username]):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"member.username: no user {act['member'].username}")
    return await INCIDENTS.perform(acting, row, act)


policies = versioned_router(
    prefix="/api/incident-policies",
    tag="incident-policies",
    table=IncidentPolicyVersion,
    model=IncidentPolicy,
    noun="incident policy",
)
