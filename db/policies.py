"""Queries for versioned calendars and SLA policies."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from core.calendar import BusinessCalendar
from core.sla import SlaPolicy
from db.models import AssignmentRulesVersion, CalendarVersion, SlaPolicyVersion


async def latest_calendar(session: AsyncSession, name: str) -> BusinessCalendar | None:
    """The newest version of a named calendar."""
    row = await session.scalar(
        select(CalendarVersion).where(CalendarVersion.name == name).order_by(CalendarVersion.version.desc()).limit(1)
    )
    return BusinessCalendar.model_validate(row.spec) if row else None


async def latest_policy(session: AsyncSession, name: str) -> SlaPolicy | None:
    """The newest version of a named SLA policy."""
    row = await session.scalar(
        select(SlaPolicyVersion).where(SlaPolicyVersion.name == name).order_by(SlaPolicyVersion.version.desc()).limit(1)
    )
    return SlaPolicy.model_validate(row.spec) if row else None


async def latest_assignment_rules(session: AsyncSession, name: str) -> dict | None:
    """The newest version of the named assignment rules, as stored."""
    row = await session.scalar(
        select(AssignmentRulesVersion)
        .where(AssignmentRulesVersion.name == name)
        .order_by(AssignmentRulesVersion.version.desc())
        .limit(1)
    )
    return row.spec if row else None


async def next_version(session: AsyncSession, table: type[SQLModel], name: str) -> int:
    """The version number the next edit of `name` gets."""
    current = await session.scalar(select(func.max(table.version)).where(table.name == name))
    return (current or 0) + 1
