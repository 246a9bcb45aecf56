"""KPI figures computed in PostgreSQL from the read model: one query per KPI of core.kpis.CATALOGUE."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.kpis import KPI_TARGETS_NAME, KpiFigures, KpiQuery, KpiTargets
from db.models import KpiTargetsVersion


def _params(query: KpiQuery) -> dict[str, Any]:
    return {
        "start": query.start,
        "end": query.end,
        "department": query.department,
        "person": query.person,
        "customer": query.customer,
        "priority": query.priority.value if query.priority else None,
    }


# Untyped NULL parameters need a type: every optional filter is cast to text where it is tested.
_TICKET_FILTERS = """
      (CAST(:department AS text) IS NULL
        OR k.candidate_department = CAST(:department AS text) OR k.lead_department = CAST(:department AS text))
  AND (CAST(:person AS text) IS NULL OR k.handler = CAST(:person AS text))
  AND (CAST(:customer AS text) IS NULL OR k.customer_id = CAST(:customer AS text))
  AND (CAST(:priority AS text) IS NULL OR k.priority = CAST(:priority AS text))
"""

_CYCLES = f"""
SELECT (cy->>'number')::int AS number, (cy->>'started_at')::timestamptz AS started_at, cy
  FROM ticket k CROSS JOIN LATERAL jsonb_array_elements(k.detail->'cycles') AS cy
 WHERE {_TICKET_FILTERS}
"""

# Each SLA step: where the cycle keeps its deadline, its completion, and the task kind its breaches are named by.
_STEPS = {
    "response": ("(cy->>'response_due')::timestamptz", "(cy->>'responded_at')::timestamptz", "accept"),
    "plan": ("(cy->>'plan_due')::timestamptz", "(cy->>'planned_at')::timestamptz", "plan"),
    "resolution": (
        "COALESCE((cy->>'resolution_due')::timestamptz, (cy->>'resolution_cap')::timestamptz)",
        "(cy->>'resolved_at')::timestamptz",
        "resolve",
    ),
}


async def _one(session: AsyncSession, sql: str, query: KpiQuery, **extra: Any) -> Any:
    return (await session.execute(text(sql), _params(query) | extra)).one()


def _timeliness(step: str, *, first_only: bool = False) -> Callable[[AsyncSession, KpiQuery], Awaitable[KpiFigures]]:
    due, done, kind = _STEPS[step]

    async def figures(session: AsyncSession, query: KpiQuery) -> KpiFigures:
        sql = f"""
        WITH c AS (
          SELECT {due} AS due, {done} AS done,
                 EXISTS (SELECT 1 FROM jsonb_array_elements_text(cy->'breaches') AS b
                          WHERE b LIKE :breach_prefix) AS breached
            FROM ({_CYCLES}) AS cycles
           WHERE started_at >= :start AND started_at < :end {"AND number = 1" if first_only else ""}
        )
        SELECT count(*) FILTER (WHERE done IS NOT NULL AND done <= due AND NOT breached),
               count(*) FILTER (WHERE done IS NOT NULL OR breached),
               count(*) FILTER (WHERE breached)
          FROM c
        """
        on_time, settled, breached = await _one(session, sql, query, breach_prefix=f"{kind}:%")
        return KpiFigures(numerator=on_time, denominator=settled, counts={"breached": breached})

    return figures


async def satisfaction_rate(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Rated SLA cycles by rating."""
    sql = f"""
    SELECT count(*) FILTER (WHERE cy->>'rating' = 'satisfied'),
           count(*) FILTER (WHERE cy->>'rating' IS NOT NULL),
           count(*) FILTER (WHERE cy->>'rating' = 'neutral'),
           count(*) FILTER (WHERE cy->>'rating' = 'dissatisfied')
      FROM ({_CYCLES}) AS cycles
     WHERE started_at >= :start AND started_at < :end
    """
    satisfied, rated, neutral, dissatisfied = await _one(session, sql, query)
    counts = {"satisfied": satisfied, "neutral": neutral, "dissatisfied": dissatisfied}
    return KpiFigures(numerator=satisfied, denominator=rated, counts=counts)


async def reopen_rate(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Tickets registered in the period: reopened ones over those closed at least once."""
    sql = f"""
    SELECT count(*) FILTER (WHERE jsonb_array_length(k.detail->'cycles') > 1),
           count(*) FILTER (WHERE k.closed_at IS NOT NULL OR jsonb_array_length(k.detail->'cycles') > 1)
      FROM ticket k
     WHERE k.created_at >= :start AND k.created_at < :end AND {_TICKET_FILTERS}
    """
    reopened, closed = await _one(session, sql, query)
    return KpiFigures(numerator=reopened, denominator=closed)


async def resource_check_timeliness(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Accepted checks in the ledger finished in the period, on time over judged."""
    sql = """
    SELECT count(*) FILTER (WHERE on_time), count(*)
      FROM resource_check_ledger
     WHERE outcome = 'accepted' AND on_time IS NOT NULL AND finished_at >= :start AND finished_at < :end
       AND (CAST(:customer AS text) IS NULL OR customer_id = CAST(:customer AS text))
    """
    on_time, judged = await _one(session, sql, query)
    return KpiFigures(numerator=on_time, denominator=judged)


async def activation_timeliness(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Circuits completed in the period, on time over completed."""
    sql = """
    SELECT count(*) FILTER (WHERE c.on_time), count(*)
      FROM circuit_ledger c JOIN service_order o ON o.order_id = c.order_id
     WHERE c.completed_at >= :start AND c.completed_at < :end AND c.on_time IS NOT NULL
       AND (CAST(:customer AS text) IS NULL OR o.customer_id = CAST(:customer AS text))
    """
    on_time, completed = await _one(session, sql, query)
    return KpiFigures(numerator=on_time, denominator=completed)


async def report_timeliness(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Reports due in the period: on time over settled (done, or marked late by their workflow at the due)."""
    sql = """
    SELECT count(*) FILTER (WHERE on_time), count(*) FILTER (WHERE on_time IS NOT NULL),
           count(*) FILTER (WHERE kind = 'operation' AND on_time IS NOT NULL),
           count(*) FILTER (WHERE kind = 'fault' AND on_time IS NOT NULL),
           count(*) FILTER (WHERE kind = 'quarterly' AND on_time IS NOT NULL),
           count(*) FILTER (WHERE on_time IS NOT NULL AND NOT on_time)
      FROM report
     WHERE due_at >= :start AND due_at < :end
       AND (CAST(:customer AS text) IS NULL OR customer_id = CAST(:customer AS text))
    """
    on_time, settled, operation, fault, quarterly, late = await _one(session, sql, query)
    counts = {"operation": operation, "fault": fault, "quarterly": quarterly, "late": late}
    return KpiFigures(numerator=on_time, denominator=settled, counts=counts)


# The breaches in scope: a period, a customer's workflows, a ticket priority; `parts` splits who was responsible.
_BREACHES = """
  FROM sla_breach b
  LEFT JOIN ticket k ON k.workflow_id = b.workflow_id
  LEFT JOIN resource_check rc ON rc.workflow_id = b.workflow_id
  LEFT JOIN service_order so ON so.workflow_id = b.workflow_id
  CROSS JOIN LATERAL (SELECT string_to_array(b.responsible, ' or ') AS parts) AS p
 WHERE b.breached_at >= :start AND b.breached_at < :end
   AND (CAST(:customer AS text) IS NULL
        OR COALESCE(k.customer_id, rc.customer_id, so.customer_id) = CAST(:customer AS text))
   AND (CAST(:priority AS text) IS NULL OR k.priority = CAST(:priority AS text))
"""
# A person answers for a breach charged to them, or to candidates that admitted them while the task was unclaimed
# (core.tasks.Candidates: their department, unless an auditor, or one of their roles).
_CHARGED_TO_USER = """(b.responsible = u.username
   OR (('department ' || u.department) = ANY (p.parts) AND NOT ('auditor' = ANY (u.roles)))
   OR EXISTS (SELECT 1 FROM unnest(u.roles) AS r WHERE ('role ' || r) = ANY (p.parts)))"""
# A department answers for a breach charged to it (unclaimed) or to one of its members.
_CHARGED_TO_DEPARTMENT = """(('department ' || d.department) = ANY (p.parts)
   OR EXISTS (SELECT 1 FROM app_user m WHERE m.username = b.responsible AND m.department = d.department))"""


async def sla_breaches(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Breaches in the period by task kind; for a person, also how many came while the task was unclaimed.

    A breach names who was responsible when it happened: a user, or (unclaimed) the candidates as
    "department D or role R ..." (core.tasks.Candidates.describe).
    """
    sql = f"""
    SELECT b.kind, b.responsible = CAST(:person AS text) AS direct, count(*)
      {_BREACHES}
       AND (CAST(:person AS text) IS NULL
            OR EXISTS (SELECT 1 FROM app_user u WHERE u.username = CAST(:person AS text) AND {_CHARGED_TO_USER}))
       AND (CAST(:department AS text) IS NULL
            OR EXISTS (SELECT 1 FROM (SELECT CAST(:department AS text) AS department) AS d
                        WHERE {_CHARGED_TO_DEPARTMENT}))
     GROUP BY b.kind, direct
    """
    rows = (await session.execute(text(sql), _params(query))).all()
    counts: dict[str, int] = {}
    for kind, _, n in rows:
        counts[kind] = counts.get(kind, 0) + n
    if query.person is not None:
        counts["unclaimed"] = sum(n for _, direct, n in rows if not direct)
    return KpiFigures(numerator=sum(n for _, _, n in rows), counts=counts)


async def breaches_by_person(session: AsyncSession, query: KpiQuery) -> list[tuple[str, int, int]]:
    """(username, breaches, of which unclaimed) for every person charged with a breach in scope, most first."""
    scope = _BREACHES.replace("FROM sla_breach b", "FROM app_user u CROSS JOIN sla_breach b")
    sql = f"""
    SELECT u.username, count(*), count(*) FILTER (WHERE b.responsible <> u.username)
      {scope} AND {_CHARGED_TO_USER}
     GROUP BY u.username ORDER BY count(*) DESC, u.username
    """
    return [(name, n, unclaimed) for name, n, unclaimed in await session.execute(text(sql), _params(query))]


async def breaches_by_department(session: AsyncSession, query: KpiQuery) -> list[tuple[str, int, int]]:
    """(department, breaches, of which unclaimed) for every department charged with a breach in scope, most first."""
    departments = """(SELECT DISTINCT department FROM app_user WHERE department IS NOT NULL
                      UNION SELECT substr(x, 12) FROM sla_breach, unnest(string_to_array(responsible, ' or ')) AS x
                       WHERE x LIKE 'department %') AS d"""
    scope = _BREACHES.replace("FROM sla_breach b", f"FROM {departments} CROSS JOIN sla_breach b")
    sql = f"""
    SELECT d.department, count(*),
           count(*) FILTER (WHERE ('department ' || d.department) = ANY (p.parts))
      {scope} AND {_CHARGED_TO_DEPARTMENT}
     GROUP BY d.department ORDER BY count(*) DESC, d.department
    """
    return [(name, n, unclaimed) for name, n, unclaimed in await session.execute(text(sql), _params(query))]


async def callback_rate(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Scheduled callbacks due in the period: reached over opened, with the unreachable and missed counted."""
    sql = """
    SELECT count(*) FILTER (WHERE status = 'reached'), count(*),
           count(*) FILTER (WHERE status = 'unreachable'), count(*) FILTER (WHERE status = 'missed')
      FROM callback
     WHERE task_id IS NOT NULL AND status <> 'stopped' AND due_at >= :start AND due_at < :end
       AND (CAST(:customer AS text) IS NULL OR customer_id = CAST(:customer AS text))
    """
    reached, due, unreachable, missed = await _one(session, sql, query)
    counts = {"reached": reached, "unreachable": unreachable, "missed": missed}
    return KpiFigures(numerator=reached, denominator=due, counts=counts)


FIGURES: dict[str, Callable[[AsyncSession, KpiQuery], Awaitable[KpiFigures]]] = {
    "response_timeliness": _timeliness("response", first_only=True),
    "plan_timeliness": _timeliness("plan"),
    "resolution_timeliness": _timeliness("resolution"),
    "resource_check_timeliness": resource_check_timeliness,
    "activation_timeliness": activation_timeliness,
    "report_timeliness": report_timeliness,
    "sla_breaches": sla_breaches,
    "satisfaction_rate": satisfaction_rate,
    "reopen_rate": reopen_rate,
    "callback_rate": callback_rate,
}


async def figures(session: AsyncSession, name: str, query: KpiQuery) -> KpiFigures:
    """The counts of one KPI for a query."""
    return await FIGURES[name](session, query)


async def latest_targets(session: AsyncSession) -> KpiTargets | None:
    """The newest published KPI targets."""
    row = await session.scalar(
        select(KpiTargetsVersion)
        .where(col(KpiTargetsVersion.name) == KPI_TARGETS_NAME)
        .order_by(col(KpiTargetsVersion.version).desc())
        .limit(1)
    )
    return KpiTargets.model_validate(row.spec) if row else None
