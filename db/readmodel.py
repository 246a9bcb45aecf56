"""Read models shared by every feature: the newer-revision-wins write, and paged reads with their total."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, and_, func, literal, select
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlmodel import SQLModel

T = TypeVar("T", bound=SQLModel)


# One statement per (table, key, columns), the values bound at execution: SQLAlchemy then reuses its compiled form
# and cache key instead of walking thirty-odd values (a whole ticket's JSON among them) on every write.
_UPSERTS: dict[tuple[type[SQLModel], str, tuple[str, ...]], Insert] = {}


def _upsert_statement(table: type[SQLModel], key: str, columns: tuple[str, ...]) -> Insert:
    found = _UPSERTS.get((table, key, columns))
    if found is None:
        target: Table = table.__table__  # type: ignore[attr-defined]  # SQLModel tables carry their Table
        stmt = insert(target)
        found = _UPSERTS[(table, key, columns)] = stmt.on_conflict_do_update(
            index_elements=[key],
            set_={k: stmt.excluded[k] for k in columns if k != key},
            where=target.c.revision < stmt.excluded.revision,
        )
    return found


async def upsert_newer(session: AsyncSession, table: type[SQLModel], key: str, values: dict[str, Any]) -> None:
    """Insert the row, or overwrite it only with a higher `revision`: an older state never wins (the caller commits)."""
    await session.execute(_upsert_statement(table, key, tuple(values)), values)


async def page_of(
    session: AsyncSession,
    table: type[T],
    conditions: Iterable[ColumnElement[bool]],
    *order_by: ColumnElement[Any] | Mapped[Any],
    offset: int,
    limit: int,
    count_cap: int | None = None,
) -> tuple[int, list[T]]:
    """(total, page): how many rows meet every condition, and the page of them in `order_by` order.

    With `count_cap` the count stops past that many rows (total is then `count_cap + 1`: "more than the cap"), so
    its cost no longer grows with the table.
    """
    where = and_(True, *conditions)
    if count_cap is None:
        counted = select(func.count()).select_from(table).where(where)
    else:
        capped = select(literal(1)).select_from(table).where(where).limit(count_cap + 1).subquery()
        counted = select(func.count()).select_from(capped)
    total = await session.scalar(counted) or 0
    rows = await session.scalars(select(table).where(where).order_by(*order_by).offset(offset).limit(limit))
    return total, list(rows)


def capped_total(total: int, count_cap: int | None) -> tuple[int, bool]:
    """A `page_of` total as a list reports it: (the count, or the cap when it counted past it; whether it did)."""
    if count_cap is not None and total > count_cap:
        return count_cap, True
    return total, False
