"""KPI routes: the definitions with their targets, one KPI's figures over a period, and the targets document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel

from api.deps import SessionDep, SettingsDep, require_roles
from api.kpis.export import EXPORT_RESPONSES, ExportFormat, table_file
from api.platform.versioned import only_document, versioned_router
from core.kpis import (
    BY_NAME,
    KPI_TARGETS_NAME,
    KpiAnswer,
    KpiDefinition,
    KpiFilter,
    KpiQuery,
    KpiTargets,
    judge,
    local_period,
    refuse_filters,
)
from core.roles import Actor, Role
from core.sla import Priority
from db import kpis as kpi_figures
from db.models import KpiTargetsVersion
from infra.settings import Settings

# Supervisors, auditors and admins see every figure; coordinators own the check and activation KPIs.
MEASURERS = (Role.SUPERVISOR, Role.COORDINATOR, Role.AUDITOR, Role.ADMIN)
# Department staff and heads see their own department's figures only.
Measurer = Annotated[Actor, Depends(require_roles(*MEASURERS, Role.DEPARTMENT))]
Overseer = Annotated[Actor, Depends(require_roles(*MEASURERS))]


def _own_department(actor: Actor, department: str | None) -> str | None:
    """The department a department-only reader is held to; 403 for another one or none."""
    if actor.has_role(*MEASURERS):
        return department
    if actor.department is None or department not in (None, actor.department):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "department staff see their own department's KPIs only")
    return actor.department


router = APIRouter(prefix="/api/kpis", tags=["kpis"])


def _refuse(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


def _day(field: str, value: str | None) -> date:
    if value is None:
        raise _refuse(f"{field}: required, a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refuse(f"{field}: a date YYYY-MM-DD in the center's time zone") from None


def _text(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip() or len(value) > 64:
        raise _refuse(f"{field}: 1 to 64 characters")
    return value


def _priority(value: str | None) -> Priority | None:
    if value is not None and value not in set(Priority):
        raise _refuse(f"priority: one of {', '.join(Priority)}")
    return Priority(value) if value else None


def _period(settings: Settings, first: str | None, last: str | None) -> tuple[datetime, datetime]:
    try:
        return local_period(_day("from", first), _day("to", last), ZoneInfo(settings.default_timezone))
    except ValueError as err:
        raise _refuse(str(err)) from None


@router.get(
    "",
    response_model=list[KpiDefinition],
    summary="The KPIs: what each counts, its filters and target",
    responses=EXPORT_RESPONSES,
)
async def list_kpis(actor: Measurer, session: SessionDep, export: ExportFormat) -> Any:
    """Every KPI with the targets and owners currently published (`format=csv|xlsx`: as a file)."""
    kpis = await kpi_figures.latest_definitions(session)
    return table_file(export, kpis, "kpis") if export else kpis


@router.get("/{name}", response_model=KpiAnswer, summary="One KPI over a period", responses=EXPORT_RESPONSES)
async def kpi(
    name: str,
    actor: Measurer,
    session: SessionDep,
    settings: SettingsDep,
    export: ExportFormat,
    from_: Annotated[str | None, Query(alias="from", description="first local day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="last local day (inclusive), YYYY-MM-DD")] = None,
    department: str | None = None,
    person: str | None = None,
    customer: str | None = None,
    priority: str | None = None,
) -> Any:
    """Value, numerator, denominator and target over whole local days `from`..`to`, optionally narrowed
    (`format=csv|xlsx`: as a file)."""
    if name not in BY_NAME:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"KPI {name} does not exist (known: {', '.join(BY_NAME)})")
    start, end = _period(settings, from_, to)
    query = KpiQuery(
        start=start,
        end=end,
        department=_own_department(actor, _text("department", department)),
        person=_text("person", person),
        customer=_text("customer", customer),
        priority=_priority(priority),
    )
    [definition] = [k for k in await kpi_figures.latest_definitions(session) if k.name == name]
    if not actor.has_role(*MEASURERS) and KpiFilter.DEPARTMENT not in definition.filters:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{name} is not measured per department")
    try:
        refuse_filters(definition, query)
    except ValueError as err:
        raise _refuse(str(err)) from None
    answer = judge(definition, query, await kpi_figures.figures(session, name, query))
    return table_file(export, [answer], name) if export else answer


class BreachShare(BaseModel):
    """One person's or department's breaches in a period; `unclaimed`: of those, the ones charged as a candidate."""

    who: str
    breaches: int
    unclaimed: int


class BreachBreakdown(BaseModel):
    """Breaches per person or per department over a period."""

    by: Literal["person", "department"]
    start: datetime
    end: datetime
    items: list[BreachShare]


@router.get(
    "/sla_breaches/breakdown",
    response_model=BreachBreakdown,
    summary="Breaches per person or department",
    responses=EXPORT_RESPONSES,
)
async def breach_breakdown(
    actor: Overseer,
    session: SessionDep,
    settings: SettingsDep,
    export: ExportFormat,
    by: str | None = None,
    from_: Annotated[str | None, Query(alias="from", description="first local day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="last local day (inclusive), YYYY-MM-DD")] = None,
    customer: str | None = None,
    priority: str | None = None,
) -> Any:
    """Everyone charged with a breach, most first; an unclaimed task's breach counts for each of its candidates
    (`format=csv|xlsx`: the items as a file)."""
    if by not in ("person", "department"):
        raise _refuse("by: person or department")
    start, end = _period(settings, from_, to)
    query = KpiQuery(start=start, end=end, customer=_text("customer", customer), priority=_priority(priority))
    rows = await (kpi_figures.breaches_by_person if by == "person" else kpi_figures.breaches_by_department)(
        session, query
    )
    items = [BreachShare(who=who, breaches=n, unclaimed=unclaimed) for who, n, unclaimed in rows]
    if export:
        return table_file(export, items, f"sla_breaches_by_{by}")
    return BreachBreakdown(by=by, start=start, end=end, items=items)


targets = versioned_router(
    prefix="/api/kpi-targets",
    tag="kpi-targets",
    table=KpiTargetsVersion,
    model=KpiTargets,
    noun="KPI targets",
    review=only_document(KPI_TARGETS_NAME, "KPI targets"),
)
