"""The audit journal: append-only rows for every human act, accepted or refused."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.records import AuditRecord
from db.models import AuditEntry


async def append(session: AsyncSession, record: AuditRecord) -> None:
    """Add one journal row; a repeated request id writes nothing (the caller commits)."""
    values = record.model_dump()
    values["actor_roles"] = list(values["actor_roles"])
    await session.execute(insert(AuditEntry).values(**values).on_conflict_do_nothing(index_elements=["request_id"]))
