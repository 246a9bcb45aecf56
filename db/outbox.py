"""Outbox queries: the one enqueue every feature calls inside its own transaction, the dispatcher's due lanes,
recording an attempt, and the admins' dead letters and resend."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.contacts import mask_contacts
from core.outbox import NOTIFY_CHANNEL, DueMessages, OutboxChannel, OutboxStatus, customer_channel, outbox_key
from core.records import NotificationRecord
from db.models import CustomerMessage, MessageThreadRow, OutboxAttempt, OutboxMessage, TicketRow, User, utcnow

# The subject line of each kind of customer message (zh-CN first); the text is the customer_message body.
CUSTOMER_SUBJECTS = {
    "registration": "您的工单 {ticket_no} 已受理 / Your ticket {ticket_no} is registered",
    "resolution": "您的工单 {ticket_no} 已处理 / Your ticket {ticket_no} is resolved",
    "incident_holding": "您的工单 {ticket_no} 正在紧急处理 / Your ticket {ticket_no} is being handled urgently",
}
# A reply on a message thread quotes the thread number, so the customer's answer to it joins the thread.
THREAD_SUBJECT = "[{thread_id}] 您的留言 / Your message"


async def enqueue(
    session: AsyncSession,
    *,
    event: str,
    subject: str,
    recipient: str,
    channel: OutboxChannel,
    payload: dict[str, Any] | None = None,
    source_key: str | None = None,
) -> bool:
    """Queue a message in the caller's transaction (the caller commits); True when new, False when already queued.

    `recipient` is a reference the channel resolves at delivery (`customer:CS…`, `hub:7`), never an address. The
    NOTIFY reaches the dispatcher's waker only when the transaction commits.
    """
    queued = await session.scalar(
        insert(OutboxMessage)
        .values(
            key=outbox_key(event, subject, recipient),
            event=event,
            subject=subject,
            recipient=recipient,
            channel=channel.value,
            payload=payload or {},
            source_key=source_key,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(OutboxMessage.id))
    )
    if queued is not None:
        await wake_dispatcher(session)
    return queued is not None


async def enqueue_customer_message(session: AsyncSession, *, key: str) -> bool:
    """Queue the stored customer message `key` to its ticket's customer, by e-mail or SMS as their contact allows
    (nothing for a landline: the agent calls). In the caller's transaction; True when newly queued."""
    stored = await session.get(CustomerMessage, key)
    if stored is None:
        return False
    if stored.thread_id is not None:  # a reply on a message thread goes to whoever wrote it
        return await _enqueue_thread_reply(session, stored, stored.thread_id)
    if stored.ticket_no is None:
        return False
    contact = await session.scalar(select(col(TicketRow.contact)).where(col(TicketRow.ticket_no) == stored.ticket_no))
    channel = customer_channel(contact)
    if channel is None:
        return False
    subject = CUSTOMER_SUBJECTS.get(stored.kind, "{ticket_no}").format(ticket_no=stored.ticket_no)
    return await enqueue(
        session,
        event=f"customer_message:{key}",
        subject=stored.ticket_no,
        recipient=f"customer:{stored.ticket_no}",
        channel=channel,
        payload={"subject": subject},
        source_key=key,
    )


async def _enqueue_thread_reply(session: AsyncSession, stored: CustomerMessage, thread_id: str) -> bool:
    contact = await session.scalar(
        select(col(MessageThreadRow.contact)).where(col(MessageThreadRow.thread_id) == thread_id)
    )
    channel = customer_channel(contact)
    if channel is None:
        return False
    return await enqueue(
        session,
        event=f"customer_message:{stored.key}",
        subject=thread_id,
        recipient=f"thread:{thread_id}",
        channel=channel,
        payload={"subject": THREAD_SUBJECT.format(thread_id=thread_id)},
        source_key=stored.key,
    )


async def enqueue_notification(session: AsyncSession, notice: NotificationRecord) -> int:
    """Queue a staff notification (the console row is written beside it) to every active user it names (by name,
    role or department) by each channel in their `notify_by` they have an address for; contact details in the text
    masked. In the caller's transaction; how many messages were newly queued."""
    named = []
    if notice.recipient_user:
        named.append(col(User.username) == notice.recipient_user)
    if notice.recipient_role:
        named.append(col(User.roles).contains([notice.recipient_role]))
    if notice.recipient_department:
        named.append(col(User.department) == notice.recipient_department)
    if not named:
        return 0
    users = await session.scalars(
        select(User).where(or_(*named), col(User.active).is_(True), func.cardinality(col(User.notify_by)) > 0)
    )
    payload = {"subject": f"[kexiang] {notice.kind}", "text": mask_contacts(notice.message)}
    queued = 0
    for user in users:
        for channel in (OutboxChannel(c) for c in user.notify_by if c in ("email", "sms")):
            if (user.email if channel == OutboxChannel.EMAIL else user.mobile) is None:
                continue
            queued += await enqueue(
                session,
                event=f"notification:{notice.key}:{channel.value}",
                subject=notice.workflow_id or "staff",
                recipient=f"user:{user.username}",
                channel=channel,
                payload=payload,
            )
    return queued


async def wake_dispatcher(session: AsyncSession) -> None:
    """Tell the dispatcher's waker, at commit, that there is work (PostgreSQL NOTIFY is transactional)."""
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


_LANE_HEADS = text(
    """
    SELECT id, next_attempt_at FROM (
        SELECT DISTINCT ON (subject, recipient) id, next_attempt_at
        FROM outbox_message WHERE status = 'pending'
        ORDER BY subject, recipient, id
    ) heads ORDER BY id
    """
)


async def due_lane_heads(session: AsyncSession, now: datetime, limit: int) -> DueMessages:
    """The oldest pending message of every (subject, recipient) lane that is due at `now`, and the next due time."""
    heads = (await session.execute(_LANE_HEADS)).all()
    due = tuple(row.id for row in heads if row.next_attempt_at <= now)[:limit]
    later = [row.next_attempt_at for row in heads if row.next_attempt_at > now]
    return DueMessages(ids=due, next_due_at=min(later) if later else None)


async def record_attempt(
    session: AsyncSession,
    message: OutboxMessage,
    *,
    started_at: datetime,
    status: OutboxStatus,
    next_attempt_at: datetime | None,
    response_code: int | None,
    error: str | None,
) -> None:
    """Write one attempt's outcome to the message and its delivery log (the caller commits)."""
    assert message.id is not None
    logged = await session.scalar(
        select(func.count()).select_from(OutboxAttempt).where(col(OutboxAttempt.message_id) == message.id)
    )
    finished = utcnow()
    values: dict[str, Any] = {"attempts": message.attempts + 1, "status": status.value, "last_error": error}
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if status == OutboxStatus.DELIVERED:
        values["delivered_at"] = finished
    await session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(**values))
    outcome = "failed" if status == OutboxStatus.PENDING else status.value
    session.add(
        OutboxAttempt(
            message_id=message.id,
            attempt=(logged or 0) + 1,
            started_at=started_at,
            finished_at=finished,
            outcome=outcome,
            response_code=response_code,
            error=error,
        )
    )
    if status == OutboxStatus.DELIVERED and message.source_key:
        await session.execute(
            update(CustomerMessage)
            .where(col(CustomerMessage.key) == message.source_key, col(CustomerMessage.sent_at).is_(None))
            .values(sent_at=finished)
        )


async def delivery_log(session: AsyncSession, message_id: int) -> list[OutboxAttempt]:
    """A message's attempts, first first."""
    rows = await session.scalars(
        select(OutboxAttempt).where(col(OutboxAttempt.message_id) == message_id).order_by(col(OutboxAttempt.attempt))
    )
    return list(rows)


async def requeue(session: AsyncSession, message_id: int) -> OutboxMessage | None:
    """Give a dead letter a fresh retry budget, due now (the caller commits); None when it is not dead."""
    message = await session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None or message.status != OutboxStatus.DEAD.value:
        return None
    message.status, message.attempts, message.next_attempt_at = OutboxStatus.PENDING.value, 0, utcnow()
    await wake_dispatcher(session)
    return message


async def channel_counts(session: AsyncSession, overdue_before: datetime) -> dict[str, dict[str, int]]:
    """Per channel: messages in each status, and `overdue` (pending and due before `overdue_before`): a channel
    with overdue or dead messages is stuck or failing."""
    counts: dict[str, dict[str, int]] = {}
    by_status = await session.execute(
        select(col(OutboxMessage.channel), col(OutboxMessage.status), func.count()).group_by(
            col(OutboxMessage.channel), col(OutboxMessage.status)
        )
    )
    for channel, status, count in by_status.all():
        counts.setdefault(channel, {"pending": 0, "delivered": 0, "dead": 0, "overdue": 0})[status] = count
    overdue = await session.execute(
        select(col(OutboxMessage.channel), func.count())
        .where(
            col(OutboxMessage.status) == OutboxStatus.PENDING.value, col(OutboxMessage.next_attempt_at) < overdue_before
        )
        .group_by(col(OutboxMessage.channel))
    )
    for channel, count in overdue.all():
        counts[channel]["overdue"] = count
    return counts
