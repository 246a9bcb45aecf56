"""What the inbound SMTP receiver (infra/mail_inbound.py) does with an e-mail: register it as a message thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import HTTPException

from api.acts import Acting
from api.gateway import TemporalGateway, TemporalUnavailable
from api.messages.service import INTAKE, IncomingMessage, receive_email
from core.messages import urgency_of_email
from core.sla import MessageChannel
from db.session import DATABASE_UNAVAILABLE, Database
from infra.mail_inbound import InboundMail, MailRejected, Take
from infra.settings import Settings
from infra.temporal import connect


def intake(db: Database, gateway: TemporalGateway, settings: Settings) -> Take:
    """The receiver's `take`: one e-mail, one transaction; refusals become 550, outages 451."""

    async def take(mail: InboundMail) -> str:
        incoming = IncomingMessage(
            channel=MessageChannel.EMAIL,
            urgency=urgency_of_email(mail.subject, mail.headers),
            contact=mail.sender,
            subject=mail.subject,
            body=mail.body,
            received_at=mail.received_at,
            message_id=mail.message_id,
        )
        try:
            async with db.session() as session:
                return await receive_email(Acting(INTAKE, session, gateway, db, None), incoming, settings)
        except HTTPException as err:
            permanent = 400 <= err.status_code < 500 and err.status_code != 409
            raise MailRejected(f"{'5.6.0' if permanent else '4.3.0'} {err.detail}", permanent=permanent) from None
        except TemporalUnavailable:
            raise MailRejected("4.3.0 the center cannot take mail right now", permanent=False) from None
        except DATABASE_UNAVAILABLE:
            raise MailRejected("4.3.0 the center cannot take mail right now", permanent=False) from None

    return take


@asynccontextmanager
async def serving_intake(settings: Settings) -> AsyncIterator[Take]:
    """The receiver process's database, Temporal client and `take` (python -m infra.mail_inbound)."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set")
    db = Database(settings.database_url, pool_size=3, journal_keys=settings.journal_key_ring)
    client = await connect(settings, lazy=True)
    gateway = TemporalGateway(
        client,
        db,
        task_queue=settings.temporal_task_queue,
        rpc_timeout=settings.temporal_rpc_timeout_seconds,
        worker_stale_seconds=settings.worker_stale_seconds,
    )
    try:
        yield intake(db, gateway, settings)
    finally:
        await gateway.close()
        await db.dispose()
