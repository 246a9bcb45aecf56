"""Report routes: the reports with their due dates and timeliness, their files, starting a fault or quarterly report,
and the report policy (who owes which report, by when)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field

from api.deps import GatewayDep, SessionDep, require_roles
from api.platform.versioned import only_document, versioned_router
from api.reports.service import NoReportPolicy, start_fault_report, start_quarterly_report
from api.schemas import Offset
from core.reports import REPORT_POLICY_NAME, ReportKind, ReportPolicy, ReportStatus
from core.roles import Actor, Role
from db import reports
from db.models import ReportPolicyVersion, ReportRow

# Supervisors write and approve reports, coordinators read them, auditors and admins read everything.
ReportReader = Annotated[Actor, Depends(require_roles(Role.SUPERVISOR, Role.COORDINATOR, Role.AUDITOR, Role.ADMIN))]
ReportStarter = Annotated[Actor, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]

router = APIRouter(prefix="/api/reports", tags=["reports"])


class ReportFileView(BaseModel):
    """A published file of a report, and where to download it."""

    format: str
    filename: str
    media_type: str
    size: int
    sha256: str
    href: str


class ReportView(BaseModel):
    """A report: what it is, when it is due, whether it came in time, and its sections."""

    report_id: str
    kind: ReportKind
    title: str
    status: ReportStatus
    customer_id: str | None
    fault_ref: str | None
    period_start: datetime | None
    period_end: datetime | None
    opened_at: datetime
    due_at: datetime
    done_at: datetime | None
    on_time: bool | None
    sections: dict[str, Any] | None = None  # the whole report: on a single report's page only
    files: list[ReportFileView] = []


def _view(row: ReportRow, *, files: list[ReportFileView] | None = None, whole: bool = False) -> ReportView:
    return ReportView(
        report_id=row.report_id,
        kind=ReportKind(row.kind),
        title=row.title,
        status=ReportStatus(row.status),
        customer_id=row.customer_id,
        fault_ref=row.fault_ref,
        period_start=row.period_start,
        period_end=row.period_end,
        opened_at=row.opened_at,
        due_at=row.due_at,
        done_at=row.done_at,
        on_time=row.on_time,
        sections=row.sections if whole else None,
        files=files or [],
    )


@router.get("", response_model=list[ReportView], summary="Reports, the latest due first")
async def list_reports(
    actor: ReportReader,
    session: SessionDep,
    kind: ReportKind | None = None,
    status_: Annotated[ReportStatus | None, Query(alias="status")] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[ReportView]:
    """Every report of a kind, status or customer, with its due date and timeliness."""
    rows = await reports.listing(
        session,
        kind=kind.value if kind else None,
        status=status_.value if status_ else None,
        customer=customer,
        limit=limit,
        offset=offset,
    )
    return [_view(row) for row in rows]


@router.get("/{report_id}", response_model=ReportView, summary="One report with its sections and files")
async def get_report(report_id: str, actor: ReportReader, session: SessionDep) -> ReportView:
    """The report as its workflow last wrote it, and the files it was published as."""
    row = await reports.get(session, report_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"report {report_id} does not exist")
    files = [
        ReportFileView(
            format=f.format,
            filename=f.filename,
            media_type=f.media_type,
            size=f.size,
            sha256=f.sha256,
            href=f"/api/reports/{report_id}/files/{f.format}",
        )
        for f in await reports.files_of(session, report_id)
    ]
    return _view(row, files=files, whole=True)


@router.get(
    "/{report_id}/files/{fmt}",
    summary="Download a published report file (pdf or xlsx)",
    responses={200: {"content": {m: {} for m in reports.MEDIA_TYPES.values()}}},
)
async def download_report_file(report_id: str, fmt: str, actor: ReportReader, session: SessionDep) -> Response:
    """The file as it was published."""
    if fmt not in reports.MEDIA_TYPES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"format: one of {', '.join(reports.MEDIA_TYPES)}")
    found = await reports.file_of(session, report_id, fmt)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"report {report_id} has no {fmt} file (yet)")
    return Response(
        found.content,
        media_type=found.media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}"},
    )


class FaultReportStart(BaseModel):
    """A major fault whose report is owed."""

    fault_ref: str = Field(min_length=1, max_length=40, description="the fault's (incident's) reference")
    occurred_at: datetime
    summary: str = Field(min_length=1, max_length=200)


class QuarterlyReportStart(BaseModel):
    """A quarter whose report is to be drafted now."""

    year: int = Field(ge=2000, le=2999)
    quarter: int = Field(ge=1, le=4)


class ReportStarted(BaseModel):
    """The report a start refers to; `started` false when it existed already."""

    report_id: str
    started: bool


def _refused(err: Exception) -> HTTPException:
    if isinstance(err, NoReportPolicy):
        return HTTPException(status.HTTP_409_CONFLICT, str(err))
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(err))


@router.post("/fault", response_model=ReportStarted, status_code=status.HTTP_202_ACCEPTED, summary="Owe a fault report")
async def owe_fault_report(
    body: FaultReportStart, actor: ReportStarter, session: SessionDep, gateway: GatewayDep
) -> ReportStarted:
    """Start the report a major fault owes (once per fault): a task due the policy's time after the fault."""
    try:
        report_id, started = await start_fault_report(
            gateway, session, fault_ref=body.fault_ref, occurred_at=body.occurred_at, summary=body.summary
        )
    except (ValueError, NoReportPolicy) as err:
        raise _refused(err) from None
    return ReportStarted(report_id=report_id, started=started)


@router.post(
    "/quarterly", response_model=ReportStarted, status_code=status.HTTP_202_ACCEPTED, summary="Draft a quarter's report"
)
async def draft_quarterly_report(
    body: QuarterlyReportStart, actor: ReportStarter, session: SessionDep, gateway: GatewayDep
) -> ReportStarted:
    """Start a quarter's report now (once per quarter; the scheduler does it at the quarter's end)."""
    try:
        report_id, started = await start_quarterly_report(gateway, session, year=body.year, quarter=body.quarter)
    except (ValueError, NoReportPolicy) as err:
        raise _refused(err) from None
    return ReportStarted(report_id=report_id, started=started)


policies = versioned_router(
    prefix="/api/report-policies",
    tag="report-policies",
    table=ReportPolicyVersion,
    model=ReportPolicy,
    noun="report policy",
    review=only_document(REPORT_POLICY_NAME, "report policies"),
)
