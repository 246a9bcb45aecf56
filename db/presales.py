"""The pre-sales demand read model."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.presales import Demand
from db.models import PresalesDemandRow, utcnow
from db.readmodel import upsert_newer


async def upsert_demand(session: AsyncSession, demand: Demand) -> None:
    """Write the demand's state unless a newer revision is already stored (the caller commits)."""
    await upsert_newer(
        session,
        PresalesDemandRow,
        "demand_id",
        dict(
            demand_id=demand.demand_id,
            workflow_id=demand.workflow_id,
            status=demand.status.value,
            customer_id=demand.request.customer_id,
            order_id=demand.order_id,
            created_by=demand.request.created_by.username,
            created_at=demand.created_at,
            revision=demand.revision,
            detail=demand.model_dump(mode="json"),
            updated_at=utcnow(),
        ),
    )
