"""The outbox for admins: messages by status (dead letters first of all), one message with its delivery log, and
the journaled resend of a dead letter. Recipients are references (`customer:CS…`, `hub:7`), never addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel
from sqlmodel import col

from api.deps import Admin, SessionDep
from api.schemas import Offset, Page
from core.bounds import MAX_INT
from core.outbox import OVERDUE_AFTER, ChannelHealth
from core.records import AuditRecord
from db import audit as audit_journal
from db.models import OutboxAttempt, OutboxMessage, utcnow
from db.outbox import channel_counts, delivery_log, requeue
from db.readmodel import page_of

router = APIRouter(prefix="/api/outbox", tags=["outbox"])
MessageId = Annotated[int, Path(ge=1, le=MAX_INT, description="an outbox message id")]


class AttemptView(BaseModel):
    """One delivery attempt."""

    attempt: int
    started_at: datetime
    finished_at: datetime
    outcome: str
    response_code: int | None
    error: str | None


class MessageView(BaseModel):
    """An outbox message as admins see it (no text, no address)."""

    id: int
    event: str
    subject: str
    recipient: str
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptView] | None = None

    @classmethod
    def of(cls, row: OutboxMessage, log: list[OutboxAttempt] | None = None) -> MessageView:
        """The view of a row, with its delivery log when given."""
        fields = row.model_dump(exclude={"key", "payload", "source_key"})
        return cls(**fields, log=[AttemptView(**a.model_dump()) for a in log] if log is not None else None)


@router.get("", response_model=Page[MessageView], summary="Outbox messages (dead letters: status=dead)")
async def list_messages(
    admin: Admin,
    session: SessionDep,
    status_: Annotated[Literal["pending", "delivered", "dead"] | None, Query(alias="status")] = None,
    subject: Annotated[str | None, Query(max_length=120)] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[MessageView]:
    """Messages newest first, filtered by status and subject (a ticket number, an order id)."""
    conditions = []
    if status_ is not None:
        conditions.append(col(OutboxMessage.status) == status_)
    if subject is not None:
        conditions.append(col(OutboxMessage.subject) == subject)
    total, rows = await page_of(
        session, OutboxMessage, conditions, col(OutboxMessage.id).desc(), offset=offset, limit=limit
    )
    return Page(items=[MessageView.of(r) for r in rows], total=total, offset=offset, limit=limit)


@router.get("/summary", summary="Each channel's messages by status and state (ok, stuck, failing)")
async def summary(admin: Admin, session: SessionDep) -> dict[str, ChannelHealth]:
    """Per channel: pending, delivered, dead, overdue (pending, due more than 5 minutes ago), its latest attempt,
    and its state: stuck when messages are overdue, failing when the latest attempt failed."""
    return await channel_counts(session, utcnow() - OVERDUE_AFTER)


@router.get("/{message_id}", response_model=MessageView, summary="One outbox message with its delivery log")
async def get_message(message_id: MessageId, admin: Admin, session: SessionDep) -> MessageView:
    """The message and every attempt to deliver it."""
    row = await session.get(OutboxMessage, message_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no outbox message {message_id}")
    return MessageView.of(row, await delivery_log(session, message_id))


@router.post("/{message_id}/resend", response_model=MessageView, summary="Resend a dead letter")
async def resend(message_id: MessageId, admin: Admin, session: SessionDep) -> MessageView:
    """Give a dead letter a fresh retry budget, due now; journaled. 409 unless the message is dead."""
    row = await requeue(session, message_id)
    if row is None:
        exists = await session.get(OutboxMessage, message_id) is not None
        code = status.HTTP_409_CONFLICT if exists else status.HTTP_404_NOT_FOUND
        raise HTTPException(code, "only a dead letter can be resent" if exists else f"no outbox message {message_id}")
    await audit_journal.append(
        session,
        AuditRecord.by(
            admin,
            "outbox.resend",
            "outbox_message",
            str(message_id),
            at=utcnow(),
            request_id=f"outbox.resend:{message_id}:{utcnow().isoformat()}",
            details={"event": row.event, "subject": row.subject, "recipient": row.recipient},
        ),
    )
    await session.commit()
    return MessageView.of(row, await delivery_log(session, message_id))
