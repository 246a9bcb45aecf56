"""Queries for versioned calendars and SLA policies."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
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
    return await latest_parsed(session, CalendarVersion, name, BusinessCalendar.model_validate)


async def latest_policy(session: AsyncSession, name: str) -> SlaPolicy | None:
    """The newest version of a named SLA policy."""
    return await latest_parsed(session, SlaPolicyVersion, name, SlaPolicy.model_validate)


async def next_version(session: AsyncSession, table: type[VersionedSpec], name: str) -> int:
    """The version number the next edit of `name` gets."""
    current = await session.scalar(select(func.max(col(table.version))).where(col(table.name) == name))
    return (current or 0) + 1


# A version row by its id and creation instant: a database rebuilt from scratch starts its ids over, so the id alone
# could name another row than the one a cache was filled from.
VersionRef = tuple[int, datetime]


async def latest_version_refs(
    session: AsyncSession, *, calendar: str, policy: str, assignment: str
) -> tuple[VersionRef | None, VersionRef | None, VersionRef | None]:
    """The newest calendar, SLA policy and assignment-rules versions so named, in one round trip."""
    row = (await session.execute(_newest_refs(calendar, policy, assignment))).one()
    return _ref(row[0], row[1]), _ref(row[2], row[3]), _ref(row[4], row[5])


async def latest_parsed(
    session: AsyncSession, table: type[VersionedSpec], name: str, parse: Callable[[dict[str, Any]], T]
) -> T | None:
    """The newest version so named, parsed (None when there is none): one small query, the spec parsed once.

    Each call asks which version is the newest, so one published by another process or replica counts at once."""
    row = (await session.execute(_newest_ref(table, name))).first()
    return None if row is None else await parsed_version(session, table, (row[0], row[1]), parse)


# Version rows are immutable: a spec is read and parsed once per process, by database, table, row (id and creation
# instant) and parser. What is kept is handed to every caller, so parsers return immutable values (frozen models,
# `frozen_spec`).
_PARSED: dict[tuple[URL, str, int, datetime, Callable[[dict[str, Any]], Any]], Any] = {}


async def parsed_version(
    session: AsyncSession, table: type[VersionedSpec], ref: VersionRef, parse: Callable[[dict[str, Any]], T]
) -> T:
    """One version row's spec, parsed; read from the database the first time only."""
    row_id, created_at = ref
    key = (session.get_bind().engine.url, table.__name__, row_id, created_at, parse)
    if key not in _PARSED:
        spec = await session.scalar(select(col(table.spec)).where(col(table.id) == row_id))
        _PARSED[key] = parse(dict(spec or {}))
    parsed: T = _PARSED[key]
    return parsed


def frozen_spec(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """A spec as a read-only mapping all the way down (lists become tuples): safe to keep and share."""
    return MappingProxyType({key: _frozen(value) for key, value in spec.items()})


def thawed(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A plain, caller-owned copy of a `frozen_spec`."""
    return {key: _thawed(value) for key, value in spec.items()}


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return frozen_spec(value)
    return tuple(_frozen(item) for item in value) if isinstance(value, list | tuple) else value


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return thawed(value)
    return [_thawed(item) for item in value] if isinstance(value, tuple) else value


def _ref(row_id: int | None, created_at: datetime | None) -> VersionRef | None:
    return None if row_id is None or created_at is None else (row_id, created_at)


@functools.cache
def _newest_refs(calendar: str, policy: str, assignment: str) -> Any:
    named = ((CalendarVersion, calendar), (SlaPolicyVersion, policy), (AssignmentRulesVersion, assignment))
    return select(
        *(
            _newest(table, name, column).scalar_subquery()
            for table, name in named
            for column in (col(table.id), col(table.created_at))
        )
    )


@functools.cache  # a statement is built once per table and name (the newest-version query runs on every intake)
def _newest_ref(table: type[VersionedSpec], name: str) -> Any:
    return _newest(table, name, col(table.id), col(table.created_at))


def _newest(table: type[VersionedSpec], name: str, *columns: Any) -> Any:
    return select(*columns).where(col(table.name) == name).order_by(col(table.version).desc()).limit(1)
