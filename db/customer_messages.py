"""Messages to customers, rendered from the admins' templates (core/message_templates.py) and queued in the
transaction of the change that causes them: the ticket number at registration, the second follow-up contact (the
read-model write), the resolution with the survey link (the survey activity), cut-over notices (the order write),
the holding message of a ticket caught up in a major fault (the incident write) and replies on a message thread.

Each is one `customer_message` row (its text, the only place a survey link is kept in clear), sent through the
outbox by the channel the customer prefers and their contact allows. When the customer is to be called (phone
preferred, or a landline), the message becomes a call task: a notification to the agent who owns the ticket
(or the group-customer department for an order), with the text to read out and never the survey link.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.contacts import mask_contacts
from core.message_templates import MESSAGE_TEMPLATES_NAME, MessageTemplates, render, render_call
from core.messages import Thread
from core.outbox import customer_channel
from core.records import NotificationRecord
from core.roles import GROUP_CUSTOMER, Role
from core.tickets import Channel, Ticket, TicketStatus
from db.models import (
    CustomerMessage,
    MessageTemplatesVersion,
    MessageThreadRow,
    Notification,
    ResourceCheckRow,
    TicketRow,
    utcnow,
)
from db.outbox import enqueue, enqueue_notification
from db.policies import latest_parsed

_NOT_YET = (TicketStatus.INTAKE_INCOMPLETE, TicketStatus.CANCELLED)
# A customer who wants to hear by phone is also called with these (the written message still carries the link).
CALLED_KINDS = frozenset({"resolution"})


async def latest_message_templates(session: AsyncSession) -> MessageTemplates:
    """The newest published templates document; the built-in templates when none was published."""
    stored = await latest_parsed(
        session, MessageTemplatesVersion, MESSAGE_TEMPLATES_NAME, MessageTemplates.model_validate
    )
    return stored or MessageTemplates(name=MESSAGE_TEMPLATES_NAME)


async def queue_customer_message(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    subject: str,
    recipient: str,
    fields: Mapping[str, str],
    preferred: Channel | None,
    caller: NotificationRecord,
    template_kind: str | None = None,
    ticket_no: str | None = None,
) -> bool:
    """Render the template of `template_kind` (default `kind`) for the customer `recipient` names (`customer:<ticket
    no>`, `check:<check id>` or `thread:<thread id>`) and queue it once (the caller commits): by e-mail or SMS as
    their contact allows, and as the call task `caller` (its message the text to read) when no written channel
    reaches them or they want a call. The stored message is filed under `ticket_no` (default `subject`). True when
    newly queued."""
    if await session.scalar(select(col(CustomerMessage.key)).where(col(CustomerMessage.key) == key)) is not None:
        return False  # the usual case on a later write of the same ticket: nothing to render
    templates = await latest_message_templates(session)
    template = templates.template(template_kind or kind)
    route = customer_channel(await recipient_contact(session, recipient))
    addressed, _, ref = recipient.partition(":")
    queued = await session.scalar(
        insert(CustomerMessage)
        .values(
            key=key,
            ticket_no=ticket_no or (None if addressed == "thread" else subject),
            thread_id=ref if addressed == "thread" else None,
            channel=route.value if route else "phone",
            kind=kind,
            body=render(template.text, fields),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(CustomerMessage.key))
    )
    if queued is None:
        return False
    if route is None or (preferred == Channel.PHONE and kind in CALLED_KINDS):
        call = caller.model_copy(update={"message": mask_contacts(render_call(template, fields))[:1000]})
        await session.execute(
            insert(Notification).values(**call.model_dump()).on_conflict_do_nothing(index_elements=["key"])
        )
        await enqueue_notification(session, call, urgent=True)  # the customer is waiting
    if route is None:
        return True
    await enqueue(
        session,
        event=f"customer_message:{key}",
        subject=subject,
        recipient=recipient,
        channel=route,
        payload={"subject": render(template.subject, fields), "kind": kind, "templates_version": templates.version},
        source_key=key,
    )
    return True


async def recipient_contact(session: AsyncSession, recipient: str) -> str | None:
    """The contact a customer reference names: a ticket's (`customer:<ticket no>`), a resource check's
    (`check:<check id>`) or a message thread sender's (`thread:<thread id>`); None for anything else."""
    kind, _, ref = recipient.partition(":")
    if kind == "customer":
        return await session.scalar(select(col(TicketRow.contact)).where(col(TicketRow.ticket_no) == ref))
    if kind == "check":
        return await session.scalar(select(col(ResourceCheckRow.contact)).where(col(ResourceCheckRow.check_id) == ref))
    if kind == "thread":
        return await session.scalar(select(col(MessageThreadRow.contact)).where(col(MessageThreadRow.thread_id) == ref))
    return None


def _call_task(ticket: Ticket, key: str) -> NotificationRecord:
    """The agent's task to call the customer with a message (the ticket's first responder owns the contact)."""
    return NotificationRecord(
        key=f"{key}:call",
        kind="customer_call",
        message="",
        recipient_user=ticket.first_responder,
        workflow_id=ticket.workflow_id,
        created_at=utcnow(),
    )


async def queue_ticket_messages(session: AsyncSession, ticket: Ticket) -> None:
    """The messages a ticket's new state asks for, once each (the caller commits): the ticket number once the
    intake is complete, and the second follow-up contact once a rating asks for one."""
    if ticket.status in _NOT_YET:
        return
    preferred = ticket.intake.preferred_channel or ticket.intake.channel
    recipient = f"customer:{ticket.ticket_no}"
    key = f"{ticket.workflow_id}:registration"
    await queue_customer_message(
        session,
        key=key,
        kind="registration",
        subject=ticket.ticket_no,
        recipient=recipient,
        fields={"ticket_no": ticket.ticket_no},
        preferred=preferred,
        caller=_call_task(ticket, key),
    )
    if ticket.second_followup_required:
        key = f"{ticket.workflow_id}:second_followup:{ticket.cycle.number}"
        await queue_customer_message(
            session,
            key=key,
            kind="second_followup",
            subject=ticket.ticket_no,
            recipient=recipient,
            fields={"ticket_no": ticket.ticket_no, "rating": ticket.rating.value if ticket.rating else ""},
            preferred=preferred,
            caller=_call_task(ticket, key),
        )


async def queue_resolution_message(
    session: AsyncSession, *, ticket_no: str, workflow_id: str, key: str, preferred: Channel, fields: Mapping[str, str]
) -> bool:
    """The resolution with cause, solution, advice and the survey link (in `fields`), by `preferred`; a call task
    goes to the ticket's handler (any agent when the ticket is not in the read model)."""
    ticket = await session.get(TicketRow, ticket_no)
    handler = (ticket.handler or ticket.created_by) if ticket is not None else None
    return await queue_customer_message(
        session,
        key=key,
        kind="resolution",
        subject=ticket_no,
        recipient=f"customer:{ticket_no}",
        fields=fields,
        preferred=preferred,
        caller=NotificationRecord(
            key=f"{key}:call",
            kind="customer_call",
            message="",
            recipient_user=handler,
            recipient_role=None if handler else Role.AGENT.value,
            workflow_id=workflow_id,
            created_at=utcnow(),
        ),
    )


async def queue_cutover_notice(
    session: AsyncSession, notice: NotificationRecord, *, check_id: str | None, fields: Mapping[str, str]
) -> bool:
    """The customer's cut-over notice: to the contact of the order's resource check by its channel; without a
    contact, a call task for the group-customer department (the notice's recipients)."""
    caller = notice.model_copy(update={"key": f"{notice.key}:call", "kind": "customer_call"})
    if caller.recipient_department is None and caller.recipient_user is None:
        caller = caller.model_copy(update={"recipient_department": GROUP_CUSTOMER})
    return await queue_customer_message(
        session,
        key=notice.key,
        kind="cutover",
        subject=fields["order_id"],
        recipient=f"check:{check_id}" if check_id else "check:",
        fields=fields,
        preferred=None,
        caller=caller,
    )


async def queue_holding_message(session: AsyncSession, ticket: Ticket, key: str) -> bool:
    """Tell the customer of a ticket caught up in a major fault that it is being handled as an emergency."""
    return await queue_customer_message(
        session,
        key=key,
        kind="incident_holding",
        subject=ticket.ticket_no,
        recipient=f"customer:{ticket.ticket_no}",
        fields={"ticket_no": ticket.ticket_no},
        preferred=ticket.intake.preferred_channel or ticket.intake.channel,
        caller=_call_task(ticket, key),
    )


async def queue_thread_reply(session: AsyncSession, thread: Thread, index: int) -> bool:
    """Send entry `index` of a message thread to whoever wrote it, once; its subject quotes the thread number so
    their answer joins the thread. A sender who can only be phoned becomes a call task for the agents."""
    entry = thread.entries[index]
    key = f"{thread.workflow_id}:entry{index}"
    return await queue_customer_message(
        session,
        key=key,
        kind=entry.kind,
        template_kind="thread_reply",
        subject=thread.thread_id,
        recipient=f"thread:{thread.thread_id}",
        fields={"thread_id": thread.thread_id, "text": entry.text},
        preferred=None,
        caller=NotificationRecord(
            key=f"{key}:call",
            kind="customer_call",
            message="",
            recipient_role=Role.AGENT.value,
            workflow_id=thread.workflow_id,
            created_at=utcnow(),
        ),
        ticket_no=thread.request.ticket_no,
    )
