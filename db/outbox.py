"""Outbox queries: the one enqueue every feature calls inside its own transaction, the dispatcher's due lanes,
recording an attempt, and the admins' dead letters and resend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.contacts import mask_contacts
from core.numbers import CENTER_ZONE
from core.outbox import (
    NOTIFY_CHANNEL,
    ChannelHealth,
    DueMessages,
    OutboxChannel,
    OutboxStatus,
    outbox_key,
    quiet_hours_end,
)
from core.records import NotificationRecord
from db.models import CustomerMessage, OutboxAttempt, OutboxMessage, User, utcnow


async def enqueue(
    session: AsyncSession,
    *,
    event: str,
    subject: str,
    recipient: str,
    channel: OutboxChannel,
    payload: dict[str, Any] | None = None,
    source_key: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message in the caller's transaction (the caller commits); True when new, False when already queued.

    `recipient` is a reference the channel resolves at delivery (`customer:CS…`, `hub:7`), never an address. The
    NOTIFY reaches the dispatcher's waker only when the transaction commits. `not_before` holds it back (quiet
    hours) on the dispatcher's clock.
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
            next_attempt_at=max(not_before, utcnow()) if not_before else utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(OutboxMessage.id))
    )
    if queued is not None:
        await wake_dispatcher(session)
    return queued is not None


async def enqueue_notification(session: AsyncSession, notice: NotificationRecord, *, urgent: bool = False) -> int:
    """Queue a staff notification (the console row is written beside it) to every active user it names (by name,
    role or department) by each channel in their `notify_by` they have an address for; contact details in the text
    masked. A non-urgent one falling in a user's quiet hours waits until they end (in a lane of its own, so it
    holds back nothing urgent). In the caller's transaction; how many messages were newly queued."""
    return await enqueue_notifications(session, ((notice, urgent),))


def _names(notice: NotificationRecord, user: User) -> bool:
    """True when the notice is addressed to this user (by name, role or department)."""
    return (
        (notice.recipient_user is not None and notice.recipient_user == user.username)
        or (notice.recipient_role is not None and notice.recipient_role in user.roles)
        or (notice.recipient_department is not None and notice.recipient_department == user.department)
    )


async def enqueue_notifications(session: AsyncSession, notices: Sequence[tuple[NotificationRecord, bool]]) -> int:
    """`enqueue_notification` for several (notice, urgent) pairs with one look-up of the users they name."""
    named = []
    for notice, _ in notices:
        if notice.recipient_user:
            named.append(col(User.username) == notice.recipient_user)
        if notice.recipient_role:
            named.append(col(User.roles).contains([notice.recipient_role]))
        if notice.recipient_department:
            named.append(col(User.department) == notice.recipient_department)
    if not named:
        return 0
    users = list(
        await session.scalars(
            select(User)
            .where(or_(*named), col(User.active).is_(True), func.cardinality(col(User.notify_by)) > 0)
            .order_by(col(User.username))
        )
    )
    queued = 0
    for notice, urgent in notices:
        payload = {"subject": f"[kexiang] {notice.kind}", "text": mask_contacts(notice.message), "urgent": urgent}
        for user in (user for user in users if _names(notice, user)):
            held = (
                None if urgent else quiet_hours_end(notice.created_at, user.quiet_from, user.quiet_until, CENTER_ZONE)
            )
            subject = notice.workflow_id or "staff"
            for channel in (OutboxChannel(c) for c in user.notify_by if c in ("email", "sms")):
                if (user.email if channel == OutboxChannel.EMAIL else user.mobile) is None:
                    continue
                queued += await enqueue(
                    session,
                    event=f"notification:{notice.key}:{channel.value}",
                    subject=f"{subject}~quiet" if held else subject,
                    recipient=f"user:{user.username}",
                    channel=channel,
                    payload=payload,
                    not_before=held,
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


async def channel_counts(session: AsyncSession, overdue_before: datetime) -> dict[str, ChannelHealth]:
    """Per channel: messages in each status, `overdue` (pending and due before `overdue_before`) and its latest
    attempt: a channel with overdue messages is stuck, one whose latest attempt failed is failing."""
    counts: dict[str, ChannelHealth] = {}
    by_status = await session.execute(
        select(col(OutboxMessage.channel), col(OutboxMessage.status), func.count()).group_by(
            col(OutboxMessage.channel), col(OutboxMessage.status)
        )
    )
    for channel, status, count in by_status.all():
        setattr(counts.setdefault(channel, ChannelHealth()), status, count)
    overdue = await session.execute(
        select(col(OutboxMessage.channel), func.count())
        .where(
            col(OutboxMessage.status) == OutboxStatus.PENDING.value, col(OutboxMessage.next_attempt_at) < overdue_before
        )
        .group_by(col(OutboxMessage.channel))
    )
    for channel, count in overdue.all():
        counts[channel].overdue = count
    latest = await session.execute(_LATEST_ATTEMPTS)
    for row in latest.all():
        if row.channel in counts:
            health = counts[row.channel]
            health.last_attempt_at, health.last_outcome, health.last_error = row.finished_at, row.outcome, row.error
    return counts


async def overdue_count(session: AsyncSession, overdue_before: datetime) -> int:
    """Pending messages due before `overdue_before`, every channel (the due index answers it)."""
    count = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OutboxStatus.PENDING.value, col(OutboxMessage.next_attempt_at) < overdue_before
        )
    )
    return count or 0


_LATEST_ATTEMPTS = text(
    """
    SELECT DISTINCT ON (m.channel) m.channel, a.finished_at, a.outcome, a.error
    FROM outbox_attempt a JOIN outbox_message m ON m.id = a.message_id
    ORDER BY m.channel, a.finished_at DESC, a.id DESC
    """
)
