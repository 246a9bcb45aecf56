"""KPIs (DOMAIN.md §6) as data: what each one counts, which filters it takes, its target and owner; pure rules.

The formulas live in db/kpis.py (one SQL query per KPI, named like the KPI); the targets and owners are an
admin-edited, versioned document (`KpiTargets`, published under /api/kpi-targets).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.roles import Role
from core.sla import Priority

KPI_TARGETS_NAME = "center"
MAX_PERIOD_DAYS = 400


class KpiFilter(StrEnum):
    """A dimension a KPI can be narrowed by."""

    DEPARTMENT = "department"
    PERSON = "person"
    CUSTOMER = "customer"
    PRIORITY = "priority"


_TICKET_FILTERS = tuple(KpiFilter)
# Checks and orders have no priority; their department and person are those of their tasks.
_WORK_FILTERS = (KpiFilter.DEPARTMENT, KpiFilter.PERSON, KpiFilter.CUSTOMER)


class KpiDefinition(BaseModel):
    """One KPI: what it counts over which facts, how it is judged against its target and who owns it."""

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    numerator: str
    denominator: str | None  # None: a count, judged on the numerator alone
    period_by: str  # which instant puts a fact in a period
    filters: tuple[KpiFilter, ...]
    direction: Literal["at_least", "at_most"]
    target: float
    owner: Role
    # A mean in this unit (the numerator counted in seconds, over the denominator) rather than a rate.
    mean_unit: Literal["hours"] | None = None
    # A weighted mean of other KPIs' rates (those with something to count), rather than a rate of its own.
    components: tuple[tuple[str, float], ...] = ()

    @property
    def is_rate(self) -> bool:
        """A rate (numerator over denominator) rather than a count or a mean."""
        return self.denominator is not None and self.mean_unit is None and not self.components


def _timeliness(
    step: str, what: str, target: float, *, first_only: bool = False, cycles: str = "SLA cycles"
) -> KpiDefinition:
    cycles = f"first {cycles}" if first_only else cycles
    return KpiDefinition(
        name=f"{step}_timeliness",
        title=f"Timeliness of {what}",
        numerator=f"{cycles} whose {what} came by its deadline, with no breach recorded",
        denominator=f"{cycles} whose {what} is settled (done, or its deadline breached)",
        period_by="the SLA cycle's start (ticket registration or reopen)",
        filters=_TICKET_FILTERS,
        direction="at_least",
        target=target,
        owner=Role.SUPERVISOR,
    )


CATALOGUE: tuple[KpiDefinition, ...] = (
    _timeliness("response", "the first response (acceptance)", 0.95, first_only=True),
    _timeliness("plan", "the handling plan", 0.95),
    _timeliness("resolution", "the resolution", 0.90),
    _timeliness(
        "fault_handling", "the resolution", 0.90, cycles="SLA cycles of fault tickets (after-sales hardware/software)"
    ).model_copy(update={"title": "Fault-handling timeliness"}),
    KpiDefinition(
        name="resource_check_timeliness",
        title="Resource-check timeliness",
        numerator="finished resource checks answered on time",
        denominator="finished resource checks with a deadline (cancelled ones excluded)",
        period_by="the check's finish (ledger)",
        filters=_WORK_FILTERS,
        direction="at_least",
        target=0.95,
        owner=Role.COORDINATOR,
    ),
    KpiDefinition(
        name="activation_timeliness",
        title="Service activation timeliness",
        numerator="circuits completed by their requested completion date",
        denominator="circuits completed",
        period_by="the circuit's completion (circuit ledger)",
        filters=_WORK_FILTERS,
        direction="at_least",
        target=0.95,
        owner=Role.COORDINATOR,
    ),
    KpiDefinition(
        name="report_timeliness",
        title="Report timeliness (operation, fault and quarterly reports)",
        numerator="reports handed in (operation, fault) or published (quarterly) by their due date",
        denominator="reports handed in, published, or past their due date",
        period_by="the report's due date",
        filters=(KpiFilter.CUSTOMER,),
        direction="at_least",
        target=1.0,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="activation_cycle_time",
        title="Service activation cycle time",
        numerator="seconds from order to completion, summed over the circuits completed",
        denominator="circuits completed",
        period_by="the circuit's completion (circuit ledger)",
        filters=_WORK_FILTERS,
        direction="at_most",
        target=240,
        owner=Role.COORDINATOR,
        mean_unit="hours",
    ),
    KpiDefinition(
        name="sla_breaches",
        title="SLA breaches (timeouts)",
        numerator=(
            "missed task deadlines; per person: charged to them, or to a department or role they belonged to "
            "while the task was unclaimed; per department: charged to it or to one of its members"
        ),
        denominator=None,
        period_by="the breach",
        filters=_TICKET_FILTERS,
        direction="at_most",
        target=0,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="satisfaction_rate",
        title="Customer satisfaction rate",
        numerator="SLA cycles rated satisfied",
        denominator="SLA cycles rated (satisfied, neutral or dissatisfied)",
        period_by="the SLA cycle's start",
        filters=_TICKET_FILTERS,
        direction="at_least",
        target=0.95,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="second_followup_timeliness",
        title="Second follow-ups done on time",
        numerator="second follow-ups (after a neutral or dissatisfied rating) done by their deadline",
        denominator="second follow-ups done or past their deadline",
        period_by="the follow-up's opening; person: who holds or did it",
        filters=_TICKET_FILTERS,
        direction="at_least",
        target=0.95,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="complaint_callback_rate",
        title="Complaint callback rate",
        numerator="complaint tickets whose customer was called back (counts: on_time, within the callback deadline)",
        denominator="complaint tickets",
        period_by="the ticket's registration; person: who owes or made the callback",
        filters=_TICKET_FILTERS,
        direction="at_least",
        target=1.0,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="complaint_completion_48h",
        title="Complaints completed within 48 h",
        numerator="complaint tickets resolved within 48 hours of registration",
        denominator="complaint tickets",
        period_by="the ticket's registration",
        filters=_TICKET_FILTERS,
        direction="at_least",
        target=1.0,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="quality_score",
        title="Quality-inspection score (质检)",
        numerator="points the inspectors gave the sampled tickets (counts: reviews, passed)",
        denominator="points possible on those reviews",
        period_by="the review's scoring; person: the ticket's handler",
        filters=_TICKET_FILTERS,
        direction="at_least",
        target=0.85,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="staff_evaluation",
        title="Staff evaluation",
        numerator="components with something to count (parts: each component's rate)",
        denominator="components: quality score, satisfaction, complaints completed within 48 h",
        period_by="each component's own",
        filters=_TICKET_FILTERS,
        direction="at_least",
        target=0.85,
        owner=Role.SUPERVISOR,
        components=(("quality_score", 0.5), ("satisfaction_rate", 0.3), ("complaint_completion_48h", 0.2)),
    ),
    KpiDefinition(
        name="reopen_rate",
        title="Reopen rate",
        numerator="tickets reopened at least once",
        denominator="tickets closed at least once",
        period_by="the ticket's registration",
        filters=_TICKET_FILTERS,
        direction="at_most",
        target=0.05,
        owner=Role.SUPERVISOR,
    ),
    KpiDefinition(
        name="callback_rate",
        title="Scheduled callback rate",
        numerator="scheduled callbacks whose customer was reached and the result recorded",
        denominator="scheduled callbacks due (opened, and not ended by a stopped schedule)",
        period_by="the callback's due time",
        filters=(KpiFilter.CUSTOMER,),
        direction="at_least",
        target=0.95,
        owner=Role.SUPERVISOR,
    ),
)
BY_NAME = {k.name: k for k in CATALOGUE}


class KpiTarget(BaseModel):
    """The admin-set part of a KPI."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: float = Field(ge=0)
    owner: Role


class KpiTargets(BaseModel):
    """A versioned document of KPI targets and owners; KPIs it leaves out keep the catalogue's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    version: int = 1
    targets: dict[str, KpiTarget] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> KpiTargets:
        for name, target in self.targets.items():
            kpi = BY_NAME.get(name)
            if kpi is None:
                raise ValueError(f"targets.{name}: no such KPI (known: {', '.join(BY_NAME)})")
            if kpi.is_rate and target.target > 1:
                raise ValueError(f"targets.{name}: a rate's target is between 0 and 1")
        return self


def default_targets() -> dict[str, KpiTarget]:
    """The catalogue's targets and owners (the seed of version 1)."""
    return {k.name: KpiTarget(target=k.target, owner=k.owner) for k in CATALOGUE}


def definitions(targets: KpiTargets | None) -> list[KpiDefinition]:
    """The catalogue with the published targets and owners applied."""
    chosen = targets.targets if targets else {}
    return [k.model_copy(update=chosen[k.name].model_dump()) if k.name in chosen else k for k in CATALOGUE]


class KpiQuery(BaseModel):
    """One KPI question: a period of whole local days [start, end) and optional filters."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    department: str | None = None
    person: str | None = None
    customer: str | None = None
    priority: Priority | None = None

    def given(self) -> set[KpiFilter]:
        """The filters this query narrows by."""
        return {f for f in KpiFilter if getattr(self, f.value) is not None}


def local_period(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants [start, end) covering local days `first` to `last` inclusive; ValueError when malformed."""
    if last < first:
        raise ValueError("to: must not be before from")
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise ValueError(f"to: a period spans at most {MAX_PERIOD_DAYS} days")
    return datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)


def refuse_filters(kpi: KpiDefinition, query: KpiQuery) -> None:
    """ValueError naming a filter this KPI cannot be narrowed by."""
    unsupported = sorted(query.given() - set(kpi.filters))
    if unsupported:
        allowed = ", ".join(kpi.filters) or "none"
        raise ValueError(f"{unsupported[0]}: {kpi.name} cannot be filtered by it (allowed: {allowed})")


class KpiFigures(BaseModel):
    """What the database counted for one KPI question."""

    numerator: int
    denominator: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)  # named sub-counts, e.g. neutral and dissatisfied
    parts: dict[str, float | None] = Field(default_factory=dict)  # a composite's components' rates


class KpiAnswer(BaseModel):
    """A KPI over a period: its value against its target."""

    name: str
    title: str
    start: datetime
    end: datetime
    filters: dict[str, str]
    value: float | None  # None: a rate with nothing to count
    numerator: int
    denominator: int | None
    counts: dict[str, int]
    parts: dict[str, float | None] = Field(default_factory=dict)
    target: float
    direction: Literal["at_least", "at_most"]
    met: bool | None
    owner: Role


def judge(kpi: KpiDefinition, query: KpiQuery, figures: KpiFigures) -> KpiAnswer:
    """The value (a rate or a count) and whether it meets the target; nothing to count meets nothing."""
    value: float | None
    if kpi.components:
        present = [
            (weight, figures.parts[name]) for name, weight in kpi.components if figures.parts.get(name) is not None
        ]
        total = sum(weight for weight, _ in present)
        value = sum(weight * (part or 0) for weight, part in present) / total if total else None
    elif kpi.mean_unit == "hours":
        value = figures.numerator / figures.denominator / 3600 if figures.denominator else None
    elif kpi.is_rate:
        value = figures.numerator / figures.denominator if figures.denominator else None
    else:
        value = float(figures.numerator)
    met = None
    if value is not None:
        met = value >= kpi.target if kpi.direction == "at_least" else value <= kpi.target
    return KpiAnswer(
        name=kpi.name,
        title=kpi.title,
        start=query.start,
        end=query.end,
        filters={f.value: str(getattr(query, f.value)) for f in sorted(query.given())},
        value=value,
        numerator=figures.numerator,
        denominator=figures.denominator if kpi.denominator is not None else None,
        counts=figures.counts,
        parts=figures.parts,
        target=kpi.target,
        direction=kpi.direction,
        met=met,
        owner=kpi.owner,
    )
