"""Report obligations (DOMAIN.md §6): the operation, fault and quarterly reports, their due dates and contents.

Pure and deterministic: workflows import it through the sandbox pass-through. Who owes which report and how
long they have is the report policy, a versioned document (`ReportPolicy`, /api/report-policies/center).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.calendar import Budget
from core.records import PolicyRef
from core.roles import Role

REPORT_POLICY_NAME = "center"
MAX_SECTION_CHARS = 20_000
MAX_TYPICAL_CASES = 5


class ReportKind(StrEnum):
    """The three reports the center owes."""

    OPERATION = "operation"  # 运行报告: monthly, per major customer
    FAULT = "fault"  # 故障报告: after every major fault
    QUARTERLY = "quarterly"  # 季度报告


TITLES = {ReportKind.OPERATION: "运行报告", ReportKind.FAULT: "故障报告", ReportKind.QUARTERLY: "季度报告"}


class ReportStatus(StrEnum):
    """Life of a report."""

    OPEN = "open"  # waiting for its writer
    DRAFTING = "drafting"  # the quarterly figures are being gathered
    WRITING = "writing"  # people write their sections
    APPROVAL = "approval"  # waiting for the center manager's approval
    APPROVED = "approved"  # approved, its files being rendered
    SUBMITTED = "submitted"  # an operation or fault report handed in
    PUBLISHED = "published"  # the quarterly report's files are out


DONE_STATUSES = (ReportStatus.SUBMITTED, ReportStatus.PUBLISHED)


class ReportPolicy(BaseModel):
    """Who owes which report and by when: a versioned, admin-edited document."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    version: int = 1
    major_customers: dict[str, str] = Field(default_factory=dict)  # customer id -> name: one operation report each
    operation_due: Budget = Budget(amount=5, unit="working_days")  # after the month's end
    fault_due: Budget = Budget(amount=24, unit="hours")  # after the fault
    quarterly_due: Budget = Budget(amount=10, unit="working_days")  # after the quarter's end
    writer_role: Role = Role.SUPERVISOR  # writes the operation and fault reports and the quarterly sections
    manager_role: Role = Role.SUPERVISOR  # the center manager: picks the typical cases, approves the quarterly report

    @field_validator("major_customers")
    @classmethod
    def _ids(cls, value: dict[str, str]) -> dict[str, str]:
        for customer_id, name in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", customer_id):
                raise ValueError(f"major_customers: {customer_id!r} is not a customer id")
            if not name.strip() or len(name) > 200:
                raise ValueError(f"major_customers.{customer_id}: a name of 1 to 200 characters")
        return value


def default_report_policy() -> ReportPolicy:
    """Version 1 of the center's report policy (the demo's major customer)."""
    return ReportPolicy(name=REPORT_POLICY_NAME, major_customers={"C-1001": "华信物流有限公司"})


# ---- periods ---------------------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def next_month_start(after: datetime, timezone: str) -> datetime:
    """The first local midnight of a month strictly after `after` (the end of the month it falls in)."""
    local = after.astimezone(ZoneInfo(timezone))
    return datetime.combine(next_month(local.date()), time(), ZoneInfo(timezone))


def month_before(boundary: datetime, timezone: str) -> date:
    """The first day of the local month that ends at `boundary` (a local midnight starting a month)."""
    local = (boundary - timedelta(days=1)).astimezone(ZoneInfo(timezone)).date()
    return month_start(local)


def quarter_of(day: date) -> tuple[int, int]:
    """(year, quarter 1-4) of a day."""
    return day.year, (day.month - 1) // 3 + 1


def quarter_span(year: int, quarter: int, timezone: str) -> tuple[datetime, datetime]:
    """The instants [start, end) of a calendar quarter in the calendar's time zone."""
    if not 1 <= quarter <= 4:
        raise ValueError(f"quarter: 1 to 4, not {quarter}")
    zone = ZoneInfo(timezone)
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return datetime.combine(first, time(), zone), datetime.combine(last, time(), zone)


def quarter_months(year: int, quarter: int) -> list[date]:
    """The first days of a quarter's three months."""
    return [date(year, 3 * quarter - 2 + i, 1) for i in range(3)]


def ends_quarter(month: date) -> bool:
    """True for the last month of a quarter."""
    return month.month % 3 == 0


def operation_report_id(customer_id: str, month: date) -> str:
    """The id (and workflow id) of a customer's operation report for a month."""
    return f"report-operation-{customer_id}-{month:%Y-%m}"


def fault_report_id(fault_ref: str) -> str:
    """The id (and workflow id) of a fault's report."""
    return f"report-fault-{fault_ref}"


def quarterly_report_id(year: int, quarter: int) -> str:
    """The id (and workflow id) of a quarter's report."""
    return f"report-quarterly-{year}Q{quarter}"


def quarter_label(year: int, quarter: int) -> str:
    """How a quarter is written in the report: 2026年第4季度."""
    return f"{year}年第{quarter}季度"


# ---- workflow inputs and records -----------------------------------------------------------------------------


class ObligationInput(BaseModel):
    """Start of an operation or fault report: one human task, due `due` after `anchor` on the calendar."""

    model_config = ConfigDict(frozen=True)

    report_id: str = Field(min_length=1, max_length=100)
    kind: ReportKind
    title: str = Field(min_length=1, max_length=300)
    anchor: datetime  # the month's end, or the fault's time
    due: Budget
    writer_role: Role
    customer_id: str | None = None
    fault_ref: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    policy: PolicyRef = Field(default_factory=PolicyRef)


class QuarterlyInput(BaseModel):
    """Start of a quarter's report."""

    model_config = ConfigDict(frozen=True)

    year: int = Field(ge=2000, le=2999)
    quarter: int = Field(ge=1, le=4)
    due: Budget
    writer_role: Role
    manager_role: Role
    policy: PolicyRef = Field(default_factory=PolicyRef)

    @property
    def report_id(self) -> str:
        """This quarter's report id."""
        return quarterly_report_id(self.year, self.quarter)


class SchedulerState(BaseModel):
    """The report scheduler's state, carried across continue-as-new."""

    model_config = ConfigDict(frozen=True)

    rounds_per_run: int = Field(default=12, ge=1, le=120)
    policy: PolicyRef = Field(default_factory=PolicyRef)
    fired: tuple[str, ...] = ()  # the last month ends it acted on (YYYY-MM), newest last


class ReportRecord(BaseModel):
    """A report's state as its workflow writes it to the read model (`sections` merge into the stored ones)."""

    report_id: str
    workflow_id: str
    kind: ReportKind
    title: str
    status: ReportStatus
    customer_id: str | None = None
    fault_ref: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    opened_at: datetime
    due_at: datetime
    done_at: datetime | None = None
    on_time: bool | None = None
    sections: dict[str, Any] = Field(default_factory=dict)
    revision: int = 0


class QuarterSpan(BaseModel):
    """What the quarterly draft activity needs: the report and its period."""

    report_id: str
    year: int
    quarter: int
    start: datetime
    end: datetime
    timezone: str


class QuarterlyDraft(BaseModel):
    """What the draft activity hands back to the workflow: the knowledge-base cases the manager may pick from."""

    case_candidates: tuple[str, ...] = ()


class RenderResult(BaseModel):
    """The files a report was published as."""

    report_id: str
    files: tuple[str, ...]  # formats, e.g. ("pdf", "xlsx")
    published_at: datetime


def text_field(data: dict[str, Any], field: str) -> str:
    """A required free-text field of a task's decision data; ValueError naming it when missing or too long."""
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"data.{field}: required text")
    if len(value) > MAX_SECTION_CHARS:
        raise ValueError(f"data.{field}: at most {MAX_SECTION_CHARS} characters")
    return value.strip()


def picked_cases(data: dict[str, Any], offered: tuple[str, ...]) -> list[str]:
    """The typical cases the center manager picked: 1 to 5 of the offered ticket numbers (none when none offered)."""
    cases = data.get("cases")
    if not isinstance(cases, list) or not all(isinstance(c, str) for c in cases):
        raise ValueError("data.cases: a list of ticket numbers from the knowledge base")
    if len(set(cases)) != len(cases):
        raise ValueError("data.cases: a ticket is picked once")
    unknown = [c for c in cases if c not in offered]
    if unknown:
        raise ValueError(f"data.cases: {unknown[0]} is not a closed ticket of this quarter in the knowledge base")
    if offered and not 1 <= len(cases) <= MAX_TYPICAL_CASES:
        raise ValueError(f"data.cases: pick 1 to {MAX_TYPICAL_CASES} typical cases")
    return cases


# Every report task kind and the `data` keys its decision must carry (the API's completion hint shows them).
CASES_TASK = "report_typical_cases"
WRITTEN_SECTIONS = {"report_problems": ("problems", "suggestions"), "report_plan": ("plan",)}
TASK_DATA: dict[str, tuple[str, ...]] = {
    "operation_report": ("content",),
    "fault_report": ("content",),
    CASES_TASK: ("cases",),
    **WRITTEN_SECTIONS,
}

# Activities and workflow types, by name (workflow modules never import database code).
LOAD_REPORT_POLICY = "load_report_policy"
RECORD_REPORT = "record_report"
DRAFT_QUARTERLY_REPORT = "draft_quarterly_report"
PUBLISH_QUARTERLY_REPORT = "publish_quarterly_report"
OBLIGATION_WORKFLOW = "ReportObligation"
QUARTERLY_WORKFLOW = "QuarterlyReport"
SCHEDULER_WORKFLOW = "ReportScheduler"

FAULT_REF_PATTERN = r"[A-Za-z0-9_.:-]{1,40}"


def operation_report_input(policy: ReportPolicy, customer_id: str, month: date, timezone: str) -> ObligationInput:
    """A major customer's operation report for a month: due `operation_due` after the month's end."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(month_start(month), time(), zone)
    end = datetime.combine(next_month(month), time(), zone)
    name = policy.major_customers.get(customer_id, customer_id)
    return ObligationInput(
        report_id=operation_report_id(customer_id, month),
        kind=ReportKind.OPERATION,
        title=f"{name} {month.year}年{month.month}月{TITLES[ReportKind.OPERATION]}",
        anchor=end,
        due=policy.operation_due,
        writer_role=policy.writer_role,
        customer_id=customer_id,
        period_start=start,
        period_end=end,
    )


def fault_report_input(policy: ReportPolicy, fault_ref: str, occurred_at: datetime, summary: str) -> ObligationInput:
    """The report on a major fault: due `fault_due` after the fault; ValueError for a malformed reference."""
    if not re.fullmatch(FAULT_REF_PATTERN, fault_ref):
        raise ValueError("fault_ref: 1 to 40 letters, digits or . _ : -")
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at: a time with its offset")
    if not summary.strip() or len(summary) > 200:
        raise ValueError("summary: 1 to 200 characters")
    return ObligationInput(
        report_id=fault_report_id(fault_ref),
        kind=ReportKind.FAULT,
        title=f"{TITLES[ReportKind.FAULT]}：{summary.strip()}",
        anchor=occurred_at,
        due=policy.fault_due,
        writer_role=policy.writer_role,
        fault_ref=fault_ref,
    )


def quarterly_input(policy: ReportPolicy, year: int, quarter: int) -> QuarterlyInput:
    """A quarter's report: due `quarterly_due` after the quarter's end."""
    return QuarterlyInput(
        year=year,
        quarter=quarter,
        due=policy.quarterly_due,
        writer_role=policy.writer_role,
        manager_role=policy.manager_role,
    )
