"""The incident read model, its linked tickets, the incident policy, and the detection's signature queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.incidents import OPEN_STATUSES, FaultSignature, Incident, IncidentPolicy
from core.tickets import TicketStatus
from db.models import IncidentPolicyVersion, IncidentRow, IncidentTicket, TicketRow, utcnow
from db.policies import latest_parsed
from db.readmodel import upsert_newer


async def upsert_incident(session: AsyncSession, incident: Incident) -> None:
    """Write the incident's state unless a newer revision is stored, and its links (the caller commits)."""
    await upsert_newer(
        session,
        IncidentRow,
        "incident_no",
        dict(
            incident_no=incident.incident_no,
            workflow_id=incident.workflow_id,
            incident_class=incident.incident_class.value,
            level=incident.level.value,
            status=incident.status.value,
            title=incident.title,
            signature_key=incident.signature.key if incident.signature else None,
            automatic=incident.automatic,
            declared_by=incident.declared_by,
            created_at=incident.created_at,
            resolved_at=incident.resolved_at,
            closed_at=incident.closed_at,
            revision=incident.revision,
            detail=incident.model_dump(mode="json"),
            updated_at=utcnow(),
        ),
    )
    await link_tickets(session, incident.incident_no, [(t.ticket_no, t.linked_at) for t in incident.tickets])


async def link_tickets(session: AsyncSession, incident_no: str, tickets: list[tuple[str, datetime]]) -> None:
    """Record the tickets as linked to the incident (each once; the caller commits)."""
    if tickets:
        await session.execute(
            insert(IncidentTicket)
            .values([dict(incident_no=incident_no, ticket_no=no, linked_at=at) for no, at in tickets])
            .on_conflict_do_nothing()
        )


async def latest_incident_policy(session: AsyncSession, name: str) -> IncidentPolicy | None:
    """The newest version of the named incident policy."""
    return await latest_parsed(session, IncidentPolicyVersion, name, IncidentPolicy.model_validate)


async def lock_signature(session: AsyncSession, signature: FaultSignature) -> None:
    """Serialise the detections of one signature until the transaction ends (two tickets never open two incidents)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"incident:{signature.key}"})


async def open_incident_for(session: AsyncSession, signature: FaultSignature, statuses: tuple[str, ...]) -> str | None:
    """The incident of this signature still in one of `statuses`, if any."""
    return await session.scalar(
        select(col(IncidentRow.incident_no))
        .where(col(IncidentRow.signature_key) == signature.key, col(IncidentRow.status).in_(statuses))
        .order_by(col(IncidentRow.created_at).desc())
        .limit(1)
    )


def _intake(field: str) -> Any:
    return func.coalesce(col(TicketRow.detail)["intake"][field].astext, "")


async def tickets_with_signature(
    session: AsyncSession, signature: FaultSignature, at: datetime, window: timedelta
) -> list[str]:
    """Tickets of this signature registered within the window up to `at`, not cancelled and in no incident yet."""
    rows = await session.scalars(
        select(col(TicketRow.ticket_no))
        .where(
            col(TicketRow.customer_id) == signature.customer_id,
            col(TicketRow.created_at) > at - window,
            col(TicketRow.created_at) <= at,
            col(TicketRow.status) != TicketStatus.CANCELLED.value,
            func.upper(func.trim(_intake("circuit_id"))) == signature.circuit_id.strip().upper(),
            _intake("service") == signature.service,
            func.lower(func.trim(_intake("fault_site"))) == signature.site.strip().lower(),
            ~exists().where(col(IncidentTicket.ticket_no) == col(TicketRow.ticket_no)),
        )
        .order_by(col(TicketRow.created_at), col(TicketRow.ticket_no))
    )
    return list(rows)


async def incidents_of_ticket(session: AsyncSession, ticket_no: str) -> list[str]:
    """The incidents a ticket is linked to (its parents), oldest first."""
    rows = await session.scalars(
        select(col(IncidentTicket.incident_no))
        .where(col(IncidentTicket.ticket_no) == ticket_no)
        .order_by(col(IncidentTicket.linked_at))
    )
    return list(rows)


def open_status_values() -> tuple[str, ...]:
    """The statuses of an incident that is not closed or stood down."""
    return tuple(s.value for s in OPEN_STATUSES)
