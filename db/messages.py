"""Message threads: the read model, what a message attaches to (customer, ticket), and the replies to the customer
(each a `customer_message` row sent through the outbox to the thread's sender)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.messages import Thread
from db.models import MessageThreadRow, TicketRow, utcnow
from db.readmodel import upsert_newer


async def upsert_thread(session: AsyncSession, thread: Thread) -> None:
    """Write the thread's state unless a newer revision is already stored (the caller commits)."""
    request = thread.request
    await upsert_newer(
        session,
        MessageThreadRow,
        "thread_id",
        dict(
            thread_id=thread.thread_id,
            workflow_id=thread.workflow_id,
            channel=request.channel.value,
            urgency=request.urgency.value,
            status=thread.status.value,
            customer_id=request.customer_id,
            customer_name=request.customer_name,
            ticket_no=request.ticket_no,
            contact=request.contact,
            subject=request.subject,
            message_id=request.message_id,
            received_at=request.received_at,
            acknowledge_due=thread.acknowledge_due,
            answer_due=thread.answer_due,
            acknowledged_at=thread.acknowledged_at,
            answered_at=thread.answered_at,
            complex=thread.complex,
            created_by=request.created_by.username,
            revision=thread.revision,
            detail=thread.model_dump(mode="json"),
            updated_at=utcnow(),
        ),
    )


async def customer_by_contact(session: AsyncSession, contact: str) -> tuple[str | None, str | None]:
    """(customer id, name) of the newest ticket whose contact is this address (case-insensitive), else (None, None)."""
    row = (
        await session.execute(
            select(col(TicketRow.customer_id), col(TicketRow.customer_name))
            .where(
                func.lower(col(TicketRow.contact)) == contact.strip().lower(), col(TicketRow.customer_id).is_not(None)
            )
            .order_by(col(TicketRow.created_at).desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row else (None, None)


async def customers_ticket(
    session: AsyncSession, numbers: list[str], *, contact: str, customer_id: str | None
) -> TicketRow | None:
    """The first quoted ticket that is this customer's own: the same contact, or the same customer id. A number of
    someone else's ticket attaches nothing (their ticket stays confidential)."""
    for number in numbers:
        ticket = await session.get(TicketRow, number)
        if ticket is None:
            continue
        same_contact = (ticket.contact or "").strip().lower() == contact.strip().lower()
        if same_contact or (customer_id is not None and ticket.customer_id == customer_id):
            return ticket
    return None


async def thread_of_message(session: AsyncSession, message_id: str) -> MessageThreadRow | None:
    """The thread an e-mail with this Message-ID opened, if it was received before."""
    return await session.scalar(select(MessageThreadRow).where(col(MessageThreadRow.message_id) == message_id))
