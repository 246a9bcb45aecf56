"""Messages to a ticket's customer that the read-model write queues itself: the ticket number at registration.

(The resolution message with the survey link is queued by the survey activity, activities/tickets.py.) Each is a
`customer_message` row, sent through the outbox by the channel the customer's contact allows.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.tickets import Ticket, TicketStatus
from db.models import CustomerMessage
from db.outbox import enqueue_customer_message

REGISTRATION_TEXT = (
    "【客响中心】您的工单已受理，工单号 {ticket_no}。查询进度时请提供此工单号。\n"
    "Your request is registered as ticket {ticket_no}; quote this number whenever you ask about it."
)
_NOT_YET = (TicketStatus.INTAKE_INCOMPLETE, TicketStatus.CANCELLED)


async def queue_registration_message(session: AsyncSession, ticket: Ticket) -> None:
    """Once the intake is complete, tell the customer the ticket number (once per ticket; the caller commits)."""
    if ticket.status in _NOT_YET:
        return
    key = f"{ticket.workflow_id}:registration"
    channel = ticket.intake.preferred_channel or ticket.intake.channel
    queued = await session.scalar(
        insert(CustomerMessage)
        .values(
            key=key,
            ticket_no=ticket.ticket_no,
            channel=channel.value if channel else "phone",
            kind="registration",
            body=REGISTRATION_TEXT.format(ticket_no=ticket.ticket_no),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(CustomerMessage.key))
    )
    if queued is not None:
        await enqueue_customer_message(session, key=key)
