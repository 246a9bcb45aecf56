"""Customer message threads over REST: register an online message, list and read threads (contacts masked), act on one.

E-mails arrive through the inbound SMTP receiver (infra/mail_inbound.py), online messages here or through the
console form; both become the same `MessageThread` workflow (api/messages/service.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import col

from api.acts import IdempotencyKey, StaffActing, act_body, act_fields, body_union
from api.deps import GatewayDep, Reader, SessionDep, SettingsDep, require_roles
from api.errors import QuietValidationRoute
from api.messages.service import IncomingMessage, load_row, masked_view, perform, register_message, thread_of
from api.schemas import Offset, Page, TaskView
from api.tasks.routes import tasks_of
from core.contacts import masked_contact
from core.messages import MESSAGE_ROLES, STAFF_ACTS, ThreadStatus
from core.roles import Actor
from core.sla import MessageChannel, Urgency
from db.models import MessageThreadRow, utcnow
from db.readmodel import page_of

router = APIRouter(prefix="/api/messages", tags=["customer messages"], route_class=QuietValidationRoute)
Receiver = Annotated[Actor, Depends(require_roles(*MESSAGE_ROLES))]

BODIES = {act: act_body(act) for act in STAFF_ACTS}
if TYPE_CHECKING:  # the union is built at import time; to the type checker a body is a model
    ActBody = BaseModel
else:
    ActBody = body_union(BODIES)


class OnlineMessageBody(BaseModel):
    """An online message (在线留言) as the customer left it."""

    contact: str = Field(min_length=1, max_length=200, description="the customer's e-mail or mobile; shown masked")
    body: str = Field(min_length=1, max_length=20000)
    subject: str = Field(default="", max_length=500)
    urgency: Urgency = Urgency.GENERAL
    customer_id: str | None = Field(default=None, min_length=1, max_length=64)
    customer_name: str | None = Field(default=None, min_length=1, max_length=200)
    ticket_no: str | None = Field(default=None, min_length=1, max_length=20, description="attaches if theirs")


class ThreadDetail(BaseModel):
    """A thread (contacts masked) and its two deadline tasks."""

    thread: dict[str, Any]
    tasks: list[TaskView]


class ThreadSummary(BaseModel):
    """One line of the thread list."""

    thread_id: str
    channel: str
    urgency: str
    status: str
    customer_id: str | None
    customer_name: str | None
    ticket_no: str | None
    contact: str | None  # masked
    received_at: datetime
    acknowledge_due: datetime
    answer_due: datetime
    complex: bool


def summary(row: MessageThreadRow) -> ThreadSummary:
    """A list line of a thread, its contact masked."""
    return ThreadSummary(
        thread_id=row.thread_id,
        channel=row.channel,
        urgency=row.urgency,
        status=row.status,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        ticket_no=row.ticket_no,
        contact=masked_contact(row.contact),
        received_at=row.received_at,
        acknowledge_due=row.acknowledge_due,
        answer_due=row.answer_due,
        complex=row.complex,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ThreadDetail, summary="Register an online message")
async def register_online_message(
    body: OnlineMessageBody,
    actor: Receiver,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    request_id: IdempotencyKey = None,
) -> ThreadDetail:
    """Open the message's thread: attached to the customer (and to their ticket whose number it quotes), its
    acknowledgement and answer due by the message SLA."""
    incoming = IncomingMessage(channel=MessageChannel.ONLINE, received_at=utcnow(), **body.model_dump())
    thread = await register_message(
        session=session,
        gateway=gateway,
        actor=actor,
        incoming=incoming,
        request_id=request_id or str(uuid4()),
        settings=settings,
    )
    return ThreadDetail(thread=masked_view(thread), tasks=await tasks_of(session, thread.thread_id))


@router.get("", response_model=Page[ThreadSummary], summary="Message threads, newest first")
async def list_threads(
    actor: Reader,
    session: SessionDep,
    status_is: Annotated[ThreadStatus | None, Query(alias="status")] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    ticket_no: Annotated[str | None, Query(max_length=20)] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ThreadSummary]:
    """Threads by status, customer or ticket."""
    where = []
    if status_is is not None:
        where.append(col(MessageThreadRow.status) == status_is.value)
    if customer_id:
        where.append(col(MessageThreadRow.customer_id) == customer_id)
    if ticket_no:
        where.append(col(MessageThreadRow.ticket_no) == ticket_no)
    total, rows = await page_of(
        session, MessageThreadRow, where, col(MessageThreadRow.received_at).desc(), offset=offset, limit=limit
    )
    return Page(items=[summary(row) for row in rows], total=total, offset=offset, limit=limit)


@router.get("/{thread_id}", response_model=ThreadDetail, summary="A message thread with its deadlines")
async def get_thread(thread_id: str, actor: Reader, session: SessionDep) -> ThreadDetail:
    """The thread: messages in and out, deadlines, status; the sender's contact masked."""
    row = await load_row(session, thread_id)
    return ThreadDetail(thread=masked_view(thread_of(row)), tasks=await tasks_of(session, thread_id))


@router.post(
    "/{thread_id}/acts",
    response_model=ThreadDetail,
    summary="Act on a thread: acknowledge, answer, mark_complex, takes_longer",
)
async def act_on_thread(thread_id: str, body: Annotated[ActBody, Body()], acting: StaffActing) -> ThreadDetail:
    """Deliver the act to the thread's workflow; a refusal (403/404/409/422) changes nothing and is journaled."""
    if not isinstance(body, tuple(BODIES.values())):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "type: not a message act")
    row = await load_row(acting.session, thread_id)
    thread = await perform(acting, row, act_fields(body))
    return ThreadDetail(thread=masked_view(thread), tasks=await tasks_of(acting.session, thread_id))
