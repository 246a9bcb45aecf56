"""Administration: business calendars as a month view with their version history, and publishing a new version.

Publishing goes through the API's own path (api/platform/versioned.publish_version with the calendar review of
api/platform/config.py): the same model checks, horizon refusals and warnings, the same journal row.
"""

from __future__ import annotations

import calendar as months
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from sqlalchemy import func, select
from sqlmodel import col

from api.console.errors import ConsoleRoute
from api.console.pages import _gate
from api.console.rendering import render
from api.console.session import ConsoleUser, SignedIn
from api.console.vocabulary import N_
from api.deps import DbDep, SessionDep, SettingsDep
from api.platform.config import review_calendar
from api.platform.versioned import VersionOut, publish_version
from core.calendar import BusinessCalendar
from core.roles import Role
from db.models import CalendarVersion, utcnow

router = APIRouter(prefix="/console/admin", route_class=ConsoleRoute, include_in_schema=False)

CHANGES = (N_("holiday"), N_("makeup_workday"), N_("workday"))  # what a day becomes in the new version
DAY_KINDS = (N_("holiday"), N_("makeup"), N_("weekend"), N_("workday"))
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def month_grid(cal: BusinessCalendar, year: int, month: int) -> list[list[dict[str, Any] | None]]:
    """The weeks of a month (Monday first), each day with what the calendar makes of it."""
    holidays, makeups = set(cal.holidays), set(cal.makeup_workdays)
    weeks: list[list[dict[str, Any] | None]] = []
    for week in months.Calendar(firstweekday=0).monthdatescalendar(year, month):
        row: list[dict[str, Any] | None] = []
        for day in week:
            if day.month != month:
                row.append(None)
                continue
            kind = (
                "holiday"
                if day in holidays
                else "makeup"
                if day in makeups
                else "weekend"
                if day.weekday() in cal.weekend
                else "workday"
            )
            beyond = cal.horizon is not None and day > cal.horizon
            row.append({"day": day, "kind": kind, "working": cal.is_working_day(day), "beyond": beyond})
        weeks.append(row)
    return weeks


def with_day(spec: dict[str, Any], day: date, change: str) -> dict[str, Any]:
    """The spec with `day` made a holiday, a make-up workday, or an ordinary day (taken off both lists)."""
    text = day.isoformat()
    holidays = [d for d in spec.get("holidays", []) if d != text]
    makeups = [d for d in spec.get("makeup_workdays", []) if d != text]
    if change == "holiday":
        holidays.append(text)
    elif change == "makeup_workday":
        makeups.append(text)
    return {**spec, "holidays": holidays, "makeup_workdays": makeups}


def _month_of(text: str, fallback: date) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in text.split("-", 1))
        date(year, month, 1)
    except ValueError:
        return fallback.year, fallback.month
    return year, month


def _shift(year: int, month: int, by: int) -> str:
    index = year * 12 + month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


async def _versions(session: SessionDep, name: str) -> list[CalendarVersion]:
    rows = list(
        await session.scalars(
            select(CalendarVersion)
            .where(col(CalendarVersion.name) == name)
            .order_by(col(CalendarVersion.version).desc())
        )
    )
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"calendar {name} does not exist")
    return rows


async def _calendar_page(
    request: Request,
    user: ConsoleUser,
    session: SessionDep,
    name: str,
    *,
    month: str = "",
    version: int | None = None,
    published: VersionOut | None = None,
    made: dict[str, str] | None = None,
    refusal: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows = await _versions(session, name)
    shown = next((r for r in rows if r.version == version), rows[0]) if version else rows[0]
    cal = BusinessCalendar.model_validate(shown.spec)
    year, month_no = _month_of(month, cal.local_date(utcnow()))
    return render(
        request,
        "admin_calendar.html",
        {
            "user": user,
            "name": name,
            "cal": cal,
            "shown": shown,
            "latest": rows[0],
            "versions": rows,
            "weeks": month_grid(cal, year, month_no),
            "month": f"{year:04d}-{month_no:02d}",
            "previous": _shift(year, month_no, -1),
            "next": _shift(year, month_no, 1),
            "weekdays": WEEKDAYS,
            "published": published,
            "made": made or {},
            "refusal": refusal,
            "values": values or {},
            "changes": CHANGES,
        },
        status_code=status_code,
    )


@router.get("")
async def admin_home(request: Request, user: SignedIn, db: DbDep) -> Response:
    """Administration starts at the business calendars."""
    await _gate(request, user, db, Role.ADMIN)
    return Response(status_code=303, headers={"Location": "/console/admin/calendars"})


@router.get("/calendars")
async def calendars(
    request: Request, user: SignedIn, session: SessionDep, settings: SettingsDep, db: DbDep
) -> Response:
    """Every business calendar with its latest version; the default one first."""
    await _gate(request, user, db, Role.ADMIN)
    rows = await session.execute(
        select(col(CalendarVersion.name), func.max(col(CalendarVersion.version)))
        .group_by(col(CalendarVersion.name))
        .order_by(col(CalendarVersion.name))
    )
    listed = sorted(rows, key=lambda r: (r[0] != settings.default_calendar, r[0]))
    return render(
        request, "admin_calendars.html", {"user": user, "calendars": listed, "default": settings.default_calendar}
    )


@router.get("/calendars/{name}")
async def calendar_page(
    request: Request,
    name: str,
    user: SignedIn,
    session: SessionDep,
    db: DbDep,
    month: str = "",
    version: int | None = None,
) -> Response:
    """A calendar version as a month view (weekends, holidays, make-up workdays), its history, the publish form."""
    await _gate(request, user, db, Role.ADMIN)
    return await _calendar_page(request, user, session, name, month=month, version=version)


@router.post("/calendars/{name}")
async def publish_calendar(
    request: Request,
    name: str,
    user: SignedIn,
    session: SessionDep,
    db: DbDep,
    day: Annotated[str, Form(max_length=10)] = "",
    change: Annotated[str, Form(max_length=20)] = "holiday",
    month: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    """Publish the latest version with one day changed, through the API's publishing path; refusals shown."""
    admin = await _gate(request, user, db, Role.ADMIN)
    values = {"day": day, "change": change}
    try:
        when = date.fromisoformat(day)
    except ValueError:
        return await _calendar_page(
            request,
            user,
            session,
            name,
            month=month,
            refusal="day: a date (YYYY-MM-DD) is required",
            values=values,
            status_code=422,
        )
    if change not in CHANGES:
        return await _calendar_page(
            request,
            user,
            session,
            name,
            month=month,
            refusal=f"change: one of {', '.join(CHANGES)}",
            values=values,
            status_code=422,
        )
    latest = (await _versions(session, name))[0]
    try:
        published = await publish_version(
            session,
            table=CalendarVersion,
            model=BusinessCalendar,
            tag="calendars",
            noun="calendar",
            name=name,
            body=with_day(latest.spec, when, change),
            admin=admin,
            review=review_calendar,
        )
    except HTTPException as refused:
        await session.rollback()
        return await _calendar_page(
            request,
            user,
            session,
            name,
            month=month,
            refusal=str(refused.detail),
            values=values,
            status_code=refused.status_code,
        )
    return await _calendar_page(
        request, user, session, name, month=f"{when.year:04d}-{when.month:02d}", published=published, made=values
    )
