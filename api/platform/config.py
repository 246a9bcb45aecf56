"""Business calendars and SLA policies as versioned, admin-edited data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request, status

from api.deps import Admin, SessionDep
from api.platform.versioned import VersionedKind, VersionOut, only_document, publish_version, versioned_router
from core.calendar import BusinessCalendar, horizon_warnings, parse_ical_days, refuse_unpublishable
from core.circuits import circuit_type_of
from core.message_templates import MESSAGE_TEMPLATES_NAME, MessageTemplates
from core.provisioning import ProvisioningRules
from core.sla import SlaPolicy
from core.tickets import AssignmentRules
from db.models import (
    AssignmentRulesVersion,
    CalendarVersion,
    MessageTemplatesVersion,
    ProvisioningRulesVersion,
    SlaPolicyVersion,
)
from db.policies import latest_calendar

# An official holiday schedule is a few dozen events; anything this large is not one.
_ICS_MAX_BYTES = 512 * 1024


def review_calendar(calendar: BusinessCalendar, now: datetime) -> list[str]:
    """Refuse a calendar without a usable horizon; warn when it covers less than the next 12 months."""
    today = calendar.local_date(now)
    refuse_unpublishable(calendar, today)
    return horizon_warnings(calendar, today)


calendars = versioned_router(
    prefix="/api/calendars",
    tag="calendars",
    table=CalendarVersion,
    model=BusinessCalendar,
    noun="calendar",
    review=review_calendar,
)


@calendars.post(
    "/{name}/import",
    response_model=VersionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Import an official holiday schedule (iCalendar) as a new calendar version",
    openapi_extra={"requestBody": {"content": {"text/calendar": {"schema": {"type": "string"}}}}},
)
async def import_holidays(
    name: str,
    admin: Admin,
    session: SessionDep,
    request: Request,
    horizon: Annotated[date | None, Query(description="default: 31 December of the file's last year")] = None,
) -> VersionOut:
    """All-day VEVENTs become holidays (or make-up workdays when the summary says 补班/上班/workday).

    The new version keeps the latest one's time zone, weekend and working hours; for every year the file covers,
    its days replace that year's holidays and make-up workdays (so a provisional year is overwritten by the
    official notice), other years are kept. Published with the same checks and warnings as a plain publish.
    """
    raw = await request.body()
    if len(raw) > _ICS_MAX_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"ics: larger than {_ICS_MAX_BYTES // 1024} KiB")
    try:
        holidays, workdays = parse_ical_days(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "ics: the file is not UTF-8 text") from None
    except ValueError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"ics: {err}") from None
    base = await latest_calendar(session, name)
    if base is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"calendar {name} does not exist: publish it first")
    years = {d.year for d in (*holidays, *workdays)}
    spec: dict[str, Any] = base.model_dump(mode="json")
    spec["holidays"] = [d for d in base.holidays if d.year not in years] + list(holidays)
    spec["makeup_workdays"] = [d for d in base.makeup_workdays if d.year not in years] + list(workdays)
    latest_covered = date(max(years), 12, 31)
    spec["horizon"] = horizon or max(latest_covered, base.horizon or latest_covered)
    return await publish_version(
        session,
        table=CalendarVersion,
        model=BusinessCalendar,
        tag="calendars",
        noun="calendar",
        name=name,
        body=spec,
        admin=admin,
        review=review_calendar,
    )


def review_assignment_rules(rules: AssignmentRules, now: datetime) -> list[str]:
    """Refuse resource-check rules naming a circuit type outside the one vocabulary (aliases are fine)."""
    for index, rule in enumerate(rules.resource_check.rules):
        for circuit_type in rule.circuit_types:
            try:
                circuit_type_of(circuit_type)
            except ValueError as err:
                raise ValueError(f"resource_check.rules.{index}.circuit_types: {err}") from None
    return []


ASSIGNMENT_RULES = VersionedKind(
    prefix="/api/assignment-rules",
    tag="assignment-rules",
    table=AssignmentRulesVersion,
    model=AssignmentRules,
    noun="assignment rules",
    review=review_assignment_rules,
)
SLA_POLICIES = VersionedKind(
    prefix="/api/sla-policies", tag="sla-policies", table=SlaPolicyVersion, model=SlaPolicy, noun="SLA policy"
)
PROVISIONING_RULES = VersionedKind(
    prefix="/api/provisioning-rules",
    tag="provisioning-rules",
    table=ProvisioningRulesVersion,
    model=ProvisioningRules,
    noun="provisioning rules",
)
assignment_rules = ASSIGNMENT_RULES.router()
sla_policies = SLA_POLICIES.router()
provisioning_rules = PROVISIONING_RULES.router()


message_templates = versioned_router(
    prefix="/api/message-templates",
    tag="message-templates",
    table=MessageTemplatesVersion,
    model=MessageTemplates,
    noun="customer message templates",
    review=only_document(MESSAGE_TEMPLATES_NAME, "customer message templates"),
)
