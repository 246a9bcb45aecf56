"""Report activities: the report policy, the report read model, the quarterly draft and its published files."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.report_documents import cjk_font_installed, render_pdf, render_xlsx, report_view
from core.kpis import KpiQuery, judge, local_period
from core.reports import (
    DRAFT_QUARTERLY_REPORT,
    LOAD_REPORT_POLICY,
    PUBLISH_QUARTERLY_REPORT,
    RECORD_REPORT,
    QuarterlyDraft,
    QuarterSpan,
    RenderResult,
    ReportPolicy,
    ReportRecord,
    next_month,
    quarter_months,
)
from db import kpis as kpi_figures
from db import reports
from db.models import utcnow
from db.session import Database


class ReportActivities:
    """Activities bound to the application database; every write is idempotent."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=LOAD_REPORT_POLICY)
    async def load_report_policy(self, name: str) -> ReportPolicy:
        """The latest report policy."""
        async with self._db.session() as session:
            policy = await reports.latest_policy(session)
        if policy is None:
            raise ApplicationError(f"report policy {name} does not exist", type="PolicyMissing", non_retryable=True)
        return policy

    @activity.defn(name=RECORD_REPORT)
    async def record_report(self, report: ReportRecord) -> ReportRecord:
        """Write a report's state (a retry or an older state changes nothing)."""
        async with self._db.session() as session:
            await reports.record(session, report)
            await session.commit()
        return report  # what was written: a local activity's input is not in the history

    @activity.defn(name=DRAFT_QUARTERLY_REPORT)
    async def draft_quarterly_report(self, span: QuarterSpan) -> QuarterlyDraft:
        """Gather the quarter's figures and KPIs into the report's sections; offer the knowledge base's cases."""
        async with self._db.session() as session:
            sections: dict[str, Any] = await reports.quarter_facts(session, span.start, span.end)
            sections["kpis"] = await _kpis(session, span)
            sections["timezone"] = span.timezone
            candidates = await reports.case_candidates(session, span.start, span.end)
            await reports.merge_sections(session, span.report_id, sections)
            await session.commit()
        return QuarterlyDraft(case_candidates=tuple(candidates))

    @activity.defn(name=PUBLISH_QUARTERLY_REPORT)
    async def publish_quarterly_report(self, report_id: str) -> RenderResult:
        """Render the approved report as PDF and XLSX and store both (a retry replaces them)."""
        if not cjk_font_installed():
            raise ApplicationError(
                "no CJK font installed: Chinese would print as boxes (install fonts-noto-cjk: "
                "scripts/ensure_report_tools.sh)",
                type="FontMissing",
                non_retryable=True,
            )
        async with self._db.session() as session:
            row = await reports.get(session, report_id)
            if row is None:
                raise ApplicationError(f"report {report_id} does not exist", type="NotFound", non_retryable=True)
            report = {
                "title": row.title,
                "sections": row.sections,
                "period_start": row.period_start.isoformat() if row.period_start else None,
                "period_end": row.period_end.isoformat() if row.period_end else None,
                "due_at": row.due_at.isoformat(),
            }
            cases = await reports.typical_cases(session, list(row.sections.get("typical_cases", [])))
        view = report_view(report, cases, row.sections.get("timezone", "Asia/Shanghai"))
        pdf = await asyncio.to_thread(render_pdf, view)
        xlsx = await asyncio.to_thread(render_xlsx, view)
        async with self._db.session() as session:
            await reports.store_file(session, report_id, "pdf", f"{report_id}.pdf", pdf)
            await reports.store_file(session, report_id, "xlsx", f"{report_id}.xlsx", xlsx)
            await session.commit()
        return RenderResult(report_id=report_id, files=("pdf", "xlsx"), published_at=utcnow())


async def _kpis(session: AsyncSession, span: QuarterSpan) -> list[dict[str, Any]]:
    """Every KPI over the quarter and month by month, judged against the published targets."""
    zone = ZoneInfo(span.timezone)
    out = []
    for kpi in await kpi_figures.latest_definitions(session):
        if kpi.name not in kpi_figures.FIGURES:
            continue
        whole = KpiQuery(start=span.start, end=span.end)
        answer = judge(kpi, whole, await kpi_figures.figures(session, kpi.name, whole))
        months = []
        for first in quarter_months(span.year, span.quarter):
            start, end = local_period(first, next_month(first) - timedelta(days=1), zone)
            month = KpiQuery(start=start, end=end)
            value = judge(kpi, month, await kpi_figures.figures(session, kpi.name, month)).value
            months.append({"month": f"{first.month}月", "value": value})
        out.append(answer.model_dump(mode="json") | {"months": months})
    return out
