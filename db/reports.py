"""Reports in the read model: the report rows and their files, the report policy, and the quarter's figures."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.contacts import mask_contacts
from core.reports import REPORT_POLICY_NAME, ReportPolicy, ReportRecord
from db.models import KnowledgeEntry, ReportFile, ReportPolicyVersion, ReportRow, utcnow
from db.policies import latest_parsed

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def latest_policy(session: AsyncSession) -> ReportPolicy | None:
    """The newest published report policy."""
    return await latest_parsed(session, ReportPolicyVersion, REPORT_POLICY_NAME, ReportPolicy.model_validate)


async def record(session: AsyncSession, report: ReportRecord) -> None:
    """Write a report's state; a higher revision wins, and its sections are merged into the stored ones."""
    values = report.model_dump(mode="json") | {"updated_at": utcnow()}
    for instant in ("period_start", "period_end", "opened_at", "due_at", "done_at"):
        values[instant] = getattr(report, instant)
    stmt = insert(ReportRow).values(**values)
    stored = stmt.table.c
    stmt = stmt.on_conflict_do_update(
        index_elements=["report_id"],
        set_={k: stmt.excluded[k] for k in values if k not in ("report_id", "sections")}
        | {"sections": stored.sections.concat(stmt.excluded.sections)},
        where=stored.revision < stmt.excluded.revision,
    )
    await session.execute(stmt)


async def merge_sections(session: AsyncSession, report_id: str, sections: dict[str, Any]) -> None:
    """Merge sections an activity computed (the quarter's figures) into a report's row."""
    await session.execute(
        text(
            "UPDATE report SET sections = sections || CAST(:sections AS jsonb), updated_at = now()"
            " WHERE report_id = :id"
        ),
        {"sections": json.dumps(sections, ensure_ascii=False, default=str), "id": report_id},
    )


async def get(session: AsyncSession, report_id: str) -> ReportRow | None:
    """One report row."""
    return await session.get(ReportRow, report_id)


async def listing(
    session: AsyncSession, *, kind: str | None, status: str | None, customer: str | None, limit: int, offset: int
) -> list[ReportRow]:
    """Reports, the latest due first."""
    query = select(ReportRow)
    if kind:
        query = query.where(col(ReportRow.kind) == kind)
    if status:
        query = query.where(col(ReportRow.status) == status)
    if customer:
        query = query.where(col(ReportRow.customer_id) == customer)
    query = query.order_by(col(ReportRow.due_at).desc(), col(ReportRow.report_id)).limit(limit).offset(offset)
    return list(await session.scalars(query))


async def store_file(session: AsyncSession, report_id: str, fmt: str, filename: str, content: bytes) -> None:
    """Store (or replace, on a retried render) one file of a report."""
    values = {
        "report_id": report_id,
        "format": fmt,
        "filename": filename,
        "media_type": MEDIA_TYPES[fmt],
        "content": content,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "created_at": utcnow(),
    }
    stmt = insert(ReportFile).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["report_id", "format"], set_={k: stmt.excluded[k] for k in values if k != "report_id"}
    )
    await session.execute(stmt)


async def files_of(session: AsyncSession, report_id: str) -> list[ReportFile]:
    """A report's files (without loading their content twice: one query)."""
    return list(
        await session.scalars(
            select(ReportFile).where(col(ReportFile.report_id) == report_id).order_by(col(ReportFile.format))
        )
    )


async def file_of(session: AsyncSession, report_id: str, fmt: str) -> ReportFile | None:
    """One file of a report."""
    return await session.scalar(
        select(ReportFile).where(col(ReportFile.report_id) == report_id, col(ReportFile.format) == fmt)
    )


# ---- the quarter's figures (the quarterly report's automatic sections) --------------------------------------------


async def _rows(session: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in await session.execute(text(sql), params)]


async def quarter_facts(session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    """The quarter's response system, customers, services delivered, projects supported and work done."""
    p = {"start": start, "end": end}
    staff = await _rows(
        session,
        """SELECT r AS role, count(*) AS people FROM app_user, unnest(roles) AS r
            WHERE active GROUP BY r ORDER BY count(*) DESC, r""",
    )
    departments = await _rows(
        session,
        """SELECT department, count(*) AS people FROM app_user WHERE active AND department IS NOT NULL
            GROUP BY department ORDER BY department""",
    )
    customers = await _rows(
        session,
        """WITH facts AS (
             SELECT customer_id, customer_name, 1 AS tickets, 0 AS checks, 0 AS orders FROM ticket
              WHERE created_at >= :start AND created_at < :end AND customer_id IS NOT NULL
             UNION ALL
             SELECT customer_id, customer_name, 0, 1, 0 FROM resource_check_ledger
              WHERE finished_at >= :start AND finished_at < :end
             UNION ALL
             SELECT o.customer_id, NULL, 0, 0, 1 FROM service_order o
              WHERE o.created_at >= :start AND o.created_at < :end AND o.customer_id IS NOT NULL)
           SELECT customer_id, max(customer_name) AS customer_name, sum(tickets)::int AS tickets,
                  sum(checks)::int AS checks, sum(orders)::int AS orders
             FROM facts GROUP BY customer_id ORDER BY sum(tickets + checks + orders) DESC, customer_id LIMIT 20""",
        **p,
    )
    tickets = await _rows(
        session,
        """SELECT COALESCE(priority, '-') AS priority, count(*) AS registered,
                  count(*) FILTER (WHERE resolved_at IS NOT NULL) AS resolved,
                  count(*) FILTER (WHERE closed_at IS NOT NULL) AS closed,
                  count(*) FILTER (WHERE complaint_type IS NOT NULL) AS complaints
             FROM ticket WHERE created_at >= :start AND created_at < :end
            GROUP BY priority ORDER BY priority""",
        **p,
    )
    checks = await _rows(
        session,
        """SELECT COALESCE(feasibility, outcome) AS result, count(*) AS checks,
                  count(*) FILTER (WHERE on_time) AS on_time
             FROM resource_check_ledger WHERE finished_at >= :start AND finished_at < :end
            GROUP BY COALESCE(feasibility, outcome) ORDER BY 1""",
        **p,
    )
    circuits = await _rows(
        session,
        """SELECT o.circuit_type, count(*) AS completed, count(*) FILTER (WHERE c.on_time) AS on_time
             FROM circuit_ledger c JOIN service_order o ON o.order_id = c.order_id
            WHERE c.completed_at >= :start AND c.completed_at < :end
            GROUP BY o.circuit_type ORDER BY o.circuit_type""",
        **p,
    )
    demands = await _rows(
        session,
        """SELECT status, count(*) AS demands FROM presales_demand
            WHERE created_at >= :start AND created_at < :end GROUP BY status ORDER BY status""",
        **p,
    )
    orders = await _rows(
        session,
        """SELECT status, count(*) AS orders FROM service_order
            WHERE created_at >= :start AND created_at < :end GROUP BY status ORDER BY status""",
        **p,
    )
    work = await _rows(
        session,
        """SELECT t.kind, count(*) AS done, count(b.key) AS late
             FROM human_task t LEFT JOIN sla_breach b ON b.task_id = t.task_id AND b.breached_at <= t.decided_at
            WHERE t.status = 'done' AND t.decided_at >= :start AND t.decided_at < :end
            GROUP BY t.kind ORDER BY count(*) DESC, t.kind LIMIT 15""",
        **p,
    )
    return {
        "system": {"staff": staff, "departments": departments},
        "customers": customers,
        "services": {"tickets": tickets, "checks": checks, "circuits": circuits},
        "projects": {"demands": demands, "orders": orders},
        "work": work,
    }


async def case_candidates(session: AsyncSession, start: datetime, end: datetime, *, limit: int = 50) -> list[str]:
    """Tickets of the knowledge base closed in the period: what the center manager picks typical cases from."""
    rows = await session.scalars(
        select(col(KnowledgeEntry.ticket_no))
        .where(col(KnowledgeEntry.closed_at) >= start, col(KnowledgeEntry.closed_at) < end)
        .order_by(col(KnowledgeEntry.closed_at).desc())
        .limit(limit)
    )
    return list(rows)


async def typical_cases(session: AsyncSession, ticket_nos: list[str]) -> list[dict[str, Any]]:
    """The picked cases as the report prints them, contacts in their texts masked."""
    rows = await session.scalars(select(KnowledgeEntry).where(col(KnowledgeEntry.ticket_no).in_(ticket_nos)))
    by_no = {row.ticket_no: row for row in rows}
    return [
        {
            "ticket_no": no,
            "customer_name": by_no[no].customer_name,
            "categories": by_no[no].categories,
            "title": mask_contacts(by_no[no].title),
            "symptom": mask_contacts(by_no[no].symptom),
            "cause": mask_contacts(by_no[no].cause),
            "solution": mask_contacts(by_no[no].solution),
        }
        for no in ticket_nos
        if no in by_no
    ]
