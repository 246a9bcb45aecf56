"""Queries for versioned calendars and SLA policies."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import URL, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.calendar import BusinessCalendar
from core.sla import SlaPolicy
from db.models import AssignmentRulesVersion, CalendarVersion, SlaPolicyVersion, VersionedSpec

T = TypeVar("T")


async def latest_calendar(session: AsyncSession, name: str) -> BusinessCalendar | None:
    """The newest version of a named calendar."""
    row = await session.scalar(
        select(CalendarVersion)
        .where(col(CalendarVersion.name) == name)
        .order_by(col(CalendarVersion.version).desc())
        .limit(1)
    )
    return BusinessCalendar.model_validate(row.spec) if row else None


async def latest_policy(session: AsyncSession, name: str) -> SlaPolicy | None:
    """The newest version of a named SLA policy."""
    row = await session.scalar(
        select(SlaPolicyVersion)
        .where(col(SlaPolicyVersion.name) == name)
        .order_by(col(SlaPolicyVersion.version).desc())
        .limit(1)
    )
    return SlaPolicy.model_validate(row.spec) if row else None


async def next_version(session: AsyncSession, table: type[VersionedSpec], name: str) -> int:
    """The version number the next edit of `name` gets."""
    current = await session.scalar(select(func.max(col(table.version))).where(col(table.name) == name))
    return (current or 0) + 1


async def latest_version_ids(
    session: AsyncSession, *, calendar: str, policy: str, assignment: str
) -> tuple[int | None, int | None, int | None]:
    """The row ids of the newest calendar, SLA policy and assignment-rules versions so named, in one round trip."""
    row = (await session.execute(_newest_ids(calendar, policy, assignment))).one()
    return row[0], row[1], row[2]


async def latest_parsed(
    session: AsyncSession, table: type[VersionedSpec], name: str, parse: Callable[[dict[str, Any]], T]
) -> T | None:
    """The newest version so named, parsed (None when there is none): one small query, the spec parsed once."""
    row_id = await session.scalar(_newest_id(table, name))
    return None if row_id is None else await parsed_version(session, table, row_id, parse)


# Version rows are immutable: a spec is read and parsed once per process, by database, table, row id and parser.
_PARSED: dict[tuple[URL, str, int, Callable[[dict[str, Any]], Any]], Any] = {}


async def parsed_version(
    session: AsyncSession, table: type[VersionedSpec], row_id: int, parse: Callable[[dict[str, Any]], T]
) -> T:
    """One version row's spec, parsed; read from the database the first time only."""
    key = (session.get_bind().engine.url, table.__name__, row_id, parse)
    if key not in _PARSED:
        spec = await session.scalar(select(col(table.spec)).where(col(table.id) == row_id))
        _PARSED[key] = parse(dict(spec or {}))
    parsed: T = _PARSED[key]
    return parsed


@functools.cache
def _newest_ids(calendar: str, policy: str, assignment: str) -> Any:
    return select(
        _newest_id(CalendarVersion, calendar).scalar_subquery(),
        _newest_id(SlaPolicyVersion, policy).scalar_subquery(),
        _newest_id(AssignmentRulesVersion, assignment).scalar_subquery(),
    )


@functools.cache  # a statement is built once per table and name (the newest-id query runs on every intake)
def _newest_id(table: type[VersionedSpec], name: str) -> Any:
    return select(col(table.id)).where(col(table.name) == name).order_by(col(table.version).desc()).limit(1)
