"""The dashboards' live counts (beside the KPIs of db/kpis.py): open tickets by status and priority, tasks due soon."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.tickets import TicketStatus
from db.models import TaskRow, TicketRow

# A ticket is open until it is closed or cancelled.
FINISHED = (TicketStatus.CLOSED.value, TicketStatus.CANCELLED.value)


async def open_tickets_by_status_priority(session: AsyncSession) -> list[tuple[str, str | None, int]]:
    """(status, priority, how many) of the tickets not closed or cancelled."""
    rows = await session.execute(
        select(col(TicketRow.status), col(TicketRow.priority), func.count())
        .where(col(TicketRow.status).not_in(FINISHED))
        .group_by(col(TicketRow.status), col(TicketRow.priority))
    )
    return [(status, priority, count) for status, priority, count in rows]


async def open_tasks_due_between(session: AsyncSession, start: datetime, end: datetime, limit: int) -> list[TaskRow]:
    """Open tasks falling due in [start, end), soonest first (index ix_human_task_open_due)."""
    rows = await session.scalars(
        select(TaskRow)
        .where(col(TaskRow.status) == "open", col(TaskRow.due_at) >= start, col(TaskRow.due_at) < end)
        .order_by(col(TaskRow.due_at), col(TaskRow.task_id))
        .limit(limit)
    )
    return list(rows)


async def count_open_tasks_due_between(session: AsyncSession, start: datetime, end: datetime) -> int:
    """How many open tasks fall due in [start, end)."""
    found = await session.scalar(
        select(func.count())
        .select_from(TaskRow)
        .where(col(TaskRow.status) == "open", col(TaskRow.due_at) >= start, col(TaskRow.due_at) < end)
    )
    return found or 0
