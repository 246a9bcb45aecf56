"""Message threads: register one (an online message from the API or the console, an e-mail from the inbound SMTP
receiver), attach it to its customer and their ticket, show it masked, and act on it.

One function registers every channel's messages, so the attachment rules, the deadlines shown before the workflow
first writes, the journal row and the Idempotency-Key (an e-mail's Message-ID) are the same for all.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Acting, Subject, registered_subject, start_journaled
from api.errors import field_errors
from api.gateway import TemporalGateway
from api.subjects import SubjectKind
from core.calendar import BusinessCalendar
from core.contacts import mask_contacts, masked_contact
from core.messages import (
    INTAKE_ACTOR,
    WORKFLOW_TYPE,
    Entry,
    FollowUp,
    MessageAct,
    Thread,
    ThreadInput,
    ThreadOutcome,
    ThreadStatus,
    deadlines,
    thread_number_in,
    ticket_numbers_in,
    workflow_id_for,
)
from core.numbers import random_number
from core.roles import Actor
from core.sla import MessageChannel, SlaPolicy, Urgency
from db.messages import customer_by_contact, customers_ticket, upsert_thread
from db.models import MessageThreadRow, utcnow
from db.policies import latest_calendar, latest_policy
from infra.settings import Settings
from workflows.common import BUSINESS_REF, ORDER_KIND, SLA_DUE_AT

CREATE_ACTION = "message.create"
INTAKE = Actor(username=INTAKE_ACTOR)  # who registers the e-mails the inbound receiver takes

THREADS: SubjectKind[MessageThreadRow, Thread] = SubjectKind(
    noun="message",
    subject_type="message_thread",
    action_prefix="message",
    table=MessageThreadRow,
    key=lambda row: row.thread_id,
    state=Thread,
    acts=TypeAdapter(MessageAct),
    result_type=ThreadOutcome,
    closed=lambda row: f"message {row.thread_id} is already answered" if row.status == "answered" else None,
)
load_row, thread_of, perform = THREADS.load_row, THREADS.state_of, THREADS.perform


class IncomingMessage(BaseModel):
    """A message as a channel took it, before it is attached and registered."""

    channel: MessageChannel
    urgency: Urgency = Urgency.GENERAL
    contact: str
    subject: str = ""
    body: str
    received_at: datetime
    customer_id: str | None = None
    customer_name: str | None = None
    ticket_no: str | None = None  # a number the form named besides those in the text
    message_id: str | None = None


def masked_view(thread: Thread) -> dict[str, Any]:
    """The thread as every view shows it: the sender's address masked, contact details in texts masked."""
    data = thread.model_dump(mode="json")
    request = data["request"]
    request["contact"] = masked_contact(thread.request.contact)
    request["subject"] = mask_contacts(thread.request.subject)
    request["body"] = mask_contacts(thread.request.body)
    request.pop("message_id", None)
    for entry in data["entries"]:
        entry["text"] = mask_contacts(entry["text"])
    return data


def email_request_id(message_id: str) -> str:
    """The Idempotency-Key of an e-mail: its Message-ID (hashed: ids are long and name the sender's host)."""
    return "mail:" + hashlib.sha256(message_id.strip().encode()).hexdigest()[:48]


async def _policy(session: AsyncSession, settings: Settings) -> tuple[SlaPolicy, BusinessCalendar]:
    """The SLA policy and calendar a new workflow will pin (the latest versions of the defaults)."""
    policy = await latest_policy(session, settings.default_sla_policy)
    calendar = await latest_calendar(session, settings.default_calendar)
    if policy is None or calendar is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the SLA policy or calendar is not published yet")
    return policy, calendar


async def register_message(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    actor: Actor,
    incoming: IncomingMessage,
    request_id: str,
    settings: Settings,
) -> Thread:
    """Attach the message to its customer (the form's, else the customer whose ticket has this contact) and to the
    customer's own ticket whose number it quotes, write the thread's first row, start its workflow, journal it.
    A repeated request id (an e-mail received twice) returns the thread it registered."""
    if (earlier := await registered_subject(session, request_id, CREATE_ACTION)) is not None:
        return thread_of(await load_row(session, earlier))
    customer_id, customer_name = incoming.customer_id, incoming.customer_name
    numbers = ticket_numbers_in(incoming.ticket_no, incoming.subject, incoming.body)
    ticket = await customers_ticket(session, numbers, contact=incoming.contact, customer_id=customer_id)
    if customer_id is None and ticket is not None:
        customer_id, customer_name = ticket.customer_id, ticket.customer_name
    if customer_id is None and customer_name is None:  # nobody named: whose tickets give this contact
        customer_id, customer_name = await customer_by_contact(session, incoming.contact)
    thread_id = random_number("MS", utcnow())
    try:
        start = ThreadInput(
            thread_id=thread_id,
            channel=incoming.channel,
            urgency=incoming.urgency,
            received_at=incoming.received_at,
            contact=incoming.contact,
            customer_id=customer_id,
            customer_name=customer_name,
            ticket_no=ticket.ticket_no if ticket is not None else None,
            subject=incoming.subject,
            body=incoming.body,
            message_id=incoming.message_id,
            created_by=actor,
            request_id=request_id,
        )
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, field_errors(err.errors(), str)) from None
    policy, calendar = await _policy(session, settings)
    working_day, acknowledge_due, answer_due = deadlines(policy.messages, calendar, start)
    thread = Thread(
        thread_id=thread_id,
        workflow_id=workflow_id_for(thread_id),
        request=start,
        received_on_working_day=working_day,
        policy_name=policy.name,
        policy_version=policy.version,
        calendar_name=calendar.name,
        calendar_version=calendar.version,
        acknowledge_due=acknowledge_due,
        answer_due=answer_due,
        entries=[Entry(at=start.received_at, direction="in", kind="message", by="customer", text=start.body)],
    )
    known = await start_journaled(
        session=session,
        gateway=gateway,
        actor=actor,
        request_id=request_id,
        action=CREATE_ACTION,
        subject=Subject(type="message_thread", id=thread_id, workflow_id=thread.workflow_id),
        workflow=WORKFLOW_TYPE,
        arg=start,
        write_row=lambda: upsert_thread(session, thread),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(ORDER_KIND, "message"),
                SearchAttributePair(BUSINESS_REF, thread_id),
                SearchAttributePair(SLA_DUE_AT, answer_due),
            ]
        ),
    )
    if known is not None:
        return thread_of(await load_row(session, known))
    return thread


async def receive_email(acting: Acting, incoming: IncomingMessage, settings: Settings) -> str:
    """An e-mail the inbound receiver took: a reply quoting an open thread of the same sender joins it, any other
    opens a thread. Returns the thread number."""
    assert incoming.message_id is not None
    request_id = email_request_id(incoming.message_id)
    quoted = thread_number_in(incoming.subject)
    if quoted is not None:
        row = await acting.session.get(MessageThreadRow, quoted)
        same_sender = row is not None and row.contact.strip().lower() == incoming.contact.strip().lower()
        if row is not None and same_sender and row.status != ThreadStatus.ANSWERED.value:
            follow_up = {"type": FollowUp.model_fields["type"].default, "text": incoming.body}
            await perform(
                Acting(INTAKE, acting.session, acting.gateway, acting.db, request_id),
                row,
                follow_up | {"received_at": incoming.received_at},
            )
            return row.thread_id
    thread = await register_message(
        session=acting.session,
        gateway=acting.gateway,
        actor=INTAKE,
        incoming=incoming,
        request_id=request_id,
        settings=settings,
    )
    return thread.thread_id
