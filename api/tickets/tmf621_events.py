"""TMF621 events for the troubleTicket hub: which events a new ticket state makes, and their body.

Called by the ticket read-model write (activities/tickets.py) before the row is overwritten, in its transaction:
the stored row is the state before. Create on the workflow's first state; StatusChange when the TMF status moves, with
Resolved (to resolved) or InformationRequired (to pending: waiting for the customer) beside it; otherwise
AttributeValueChange. Tickets are never deleted (a cancelled ticket is a status change), so no DeleteEvent.
The body is the TMF621 resource as `GET` shows it (contact details in free text masked) without the customer's
name and contact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.tickets.tmf621 import to_tmf
from core.tickets import TMF_STATUS, Ticket
from db.hubs import active_hubs, publish
from db.models import TicketRow, utcnow

API = "troubleTicket"
_WITHHELD = ("customerName", "contact")


def ticket_event_types(before_tmf_status: str | None, ticket: Ticket) -> list[str]:
    """The TMF621 event types of the change from a stored TMF status (None: no row yet) to `ticket`."""
    if before_tmf_status is None:
        return ["TroubleTicketCreateEvent"]
    status = TMF_STATUS[ticket.status]
    if status == before_tmf_status:
        return ["TroubleTicketAttributeValueChangeEvent"]
    extra = {"resolved": ["TroubleTicketResolvedEvent"], "pending": ["TroubleTicketInformationRequiredEvent"]}
    return ["TroubleTicketStatusChangeEvent", *extra.get(status, [])]


def event_resource(ticket: Ticket) -> dict[str, Any]:
    """The ticket as listeners see it."""
    return {k: v for k, v in to_tmf(ticket).items() if k not in _WITHHELD}


async def publish_ticket_change(session: AsyncSession, ticket: Ticket) -> None:
    """Queue the events of this ticket state for the listeners (none when the stored revision is as new)."""
    if not await active_hubs(session, API):
        return
    before = (
        await session.execute(
            select(col(TicketRow.revision), col(TicketRow.tmf_status))
            .where(col(TicketRow.ticket_no) == ticket.ticket_no)
            .with_for_update()
        )
    ).first()
    if before is not None and before.revision >= ticket.revision:
        return
    # The API's own row of a new ticket (revision 0, written with the workflow's start) was never announced.
    before_status = before.tmf_status if before is not None and before.revision > 0 else None
    resource = event_resource(ticket)
    for event_type in ticket_event_types(before_status, ticket):
        await publish(
            session,
            API,
            subject=ticket.ticket_no,
            event_id=f"{ticket.ticket_no}-r{ticket.revision}-{event_type}",
            event_type=event_type,
            at=utcnow(),
            resource=resource,
        )
