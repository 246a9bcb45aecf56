"""TMF688 listeners and the fan-out of one API event to each listener whose query it passes, through the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.hubs import parse_query
from core.outbox import OutboxChannel
from db.models import EventHub
from db.outbox import enqueue


async def active_hubs(session: AsyncSession, api: str) -> list[EventHub]:
    """The registered (not deleted) listeners of one API, oldest first."""
    rows = await session.scalars(
        select(EventHub).where(col(EventHub.api) == api, col(EventHub.deleted_at).is_(None)).order_by(col(EventHub.id))
    )
    return list(rows)


def event_body(api: str, event_id: str, event_type: str, at: datetime, resource: dict[str, Any]) -> dict[str, Any]:
    """A TMF event: `{eventId, eventTime, eventType, event: {<api>: resource}}`."""
    return {
        "@type": event_type,
        "eventId": event_id,
        "eventTime": at.isoformat().replace("+00:00", "Z"),
        "eventType": event_type,
        "event": {api: resource},
    }


async def publish(
    session: AsyncSession,
    api: str,
    *,
    subject: str,
    event_id: str,
    event_type: str,
    at: datetime,
    resource: dict[str, Any],
) -> int:
    """Queue the event for every listener whose query it passes, in the caller's transaction; how many."""
    queued = 0
    for hub in await active_hubs(session, api):
        if not parse_query(api, hub.query).matches(event_type, resource):
            continue
        body = event_body(api, event_id, event_type, at, resource)
        queued += await enqueue(
            session,
            event=event_id,
            subject=subject,
            recipient=f"hub:{hub.id}",
            channel=OutboxChannel.WEBHOOK,
            payload={"event": body},
        )
    return queued
