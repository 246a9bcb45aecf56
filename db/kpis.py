"""KPI figures computed in PostgreSQL from the read model: one query per KPI of core.kpis.CATALOGUE."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.kpis import BY_NAME, CATALOGUE, KPI_TARGETS_NAME, KpiDefinition, KpiFigures, KpiQuery, KpiTargets, definitions
from db.models import KpiTargetsVersion
from db.policies import latest_parsed


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
def _ticket_filters(person: str = "f.handler") -> str:
    """The filters over a kpi_ticket_cycle row `f`; `person` names whose the ticket or task is."""
    return f"""
      (CAST(:department AS text) IS NULL
        OR f.candidate_department = CAST(:department AS text) OR f.lead_department = CAST(:department AS text))
  AND (CAST(:person AS text) IS NULL OR {person} = CAST(:person AS text))
  AND (CAST(:customer AS text) IS NULL OR f.customer_id = CAST(:customer AS text))
  AND (CAST(:priority AS text) IS NULL OR f.priority = CAST(:priority AS text))
"""


# Each SLA step of a kpi_ticket_cycle row: on time, settled and breached (generated columns, migration 0024).
_STEPS = {
    "response": ("f.response_on_time", "f.response_settled", "f.response_breached"),
    "plan": ("f.plan_on_time", "f.plan_settled", "f.plan_breached"),
    "resolution": ("f.resolution_on_time", "f.resolution_settled", "f.resolution_breached"),
}


async def _one(session: AsyncSession, sql: str, query: KpiQuery, **extra: Any) -> Any:
    return (await session.execute(text(sql), _params(query) | extra)).one()


def _whole_hours(query: KpiQuery) -> bool:
    """True when the rollup can answer: no department, person or customer, and a period of whole UTC hours."""
    narrow = query.department or query.person or query.customer
    return not narrow and all(at.timestamp() % 3600 == 0 for at in (query.start, query.end))


async def _rolled_up(session: AsyncSession, query: KpiQuery, *counters: str) -> Any:
    """Sums of kpi_ticket_hour counters over the period (and priority), kept as the facts are written."""
    sums = ", ".join(f"COALESCE(sum({c}), 0)::int" for c in counters)
    sql = f"""
    SELECT {sums} FROM kpi_ticket_hour
     WHERE hour >= :start AND hour < :end AND (CAST(:priority AS text) IS NULL OR priority = CAST(:priority AS text))
    """
    return await _one(session, sql, query)


def _timeliness(
    step: str, *, first_only: bool = False, faults_only: bool = False
) -> Callable[[AsyncSession, KpiQuery], Awaitable[KpiFigures]]:
    on_time, settled, breached = _STEPS[step]
    only = ("AND f.number = 1 " if first_only else "") + ("AND f.fault" if faults_only else "")
    rollup = "fault" if faults_only else step

    async def figures(session: AsyncSession, query: KpiQuery) -> KpiFigures:
        if _whole_hours(query):
            counts = await _rolled_up(session, query, f"{rollup}_on_time", f"{rollup}_settled", f"{rollup}_breached")
        else:
            sql = f"""
            SELECT count(*) FILTER (WHERE {on_time}), count(*) FILTER (WHERE {settled}),
                   count(*) FILTER (WHERE {breached})
              FROM kpi_ticket_cycle f
             WHERE f.started_at >= :start AND f.started_at < :end {only} AND {_ticket_filters()}
            """
            counts = await _one(session, sql, query)
        n_on_time, n_settled, n_breached = counts
        return KpiFigures(numerator=n_on_time, denominator=n_settled, counts={"breached": n_breached})

    return figures


async def satisfaction_rate(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Rated SLA cycles by rating."""
    if _whole_hours(query):
        satisfied, neutral, dissatisfied = await _rolled_up(session, query, "satisfied", "neutral", "dissatisfied")
    else:
        sql = f"""
        SELECT count(*) FILTER (WHERE f.rating = 'satisfied'), count(*) FILTER (WHERE f.rating = 'neutral'),
               count(*) FILTER (WHERE f.rating = 'dissatisfied')
          FROM kpi_ticket_cycle f
         WHERE f.started_at >= :start AND f.started_at < :end AND {_ticket_filters()}
        """
        satisfied, neutral, dissatisfied = await _one(session, sql, query)
    counts = {"satisfied": satisfied, "neutral": neutral, "dissatisfied": dissatisfied}
    return KpiFigures(numerator=satisfied, denominator=satisfied + neutral + dissatisfied, counts=counts)


# Tickets registered in the period: the first cycle's row stands for its ticket.
_REGISTERED = "f.number = 1 AND f.registered_at >= :start AND f.registered_at < :end"


async def reopen_rate(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Tickets registered in the period: reopened ones over those closed at least once."""
    if _whole_hours(query):
        reopened, closed = await _rolled_up(session, query, "reopened", "closed")
    else:
        sql = f"""
        SELECT count(*) FILTER (WHERE f.cycles > 1), count(*) FILTER (WHERE f.closed)
          FROM kpi_ticket_cycle f
         WHERE {_REGISTERED} AND {_ticket_filters()}
        """
        reopened, closed = await _one(session, sql, query)
    return KpiFigures(numerator=reopened, denominator=closed)


async def complaint_callback_rate(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Complaint tickets registered in the period whose callback was done; of those, how many on time."""
    if _whole_hours(query):
        called, complaints, on_time = await _rolled_up(session, query, "called", "complaints", "called_on_time")
    else:
        sql = f"""
        SELECT count(*) FILTER (WHERE f.callback_status = 'done'), count(*), count(*) FILTER (WHERE f.callback_on_time)
          FROM kpi_ticket_cycle f
         WHERE {_REGISTERED} AND f.complaint AND {_ticket_filters("f.callback_person")}
        """
        called, complaints, on_time = await _one(session, sql, query)
    return KpiFigures(numerator=called, denominator=complaints, counts={"on_time": on_time})


async def complaint_completion_48h(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Complaint tickets registered in the period resolved (first cycle) within 48 hours."""
    if _whole_hours(query):
        completed, complaints = await _rolled_up(session, query, "complaints_48h", "complaints")
    else:
        sql = f"""
        SELECT count(*) FILTER (WHERE f.completed_48h), count(*)
          FROM kpi_ticket_cycle f
         WHERE {_REGISTERED} AND f.complaint AND {_ticket_filters()}
        """
        completed, complaints = await _one(session, sql, query)
    return KpiFigures(numerator=completed, denominator=complaints)


async def second_followup_timeliness(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Second follow-ups opened in the period: done by their deadline over done or overdue (kpi_followup)."""
    if _whole_hours(query):
        # Open and overdue depends on now: those few (open ones only) are counted from the facts.
        done, on_time = await _rolled_up(session, query, "followups_done", "followups_on_time")
        sql = """
        SELECT count(*) FROM kpi_followup f
         WHERE f.status = 'open' AND f.opened_at >= :start AND f.opened_at < :end AND f.due_at < now()
           AND (CAST(:priority AS text) IS NULL OR f.priority = CAST(:priority AS text))
        """
        (late,) = await _one(session, sql, query)
        return KpiFigures(numerator=on_time, denominator=done + late)
    sql = f"""
    SELECT count(*) FILTER (WHERE f.on_time),
           count(*) FILTER (WHERE f.status = 'done' OR (f.status = 'open' AND f.due_at < now()))
      FROM kpi_followup f
     WHERE f.opened_at >= :start AND f.opened_at < :end AND {_ticket_filters("f.person")}
    """
    on_time, settled = await _one(session, sql, query)
    return KpiFigures(numerator=on_time, denominator=settled)


async def quality_score(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Reviews scored in the period: points given over points possible, per the reviewed ticket's handler."""
    sql = f"""
    SELECT COALESCE(sum(q.points), 0), COALESCE(sum(q.possible), 0), count(*), count(*) FILTER (WHERE q.passed)
      FROM quality_review q JOIN kpi_ticket_cycle f ON f.ticket_no = q.ticket_no AND f.number = 1
     WHERE q.scored_at >= :start AND q.scored_at < :end AND {_ticket_filters("q.handler")}
    """
    points, possible, reviews, passed = await _one(session, sql, query)
    return KpiFigures(numerator=points, denominator=possible, counts={"reviews": reviews, "passed": passed})


async def staff_evaluation(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Each component KPI's rate for the same question (None where it has nothing to count)."""
    parts: dict[str, float | None] = {}
    for name, _ in BY_NAME["staff_evaluation"].components:
        part = await FIGURES[name](session, query)
        parts[name] = part.numerator / part.denominator if part.denominator else None
    present = sum(v is not None for v in parts.values())
    return KpiFigures(numerator=present, denominator=len(parts), parts=parts)


# A finished check or circuit (kpi_work, migration 0026) in the period, narrowed by its customer and by the
# department and person of one of its workflow's tasks (its candidates, who held or did it: kpi_party's token).
def _work(kind: str, condition: str) -> str:
    return f"""
  FROM kpi_work w
 WHERE w.kind = '{kind}' AND w.at >= :start AND w.at < :end AND {condition}
   AND (CAST(:customer AS text) IS NULL OR w.customer_id = CAST(:customer AS text))
   AND (kpi_party(CAST(:department AS text), CAST(:person AS text)) IS NULL
        OR kpi_party(CAST(:department AS text), CAST(:person AS text)) = ANY (w.parties))
"""


async def resource_check_timeliness(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Accepted checks in the ledger finished in the period, on time over judged."""
    judged = _work("check", "w.outcome = 'accepted' AND w.on_time IS NOT NULL")
    on_time, n = await _one(session, f"SELECT count(*) FILTER (WHERE w.on_time), count(*) {judged}", query)
    return KpiFigures(numerator=on_time, denominator=n)


async def activation_timeliness(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Circuits completed in the period, on time over completed."""
    sql = f"SELECT count(*) FILTER (WHERE w.on_time), count(*) {_work('circuit', 'w.on_time IS NOT NULL')}"
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


async def activation_cycle_time(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Circuits completed in the period: their cycle seconds summed, over how many."""
    completed = _work("circuit", "w.cycle_seconds IS NOT NULL")
    sql = f"SELECT COALESCE(round(sum(w.cycle_seconds)), 0), count(*) {completed}"
    seconds, completed = await _one(session, sql, query)
    return KpiFigures(numerator=int(seconds), denominator=completed)


# The breaches in scope grouped by whom they were held by (kpi_breach, migration 0024): a period, a customer's
# workflows, a ticket priority. kpi_charges(responsible) names whom each group is charged to.
_BREACH_GROUPS = """
SELECT b.responsible, b.kind, kpi_charges(b.responsible) AS charged, count(*) AS n
  FROM kpi_breach b
 WHERE b.breached_at >= :start AND b.breached_at < :end
   AND (CAST(:customer AS text) IS NULL OR b.customer_id = CAST(:customer AS text))
   AND (CAST(:priority AS text) IS NULL OR b.priority = CAST(:priority AS text))
 GROUP BY b.responsible, b.kind
"""
# Whom a person answers for: themselves, and the candidates that admitted them while a task was unclaimed
# (core.tasks.Candidates: their department, unless an auditor, or one of their roles).
_USER_ANSWERS = """(
  SELECT username, ARRAY['person:' || username]
         || CASE WHEN department IS NOT NULL AND NOT ('auditor' = ANY (roles))
                 THEN ARRAY['department:' || department] ELSE '{}' END
         || ARRAY(SELECT 'role:' || r FROM unnest(roles) AS r) AS answers
    FROM app_user
)"""
# A department answers for breaches charged to it (unclaimed) or to one of its members; a department named only
# by unclaimed tasks answers for those.
_DEPARTMENT_ANSWERS = """(
  SELECT department, array_agg('person:' || username) || ARRAY['department:' || department] AS answers
    FROM app_user WHERE department IS NOT NULL GROUP BY department
  UNION ALL
  SELECT DISTINCT substr(c, 12), ARRAY[c] FROM g CROSS JOIN LATERAL unnest(g.charged) AS c
   WHERE c LIKE 'department:%' AND substr(c, 12) NOT IN (SELECT department FROM app_user WHERE department IS NOT NULL)
)"""


async def sla_breaches(session: AsyncSession, query: KpiQuery) -> KpiFigures:
    """Breaches in the period by task kind; for a person, also how many came while the task was unclaimed.

    A breach is charged to the user who held the task, or (unclaimed) to each of its candidates.
    """
    sql = f"""
    WITH g AS ({_BREACH_GROUPS})
    SELECT g.kind, g.responsible = CAST(:person AS text) AS direct, sum(g.n)::int
      FROM g
     WHERE (CAST(:person AS text) IS NULL
            OR g.charged && (SELECT answers FROM {_USER_ANSWERS} AS u WHERE u.username = CAST(:person AS text))
            OR g.responsible = CAST(:person AS text))
       AND (CAST(:department AS text) IS NULL
            OR g.charged && (SELECT answers FROM {_DEPARTMENT_ANSWERS} AS d
                              WHERE d.department = CAST(:department AS text)))
     GROUP BY g.kind, direct
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
    # Matched by equal charges (hash joins) and counted once per group and person, rather than by testing every
    # group's charges against every person's answers (`&&`): 200 people × a month's groups took 100-200 ms.
    sql = f"""
    WITH g AS (SELECT row_number() OVER () AS id, grouped.* FROM ({_BREACH_GROUPS}) AS grouped),
         a AS (SELECT u.username, answer FROM {_USER_ANSWERS} AS u CROSS JOIN LATERAL unnest(u.answers) AS answer),
         m AS (SELECT DISTINCT g.id, a.username FROM g CROSS JOIN LATERAL unnest(g.charged) AS c JOIN a ON a.answer = c)
    SELECT m.username, sum(g.n)::int, (sum(g.n) FILTER (WHERE g.responsible <> m.username))::int
      FROM m JOIN g ON g.id = m.id
     GROUP BY m.username ORDER BY 2 DESC, m.username
    """
    return [(name, n, unclaimed or 0) for name, n, unclaimed in await session.execute(text(sql), _params(query))]


async def breaches_by_department(session: AsyncSession, query: KpiQuery) -> list[tuple[str, int, int]]:
    """(department, breaches, of which unclaimed) for every department charged with a breach in scope, most first."""
    sql = f"""
    WITH g AS ({_BREACH_GROUPS})
    SELECT d.department, sum(g.n)::int,
           (sum(g.n) FILTER (WHERE ('department:' || d.department) = ANY (g.charged)))::int
      FROM g JOIN {_DEPARTMENT_ANSWERS} AS d ON d.answers && g.charged
     GROUP BY d.department ORDER BY 2 DESC, d.department
    """
    return [(name, n, unclaimed or 0) for name, n, unclaimed in await session.execute(text(sql), _params(query))]


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
    "fault_handling_timeliness": _timeliness("resolution", faults_only=True),
    "resource_check_timeliness": resource_check_timeliness,
    "activation_timeliness": activation_timeliness,
    "report_timeliness": report_timeliness,
    "activation_cycle_time": activation_cycle_time,
    "sla_breaches": sla_breaches,
    "satisfaction_rate": satisfaction_rate,
    "second_followup_timeliness": second_followup_timeliness,
    "complaint_callback_rate": complaint_callback_rate,
    "complaint_completion_48h": complaint_completion_48h,
    "quality_score": quality_score,
    "staff_evaluation": staff_evaluation,
    "reopen_rate": reopen_rate,
    "callback_rate": callback_rate,
}


async def figures(session: AsyncSession, name: str, query: KpiQuery) -> KpiFigures:
    """The counts of one KPI for a query."""
    return await FIGURES[name](session, query)


def _definitions(spec: dict[str, Any]) -> tuple[KpiDefinition, ...]:
    return tuple(definitions(KpiTargets.model_validate(spec)))


async def latest_definitions(session: AsyncSession) -> tuple[KpiDefinition, ...]:
    """The catalogue with the newest published targets applied; the document is read and checked once per version
    (each call only asks which version is the newest, so one published by another API process counts at once)."""
    published = await latest_parsed(session, KpiTargetsVersion, KPI_TARGETS_NAME, _definitions)
    return CATALOGUE if published is None else published
