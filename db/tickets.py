"""Ticket numbers and the ticket read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.numbers import number_day
from core.tickets import TMF_STATUS, Ticket
from db.models import TicketRow, utcnow
from db.readmodel import upsert_newer


async def allocate_ticket_no(session: AsyncSession, at: datetime) -> str:
    """Next ticket number CS + the center's YYYYMMDD + a 4-digit daily serial; one atomic upsert, never shared."""
    day = number_day(at)
    serial = await session.scalar(
        text(
            "INSERT INTO ticket_serial (day, last) VALUES (:day, 1) "
            "ON CONFLICT (day) DO UPDATE SET last = ticket_serial.last + 1 RETURNING last"
        ),
        {"day": day},
    )
    return f"CS{day:%Y%m%d}{serial:04d}"


def workflow_id_for(ticket_no: str) -> str:
    """The ticket's workflow id derives from its number (never from customer data)."""
    return f"ticket-{ticket_no}"


def ticket_row_values(ticket: Ticket) -> dict[str, Any]:
    """Read-model columns for a ticket state."""
    intake = ticket.intake
    cycle = ticket.cycles[-1] if ticket.cycles else None
    return dict(
        ticket_no=ticket.ticket_no,
        workflow_id=ticket.workflow_id,
        status=ticket.status.value,
        tmf_status=TMF_STATUS[ticket.status],
        priority=intake.priority.value if intake.priority else None,
        categories=[c.value for c in intake.categories],
        customer_id=intake.customer_id,
        customer_name=intake.customer_name,
        industry=intake.industry,
        contact=intake.contact,
        channel=intake.channel.value if intake.channel else None,
        complaint_type=intake.complaint_type.value if intake.complaint_type else None,
        description=intake.description,
        handler=ticket.handler,
        candidate_department=ticket.candidates_department,
        candidate_role=ticket.candidates_role.value if ticket.candidates_role else None,
        lead_department=ticket.lead_department,
        tier=ticket.tier,
        green_channel=ticket.green_channel,
        created_by=ticket.created_by,
        created_at=ticket.created_at,
        occurred_at=intake.occurred_at,
        response_due=cycle.response_due if cycle else None,
        resolution_due=ticket.resolution_deadline,
        resolved_at=cycle.resolved_at if cycle else None,
        closed_at=ticket.closed_at,
        rating=ticket.rating.value if ticket.rating else None,
        revision=ticket.revision,
        detail=ticket.model_dump(mode="json"),
        updated_at=utcnow(),
    )


async def upsert_ticket(session: AsyncSession, ticket: Ticket) -> None:
    """Write the ticket's state unless a newer revision is already stored (the caller commits)."""
    await upsert_newer(session, TicketRow, "ticket_no", ticket_row_values(ticket))
