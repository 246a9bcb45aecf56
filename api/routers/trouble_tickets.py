"""TMF621 Trouble Ticket API v4: create, get, list (filters, fields, paging) and patch service tickets.

Every error answers a TMF Error body (`code`, `reason`, `message` naming the field, `status`). The mapping
between the TMF resource and our ticket, with the extension names, is documented in api/tmf.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from api.acts import IdempotencyKey
from api.deps import DbDep, GatewayDep, Reader, SessionDep, Staff, require_roles
from api.ticketing import check_intake, load_row, perform, register, ticket_of
from api.tmf import (
    STATUS_FIELDS,
    TMF_PATH,
    TmfRoute,
    TmfStatus,
    TroubleTicketCreate,
    TroubleTicketPatch,
    href,
    intake_of,
    project,
    status_act,
    tmf_name,
    to_tmf,
)
from core.roles import Actor, Role
from core.sla import Priority
from core.tickets import Category, TicketStatus
from db.models import utcnow
from db.tickets import find_tickets

router = APIRouter(prefix=TMF_PATH, tags=["TMF621 trouble tickets"], route_class=TmfRoute)

Intaker = Annotated[Actor, Depends(require_roles(Role.AGENT, Role.SUPERVISOR))]
Fields = Annotated[str | None, Query(description="comma-separated attributes to return (id and href always)")]
# TMF names for the act fields a PATCH fills from TMF attributes.
_ACT_NAMES = {
    "reason": "statusChangeReason",
    "note": "statusChangeReason",
    "expected_resolution_at": "expectedResolutionDate",
}


@router.post("", status_code=status.HTTP_201_CREATED, summary="Register a trouble ticket (service ticket)")
async def create_trouble_ticket(
    body: TroubleTicketCreate,
    actor: Intaker,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """Number the ticket (CS+YYYYMMDD+serial, the `id`) and start its workflow; missing intake leaves it acknowledged."""
    intake = intake_of(body)
    check_intake(intake, utcnow(), tmf_name)
    ticket = await register(session=session, gateway=gateway, actor=actor, intake=intake, request_id=request_id)
    response.headers["Location"] = href(ticket.ticket_no)
    return to_tmf(ticket)


@router.get("", summary="List trouble tickets")
async def list_trouble_tickets(
    actor: Reader,
    session: SessionDep,
    response: Response,
    fields: Fields = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    tmf_status: Annotated[TmfStatus | None, Query(alias="status")] = None,
    ticket_status: Annotated[TicketStatus | None, Query(alias="ticketStatus", description="our status")] = None,
    priority: Priority | None = None,
    ticket_type: Annotated[
        Category | None, Query(alias="ticketType", description="any of the ticket's categories")
    ] = None,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
    handler: str | None = None,
    created_after: Annotated[datetime | None, Query(alias="creationDate.gt")] = None,
    created_from: Annotated[datetime | None, Query(alias="creationDate.gte")] = None,
    created_before: Annotated[datetime | None, Query(alias="creationDate.lt")] = None,
    created_until: Annotated[datetime | None, Query(alias="creationDate.lte")] = None,
) -> list[dict[str, Any]]:
    """Tickets newest first from the read model; X-Total-Count and X-Result-Count headers."""
    total, rows = await find_tickets(
        session,
        offset=offset,
        limit=limit,
        category=ticket_type,
        created_after=created_after,
        created_from=created_from,
        created_before=created_before,
        created_until=created_until,
        tmf_status=tmf_status,
        status=ticket_status,
        priority=priority,
        customer_id=customer_id,
        handler=handler,
    )
    response.headers["X-Total-Count"], response.headers["X-Result-Count"] = str(total), str(len(rows))
    return [project(to_tmf(ticket_of(row), last_update=row.updated_at), fields) for row in rows]


@router.get("/{id}", summary="One trouble ticket")
async def get_trouble_ticket(id: str, actor: Reader, session: SessionDep, fields: Fields = None) -> dict[str, Any]:
    """The ticket by number (404 when unknown)."""
    row = await load_row(session, id)
    return project(to_tmf(ticket_of(row), last_update=row.updated_at), fields)


@router.patch("/{id}", summary="Correct the intake, or change the status")
async def patch_trouble_ticket(
    id: str,
    body: TroubleTicketPatch,
    actor: Staff,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """Intake attributes become an amend act; `status` becomes cancel, close, resolve, pause, resume, accept or reopen."""
    row = await load_row(session, id)
    ticket = ticket_of(row)
    sent = body.model_fields_set - {"type_", "base_type", "schema_location"}
    status_sent = sent & set(STATUS_FIELDS)
    if not sent:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body: nothing to change")
    if status_sent and sent - status_sent:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "status: change the status in a PATCH of its own, without intake attributes"
        )
    if status_sent and "status" not in sent:
        named = ", ".join(tmf_name(f) for f in sorted(status_sent))
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{named}: only together with status")
    if status_sent:
        act = status_act(body, ticket)
    else:
        changes = intake_of(body, ticket.intake)
        check_intake(changes, utcnow(), tmf_name, amend=True)
        act = {"type": "amend_intake", "changes": changes}
    ticket = await perform(
        session=session,
        gateway=gateway,
        db=db,
        actor=actor,
        row=row,
        act=act,
        request_id=request_id,
        rename=lambda f: _ACT_NAMES.get(f, tmf_name(f)),
    )
    return to_tmf(ticket, last_update=row.updated_at)
