"""Dashboards: the KPIs as charts (Apache ECharts, loaded on this page only), open tickets by status and priority,
breaches today and per day, tasks falling due in the next four hours.

The KPI figures come from the API's own KPI functions (api/kpis/routes.py: the same definitions, targets, periods
and role rules as `GET /api/kpis/{name}`); the live counts from db/dashboards.py. The page carries its chart data
as JSON (`#dashboard-data`) that static/dashboards.js draws.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response

from api.console.errors import ConsoleRoute
from api.console.pages import _gate
from api.console.rendering import gettext_for, language_of, render
from api.console.session import SignedIn
from api.deps import DbDep, SessionDep, SettingsDep
from api.kpis import routes as kpis
from api.tasks.routes import task_view
from core.kpis import BY_NAME, CATALOGUE, KpiAnswer
from core.sla import Priority
from core.tickets import TicketStatus
from db import dashboards as counts
from db.models import utcnow
from infra.settings import Settings

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PERIODS = (7, 30, 90)  # days ending today, to choose from
TREND_DAYS = 14
DUE_SOON = timedelta(hours=4)
_DUE_LIST = 20


async def _kpi(
    name: str, user: SignedIn, session: SessionDep, settings: Settings, first: date, last: date
) -> KpiAnswer:
    answer: KpiAnswer = await kpis.kpi(
        name, user.actor, session, settings, None, from_=first.isoformat(), to=last.isoformat()
    )
    return answer


def _today(settings: Settings) -> date:
    return utcnow().astimezone(ZoneInfo(settings.default_timezone)).date()


async def dashboard_data(
    user: SignedIn, session: SessionDep, settings: Settings, days: int, language: str
) -> dict[str, Any]:
    """Everything the charts draw, worded in the page's language (the series names and axis labels)."""
    _ = gettext_for(language)
    today = _today(settings)
    first = today - timedelta(days=days - 1)
    answers = [await _kpi(k.name, user, session, settings, first, today) for k in CATALOGUE]
    rates = [a for a in answers if BY_NAME[a.name].is_rate]
    trend_days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    trend = [await _kpi("sla_breaches", user, session, settings, d, d) for d in trend_days]
    by_department = await kpis.breach_breakdown(
        user.actor, session, settings, None, by="department", from_=first.isoformat(), to=today.isoformat()
    )
    tickets = await counts.open_tickets_by_status_priority(session)
    statuses = [s.value for s in TicketStatus if s.value not in counts.FINISHED]
    priorities = [p.value for p in Priority]
    now = utcnow()
    due_rows = [task_view(r) for r in await counts.open_tasks_due_between(session, now, now + DUE_SOON, _DUE_LIST)]
    due_total = await counts.count_open_tasks_due_between(session, now, now + DUE_SOON)
    hours = [now + timedelta(hours=h) for h in range(4)]
    due_by_hour = [
        await counts.count_open_tasks_due_between(session, start, start + timedelta(hours=1)) for start in hours
    ]

    def percent(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 1)

    return {
        "period": {"from": first.isoformat(), "to": today.isoformat(), "days": days},
        "kpis": {
            "names": [_(a.title) for a in rates],
            "keys": [a.name for a in rates],
            "values": [percent(a.value) for a in rates],
            "targets": [percent(a.target) for a in rates],
            "met": [a.met for a in rates],
            "counts": [f"{a.numerator}/{a.denominator}" for a in rates],
            "series": [_("Value"), _("Target")],
        },
        "breaches": {
            "days": [d.strftime("%m-%d") for d in trend_days],
            "values": [int(a.numerator) for a in trend],
            "today": int(trend[-1].numerator),
            "period": int(next(a.numerator for a in answers if a.name == "sla_breaches")),
            "series": _("SLA breaches"),
            "departments": [s.who for s in by_department.items],
            "by_department": [s.breaches for s in by_department.items],
            "none": _("No breaches in the period."),
        },
        "tickets": {
            "statuses": [_(s) for s in statuses],
            "status_keys": statuses,
            "priorities": [_(p) for p in priorities],
            "priority_keys": priorities,
            "counts": [[sum(n for st, pr, n in tickets if st == s and pr == p) for s in statuses] for p in priorities],
            "total": sum(row[2] for row in tickets),
        },
        "due": {
            "total": due_total,
            "hours": [f"+{h}–{h + 1}h" for h in range(4)],
            "values": due_by_hour,
            "series": _("Tasks falling due"),
            "rows": due_rows,
        },
    }


@router.get("/dashboards")
async def dashboards(
    request: Request, user: SignedIn, session: SessionDep, db: DbDep, settings: SettingsDep, days: int = 30
) -> Response:
    """The dashboards of the center (supervisors, coordinators, auditors, admins: the KPI readers)."""
    await _gate(request, user, db, *kpis.MEASURERS)
    days = days if days in PERIODS else 30
    data = await dashboard_data(user, session, settings, days, language_of(request))
    due_rows = data["due"].pop("rows")
    context = {"user": user, "data": data, "due_rows": due_rows, "periods": PERIODS, "charts": True}
    return render(request, "dashboards.html", context)
