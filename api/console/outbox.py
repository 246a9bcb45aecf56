"""Administration: the outbox at a glance — each channel's state (ok, stuck, failing) with its counts and latest
attempt, and the newest dead letters. The same figures as GET /api/outbox/summary; resending stays an API act."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlmodel import col

from api.console.errors import ConsoleRoute
from api.console.pages import _gate
from api.console.rendering import render
from api.console.session import SignedIn
from api.console.vocabulary import N_
from api.deps import DbDep, SessionDep
from core.outbox import OVERDUE_AFTER, OutboxStatus
from core.roles import Role
from db.models import OutboxMessage, utcnow
from db.outbox import channel_counts

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute, include_in_schema=False)
DEAD_SHOWN = 20
CHANNEL_STATES = (N_("ok"), N_("stuck"), N_("failing"))  # core.outbox.ChannelHealth.state, shown translated


@router.get("/outbox")
async def outbox(request: Request, user: SignedIn, session: SessionDep, db: DbDep) -> Response:
    """Channels with their state, and the newest dead letters (recipients by reference, never an address)."""
    await _gate(request, user, db, Role.ADMIN)
    channels = await channel_counts(session, utcnow() - OVERDUE_AFTER)
    dead = list(
        await session.scalars(
            select(OutboxMessage)
            .where(col(OutboxMessage.status) == OutboxStatus.DEAD.value)
            .order_by(col(OutboxMessage.id).desc())
            .limit(DEAD_SHOWN)
        )
    )
    return render(request, "admin_outbox.html", {"user": user, "channels": sorted(channels.items()), "dead": dead})
