"""Outbox activities: which lane heads are due, and one delivery attempt of one message by its channel.

Only here is a recipient reference resolved to an address, and only the channel adapter is handed it; the
delivery log, the results and the logs hold reasons and response codes, never an address or a message text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.outbox import (
    OUTBOX_DELIVER,
    OUTBOX_DELIVER_ROUND,
    OUTBOX_DUE,
    ROUND_CONCURRENCY,
    DeliveryOutcome,
    DeliveryRequest,
    DueMessages,
    DueQuery,
    OutboxChannel,
    OutboxStatus,
    RoundOutcome,
    RoundRequest,
)
from db.customer_messages import recipient_contact
from db.models import (
    CustomerMessage,
    EventHub,
    OutboxMessage,
    User,
    utcnow,
)
from db.outbox import due_lane_heads, record_attempt
from db.session import Database
from infra.delivery import DeliveryFailed
from infra.mail import SmtpMailer
from infra.sms import HttpSmsGateway
from infra.webhooks import CallbackRefused, open_secret, post_event, screen_callback

log = logging.getLogger("kexiang.outbox")
HEARTBEAT_SECONDS = 2.0
_MALFORMED = (ValueError, TypeError, KeyError, UnicodeError)


class OutboxActivities:
    """Bound to the database, the channel adapters and the key ring that opens listeners' secrets."""

    def __init__(
        self,
        db: Database,
        *,
        mailer: SmtpMailer,
        sms: HttpSmsGateway,
        key_ring: Mapping[str, bytes],
        allow_private_callbacks: bool = False,
    ) -> None:
        self._db = db
        self._allow_private = allow_private_callbacks
        self._mailer = mailer
        self._sms = sms
        self._ring = key_ring

    @activity.defn(name=OUTBOX_DUE)
    async def due(self, query: DueQuery) -> DueMessages:
        """The head of every lane due at the workflow's `now`, and when the next waiting one falls due."""
        async with self._db.session() as session:
            return await due_lane_heads(session, query.now, query.limit)

    @activity.defn(name=OUTBOX_DELIVER)
    async def deliver(self, request: DeliveryRequest) -> DeliveryOutcome:
        """Try one message once; a message already delivered or dead is left alone (a retried activity sends at
        most once more, with the same message id, which receivers de-duplicate on)."""
        beating = asyncio.create_task(_heartbeat())  # a worker that dies mid-send is noticed in seconds
        try:
            return await self._attempt(request)
        finally:
            beating.cancel()

    @activity.defn(name=OUTBOX_DELIVER_ROUND)
    async def deliver_round(self, request: RoundRequest) -> RoundOutcome:
        """Try each of a round's messages once, side by side (at most ROUND_CONCURRENCY at a time), each committed
        on its own right after its send; one activity for the round instead of one per message.

        A message that cannot be attempted for good (it is gone) answers None and never stops the others. Any
        other error fails the round after every message had its try, so the round is retried: what was delivered
        or dead meanwhile is left alone, and what failed is not due again before its backoff ends."""
        slots = asyncio.Semaphore(ROUND_CONCURRENCY)

        async def attempt(message_id: int) -> DeliveryOutcome:
            async with slots:
                return await self._attempt(request.of(message_id))

        beating = asyncio.create_task(_heartbeat())
        try:
            results = await asyncio.gather(*(attempt(i) for i in request.message_ids), return_exceptions=True)
        finally:
            beating.cancel()
        outcomes: list[DeliveryOutcome | None] = []
        for message_id, result in zip(request.message_ids, results, strict=True):
            if isinstance(result, ApplicationError) and result.non_retryable:
                log.warning("outbox message %s could not be attempted: %s", message_id, result)
                outcomes.append(None)
            elif isinstance(result, BaseException):
                raise result
            else:
                outcomes.append(result)
        return RoundOutcome(outcomes=tuple(outcomes))

    async def _attempt(self, request: DeliveryRequest) -> DeliveryOutcome:
        """One attempt at one message, committed with its delivery-log row; a message delivered, dead or in its
        backoff at `request.now` (an earlier try of this very request) is left alone."""
        async with self._db.session() as session:
            message = await session.get(OutboxMessage, request.message_id, with_for_update=True)
            if message is None:
                raise ApplicationError("no such outbox message", type="OutboxMessageMissing", non_retryable=True)
            if message.status != OutboxStatus.PENDING.value:
                return DeliveryOutcome(message_id=request.message_id, status=OutboxStatus(message.status))
            if message.attempts and message.next_attempt_at > request.now:
                return DeliveryOutcome(
                    message_id=request.message_id, status=OutboxStatus.PENDING, next_attempt_at=message.next_attempt_at
                )
            started = utcnow()
            code: int | None = None
            error: str | None = None
            try:
                code = await self._send(session, message)
                status, next_at = OutboxStatus.DELIVERED, None
            except (DeliveryFailed, *_MALFORMED) as failed:
                if not isinstance(failed, DeliveryFailed):  # e.g. a line break in an address: no retry can help
                    failed = DeliveryFailed(f"malformed message: {type(failed).__name__}", permanent=True)
                code, error = failed.code, failed.reason
                next_at = (
                    None if failed.permanent else request.budget.next_attempt_at(message.attempts + 1, request.now)
                )
                status = OutboxStatus.PENDING if next_at is not None else OutboxStatus.DEAD
            attempts = message.attempts + 1
            await record_attempt(
                session,
                message,
                started_at=started,
                status=status,
                next_attempt_at=next_at,
                response_code=code,
                error=error,
            )
            await session.commit()
        if status == OutboxStatus.DEAD:
            log.warning("outbox message %s is dead after %d attempt(s): %s", request.message_id, attempts, error)
        return DeliveryOutcome(message_id=request.message_id, status=status, next_attempt_at=next_at)

    async def _send(self, session: AsyncSession, message: OutboxMessage) -> int | None:
        """Hand the message to its channel; returns the receiver's response code where there is one."""
        webhook_id = f"msg_{message.id}"  # the same on every attempt
        match OutboxChannel(message.channel):
            case OutboxChannel.WEBHOOK:
                hub = await _hub(session, message.recipient)
                try:
                    await screen_callback(hub.callback, allow_private=self._allow_private)
                except CallbackRefused as refused:
                    raise DeliveryFailed(str(refused), permanent=True) from None
                secret = open_secret(self._ring, hub.secret_sealed)
                return await post_event(hub.callback, secret, webhook_id, message.payload["event"])
            case OutboxChannel.EMAIL:
                to, text = await _address(session, message), await _text(session, message)
                subject = str(message.payload.get("subject") or f"kexiang {message.subject}")
                await self._mailer.send(to=to, subject=subject, body=text, message_id=webhook_id)
                return 250
            case OutboxChannel.SMS:
                to, text = await _address(session, message), await _text(session, message)
                await self._sms.send(to=to, text=text, message_id=webhook_id)
                return None


async def _heartbeat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _hub(session: AsyncSession, recipient: str) -> EventHub:
    """The listener a `hub:<id>` recipient names; an unregistered one will never take the message."""
    hub = await session.get(EventHub, int(recipient.removeprefix("hub:")))
    if hub is None or hub.deleted_at is not None:
        raise DeliveryFailed("listener unregistered", permanent=True)
    return hub


async def _address(session: AsyncSession, message: OutboxMessage) -> str:
    """The address a recipient reference names: a ticket's customer contact (`customer:<ticket no>`), a resource
    check's customer contact (`check:<check id>`), a message thread's sender (`thread:<thread id>`), or a user's
    e-mail address or mobile number for the message's channel (`user:<username>`)."""
    kind, _, ref = message.recipient.partition(":")
    address = await recipient_contact(session, message.recipient)
    if kind == "user":
        user = await session.scalar(select(User).where(col(User.username) == ref, col(User.active).is_(True)))
        if user is not None:
            address = user.email if message.channel == OutboxChannel.EMAIL.value else user.mobile
    if not address:
        raise DeliveryFailed(f"{kind} has no address for {message.channel}", permanent=True)
    return address


async def _text(session: AsyncSession, message: OutboxMessage) -> str:
    """The message text: the customer message it carries, else the payload's text."""
    if message.source_key:
        stored = await session.get(CustomerMessage, message.source_key)
        if stored is None:
            raise DeliveryFailed("customer message missing", permanent=True)
        return stored.body
    return str(message.payload.get("text", ""))
