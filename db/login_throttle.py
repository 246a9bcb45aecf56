"""Sign-in failure counters in PostgreSQL (rules in core/login_throttle.py): every API replica shares them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.login_throttle import ThrottleKind, ThrottlePolicy, ThrottleState, after_failure
from db.models import LoginThrottle

table: Table = LoginThrottle.__table__  # type: ignore[attr-defined]  # SQLModel does not declare it

# Quiet counters removed per recorded failure: the table stays bounded by the failure rate, whoever sprays it.
PRUNE_BATCH = 100


def _state(row: LoginThrottle | None) -> ThrottleState:
    if row is None:
        return ThrottleState()
    return ThrottleState(row.failures, row.last_failure_at, row.blocked_until, row.locked)


async def load(session: AsyncSession, kind: ThrottleKind, subject: str) -> ThrottleState:
    """The stored counter (a fresh one when none is stored)."""
    return _state(await session.get(LoginThrottle, (kind.value, subject)))


async def record_failure(
    session: AsyncSession, kind: ThrottleKind, subject: str, policy: ThrottlePolicy, now: datetime
) -> ThrottleState:
    """Count one failed attempt under a row lock, so concurrent replicas never lose a failure (caller commits)."""
    upsert = insert(table).values(kind=kind.value, subject=subject, failures=0, locked=False)
    # The no-op update takes the row lock and returns the row, whether it was just inserted or not.
    row = (
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=["kind", "subject"], set_={"kind": upsert.excluded.kind}
            ).returning(table.c.failures, table.c.last_failure_at, table.c.blocked_until, table.c.locked)
        )
    ).one()
    state = after_failure(ThrottleState(*row), policy, now)
    await session.execute(
        update(table)
        .where(table.c.kind == kind.value, table.c.subject == subject)
        .values(
            failures=state.failures,
            last_failure_at=state.last_failure_at,
            blocked_until=state.blocked_until,
            locked=state.locked,
        )
    )
    await prune(session, kind, policy, now)
    return state


async def prune(session: AsyncSession, kind: ThrottleKind, policy: ThrottlePolicy, now: datetime) -> int:
    """Delete up to PRUNE_BATCH counters of `kind` that have been forgotten (quiet and unblocked); caller commits."""
    stale = (
        select(table.c.subject)
        .where(
            table.c.kind == kind.value,
            table.c.last_failure_at < now - policy.reset_after,
            or_(table.c.blocked_until.is_(None), table.c.blocked_until <= now),
        )
        .order_by(table.c.last_failure_at)
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(table).where(table.c.kind == kind.value, table.c.subject.in_(stale.scalar_subquery()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def clear(session: AsyncSession, kind: ThrottleKind, subject: str) -> ThrottleState:
    """Forget a counter (a good sign-in, an administrator's unlock); returns what it was (caller commits)."""
    removed = (
        await session.execute(
            delete(table)
            .where(table.c.kind == kind.value, table.c.subject == subject)
            .returning(table.c.failures, table.c.last_failure_at, table.c.blocked_until, table.c.locked)
        )
    ).one_or_none()
    return ThrottleState(*removed) if removed else ThrottleState()
