"""Quality inspection read model: the inspection row, its scored reviews, the rules in force, the closed tickets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.quality import QUALITY_RULES_NAME, ClosedTicket, Inspection, QualityRules
from db.models import QualityInspectionRow, QualityReviewRow, QualityRulesVersion, utcnow
from db.policies import latest_parsed
from db.readmodel import upsert_newer


async def upsert_inspection(session: AsyncSession, inspection: Inspection) -> None:
    """Write the inspection unless a newer revision is stored, and each scored review (the caller commits)."""
    await upsert_newer(
        session,
        QualityInspectionRow,
        "inspection_id",
        dict(
            inspection_id=inspection.inspection_id,
            workflow_id=inspection.workflow_id,
            start_at=inspection.start,
            end_at=inspection.end,
            status=inspection.status,
            revision=inspection.revision,
            detail=inspection.model_dump(mode="json"),
            updated_at=utcnow(),
        ),
    )
    for review in inspection.reviews:
        if review.scored_at is None or review.points is None or review.inspector is None:
            continue
        values = dict(
            inspection_id=inspection.inspection_id,
            ticket_no=review.ticket_no,
            handler=review.handler,
            inspector=review.inspector,
            points=review.points,
            possible=review.possible,
            passed=bool(review.passed),
            scored_at=review.scored_at,
        )
        stmt = insert(QualityReviewRow).values(**values)
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["inspection_id", "ticket_no"]))


async def latest_rules(session: AsyncSession) -> QualityRules:
    """The newest published quality rules, else the defaults."""
    rules = await latest_parsed(session, QualityRulesVersion, QUALITY_RULES_NAME, QualityRules.model_validate)
    return rules or QualityRules()


async def closed_tickets(session: AsyncSession, start: datetime, end: datetime) -> list[ClosedTicket]:
    """Tickets closed in [start, end) that have a handler."""
    rows = await session.execute(
        text(
            "SELECT ticket_no, handler FROM ticket WHERE closed_at >= :start AND closed_at < :end"
            " AND handler IS NOT NULL ORDER BY ticket_no"
        ),
        {"start": start, "end": end},
    )
    return [ClosedTicket(ticket_no=no, handler=handler) for no, handler in rows]
