"""Quality inspection (质检, seed 003) as pure rules: which closed tickets a period samples, how a review is scored.

Each period a sample of every handler's closed tickets goes to an inspector (a human task with a scoring form);
each finding opens an improvement action with an owner and a deadline; a later check records whether the measure
worked. The sample size, the criteria and the deadlines are an admin-edited, versioned document (`QualityRules`).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.calendar import Budget
from core.records import AuditRecord, PolicyRef
from core.roles import Actor, Role

QUALITY_RULES_NAME = "center"


class Criterion(BaseModel):
    """One line of the scoring form: what the inspector judges, and its points."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    title: str = Field(min_length=1, max_length=200)
    points: int = Field(ge=1, le=100)


DEFAULT_CRITERIA = (
    Criterion(name="response", title="首次响应及时、规范 First response on time and by the script", points=20),
    Criterion(name="diagnosis", title="问题判断准确 Diagnosis right", points=25),
    Criterion(name="solution", title="处理措施有效 Measures effective", points=25),
    Criterion(name="communication", title="与客户沟通清楚、礼貌 Customer told clearly and politely", points=15),
    Criterion(name="records", title="工单记录完整 Ticket log complete", points=15),
)


class QualityRules(BaseModel):
    """How a period is sampled and scored, and the deadlines of what follows (admin-edited, versioned)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default=QUALITY_RULES_NAME, min_length=1, max_length=64)
    version: int = 1
    sample_per_handler: int = Field(default=2, ge=1, le=20)
    min_closed: int = Field(default=1, ge=1, le=1000, description="handlers with fewer closed tickets are skipped")
    criteria: tuple[Criterion, ...] = Field(default=DEFAULT_CRITERIA, min_length=1, max_length=20)
    pass_ratio: float = Field(default=0.8, ge=0, le=1)
    inspector_role: Role = Role.SUPERVISOR
    review_budget: Budget = Budget(amount=5, unit="working_days")
    action_budget: Budget = Budget(amount=10, unit="working_days")
    check_after: Budget = Budget(amount=20, unit="working_days")  # after the action is done: did it work?

    @model_validator(mode="after")
    def _distinct(self) -> QualityRules:
        names = [c.name for c in self.criteria]
        if len(names) != len(set(names)):
            raise ValueError("criteria: each criterion name once")
        return self

    @property
    def possible(self) -> int:
        """The points of a perfect review."""
        return sum(c.points for c in self.criteria)


class ClosedTicket(BaseModel):
    """A ticket closed in the period, by its handler: what the sample is drawn from."""

    model_config = ConfigDict(frozen=True)

    ticket_no: str
    handler: str


def draw_sample(closed: list[ClosedTicket], rules: QualityRules, period_key: str) -> list[ClosedTicket]:
    """Up to `sample_per_handler` tickets of each handler with at least `min_closed`, in a fixed pseudo-random order.

    The order hashes the period with the ticket number, so the same period always draws the same sample (auditable)
    and nobody can predict which tickets a period picks.
    """
    by_handler: dict[str, list[ClosedTicket]] = {}
    for ticket in closed:
        by_handler.setdefault(ticket.handler, []).append(ticket)
    picked = []
    for handler in sorted(by_handler):
        tickets = by_handler[handler]
        if len(tickets) < rules.min_closed:
            continue
        order = sorted(tickets, key=lambda t: hashlib.sha256(f"{period_key}:{t.ticket_no}".encode()).hexdigest())
        picked += order[: rules.sample_per_handler]
    return picked


class Finding(BaseModel):
    """Something the inspector found wrong, and who is to fix it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, max_length=1000)
    owner: str = Field(min_length=1, max_length=64, description="username of whoever carries out the improvement")


class ReviewForm(BaseModel):
    """The scoring form an inspector submits with the `scored` outcome (the decision's data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    marks: dict[str, int]
    findings: tuple[Finding, ...] = Field(default=(), max_length=10)


class ReviewScore(BaseModel):
    """A scored review: points out of the possible, and whether it passed."""

    model_config = ConfigDict(frozen=True)

    points: int
    possible: int
    passed: bool


def score(rules: QualityRules, form: ReviewForm) -> ReviewScore:
    """The review's points; ValueError naming the first criterion missing, unknown or out of range."""
    known = {c.name: c for c in rules.criteria}
    for name in form.marks:
        if name not in known:
            raise ValueError(f"marks.{name}: no such criterion (known: {', '.join(known)})")
    for criterion in rules.criteria:
        mark = form.marks.get(criterion.name)
        if mark is None:
            raise ValueError(f"marks.{criterion.name}: required, 0 to {criterion.points}")
        if not 0 <= mark <= criterion.points:
            raise ValueError(f"marks.{criterion.name}: 0 to {criterion.points}, got {mark}")
    points = sum(form.marks.values())
    return ReviewScore(points=points, possible=rules.possible, passed=points >= rules.pass_ratio * rules.possible)


# ---- the workflow's state ------------------------------------------------------------------------------------


class InspectionInput(BaseModel):
    """Start of one period's inspection."""

    model_config = ConfigDict(frozen=True)

    inspection_id: str
    start: datetime
    end: datetime
    requested_by: Actor
    request_id: str
    policy: PolicyRef = PolicyRef()


class InspectionPlan(BaseModel):
    """What the period's inspection works from: the rules in force and the sample they drew."""

    model_config = ConfigDict(frozen=True)

    rules: QualityRules
    sample: list[ClosedTicket]


class Review(BaseModel):
    """One sampled ticket under review."""

    ticket_no: str
    handler: str
    task_id: str | None = None
    inspector: str | None = None
    marks: dict[str, int] = Field(default_factory=dict)
    points: int | None = None
    possible: int
    passed: bool | None = None
    scored_at: datetime | None = None


class Action(BaseModel):
    """An improvement action opened by a finding, then checked for whether it worked."""

    task_id: str
    ticket_no: str
    handler: str
    finding: str
    owner: str
    inspector: str
    due_at: datetime
    done_at: datetime | None = None
    done_note: str | None = None
    check_task_id: str | None = None
    effective: bool | None = None
    checked_by: str | None = None
    checked_at: datetime | None = None


class Inspection(BaseModel):
    """A period's inspection as its workflow holds it (and as the read model and API show it)."""

    inspection_id: str
    workflow_id: str
    start: datetime
    end: datetime
    status: Literal["reviewing", "following_up", "done"] = "reviewing"
    rules_version: int
    requested_by: str
    reviews: list[Review] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    revision: int = 0

    def settled(self) -> bool:
        """Every review scored and every action checked."""
        return all(r.scored_at for r in self.reviews) and all(a.checked_at for a in self.actions)


class InspectionSave(BaseModel):
    """An inspection state to write to the read model, with the audit row of the act that produced it."""

    model_config = ConfigDict(frozen=True)

    inspection: Inspection
    audit: AuditRecord | None = None


class InspectionResult(BaseModel):
    """What a finished inspection returns."""

    inspection_id: str
    reviews: int
    points: int
    possible: int
    actions: int
    effective: int


def inspection_id_for(first: date, last: date) -> str:
    """One inspection per period: QI-<first local day>-<last local day>."""
    return f"QI-{first:%Y%m%d}-{last:%Y%m%d}"
