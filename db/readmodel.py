"""Read-model writes shared by every workflow's activities."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel


async def upsert_newer(session: AsyncSession, table: type[SQLModel], key: str, values: dict[str, Any]) -> None:
    """Insert the row, or overwrite it only with a higher `revision`: an older state never wins (the caller commits)."""
    stmt = insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[key],
        set_={k: stmt.excluded[k] for k in values if k != key},
        where=stmt.table.c.revision < stmt.excluded.revision,
    )
    await session.execute(stmt)
