"""Resource-check orders (DOMAIN.md §2): contracts, routing rules as data, the TMF645 result rule and act checks.

Pure: the `ResourceCheck` workflow imports this module through `imports_passed_through`, and its update
validator runs `check_act`, so the API and the workflow refuse exactly the same acts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.calendar import Budget
from core.circuits import CircuitType, known_circuit_type
from core.records import AuditRecord, PolicyRef, TaskEvent, WriteEcho
from core.reservations import ReservationState
from core.roles import Actor, Role
from core.tasks import RefusalCode, TaskRefused

WORKFLOW_TYPE = "ResourceCheck"
MAX_CONSTRUCTION_DAYS = 730  # an estimate beyond two years of working days is not an estimate
CENTER_TIME = timezone(timedelta(hours=8))  # the center's wall clock: "today" for wanted dates (China: no DST)
LATEST_WANTED = date(2099, 12, 31)  # core.bounds: dates a request names lie before 2100


def wanted_date_problem(wanted: date, now: datetime) -> str | None:
    """Why a wanted date is impossible (None when it is fine): before today on the center's clock, or past 2099."""
    today = now.astimezone(CENTER_TIME).date()
    if wanted < today:
        return f"{wanted.isoformat()} is in the past (today is {today.isoformat()})"
    if wanted > LATEST_WANTED:
        return f"{wanted.isoformat()} lies after {LATEST_WANTED.isoformat()}"
    return None


def workflow_id_for(check_id: str) -> str:
    """The check's workflow id derives from its id (never from customer data)."""
    return f"resource-check-{check_id}"


class Qualification(StrEnum):
    """TMF645 qualification result of an item or a whole check."""

    QUALIFIED = "qualified"
    ALTERNATE = "alternate"
    UNQUALIFIED = "unqualified"


def qualification_result(results: Iterable[Qualification]) -> Qualification:
    """TMF645 aggregate: unqualified if any is, else alternate if any is, else qualified (all qualified)."""
    seen = set(results)
    if not seen:
        raise ValueError("qualification_result needs at least one result")
    if Qualification.UNQUALIFIED in seen:
        return Qualification.UNQUALIFIED
    if Qualification.ALTERNATE in seen:
        return Qualification.ALTERNATE
    return Qualification.QUALIFIED


class Feasibility(StrEnum):
    """DOMAIN.md §2.4's three results of a check or an item (TMF645 mapping in api/resource_checks/tmf645.py)."""

    FEASIBLE = "feasible"
    AFTER_CONSTRUCTION = "feasible_after_construction"
    NOT_FEASIBLE = "not_feasible"


class CheckStatus(StrEnum):
    """Our statuses; `TMF_STATE` maps them onto TMF645's task states."""

    ACKNOWLEDGED = "acknowledged"
    CONSULTING = "consulting"  # departments answer their items
    JOINT_REVIEW = "joint_review"  # a complex solution waits for every involved department head
    AWAITING_REQUESTER = "awaiting_requester"  # result reported; the requester accepts or asks again
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


TMF_STATE: dict[CheckStatus, str] = {
    CheckStatus.ACKNOWLEDGED: "acknowledged",
    CheckStatus.CONSULTING: "inProgress",
    CheckStatus.JOINT_REVIEW: "inProgress",
    CheckStatus.AWAITING_REQUESTER: "done",
    CheckStatus.ACCEPTED: "done",
    CheckStatus.CANCELLED: "terminatedWithError",
}
FINISHED = (CheckStatus.ACCEPTED, CheckStatus.CANCELLED)


# ---- routing rules (data, versioned with the assignment rules) --------------------------------------------


class ConsultRule(BaseModel):
    """Items whose service type or circuit type matches go to these departments (empty lists match anything)."""

    model_config = ConfigDict(frozen=True)

    service_types: tuple[str, ...] = ()
    circuit_types: tuple[str, ...] = ()
    departments: tuple[str, ...] = Field(min_length=1)

    def matches(self, item: CheckItem, *, canonical: bool = True) -> bool:
        """True when the item's service and circuit type fit this rule (circuit types compared canonically).

        `canonical=False` is the spelling-sensitive comparison of runs from before `circuit-type-vocabulary`.
        """
        service_ok = not self.service_types or item.service_type in self.service_types
        if not self.circuit_types:
            return service_ok
        if not canonical:
            return service_ok and (item.circuit_type or "") in self.circuit_types
        wanted = {known_circuit_type(c) for c in self.circuit_types} - {None}
        return service_ok and known_circuit_type(item.circuit_type) in wanted


class ResourceCheckRules(BaseModel):
    """Which departments answer which items, who heads them, what counts as complex, how long a reservation holds."""

    model_config = ConfigDict(frozen=True)

    rules: tuple[ConsultRule, ...] = ()
    always: tuple[str, ...] = ("operations",)  # asked about every item: can the existing network serve it?
    department_heads: dict[str, str] = Field(default_factory=dict)  # department → username of its head
    joint_review_on_alternate: bool = True
    joint_review_on_new_construction: bool = True
    reservation_validity: Budget = Budget(amount=10, unit="working_days")

    @model_validator(mode="after")
    def _someone_answers(self) -> ResourceCheckRules:
        """Every item needs at least one department: `always` may not be empty."""
        if not self.always:
            raise ValueError("always: name at least one department asked about every item")
        return self

    def departments_for(self, item: CheckItem, *, canonical: bool = True) -> tuple[str, ...]:
        """Departments consulted about one item, in rule order, without repeats."""
        found = [d for rule in self.rules if rule.matches(item, canonical=canonical) for d in rule.departments]
        return tuple(dict.fromkeys([*found, *self.always]))


def default_resource_check_rules() -> ResourceCheckRules:
    """DOMAIN.md §2: mobile services → mobile network, fixed circuits → fixed network; operations always."""
    return ResourceCheckRules(
        rules=(
            ConsultRule(service_types=("mobile", "iot", "mobile-private-network"), departments=("mobile-network",)),
            ConsultRule(
                circuit_types=tuple(t for t in CircuitType if t != CircuitType.OTHER),
                departments=("fixed-network",),
            ),
        ),
        department_heads={"mobile-network": "mobilehead", "fixed-network": "fixedhead", "operations": "opshead"},
    )


# ---- the request (the workflow's start input) ---------------------------------------------------------------


class CheckItem(BaseModel):
    """One thing to check: the site(s), service and circuit type, bandwidth and wanted date."""

    model_config = ConfigDict(frozen=True)

    item_id: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    sites: tuple[str, ...] = Field(min_length=1)
    service_type: str = Field(min_length=1, max_length=64)
    circuit_type: str | None = Field(default=None, max_length=64)
    bandwidth: str = Field(min_length=1, max_length=32)
    wanted_date: date


class ResourceCheckInput(BaseModel):
    """What starts a `ResourceCheck` workflow (also as a child of a pre-sales workflow)."""

    model_config = ConfigDict(frozen=True)

    check_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1, max_length=64)
    customer_name: str = Field(min_length=1, max_length=200)
    contact: str | None = Field(default=None, max_length=200)  # stored whole; shown masked
    description: str = Field(default="", max_length=4000)
    items: tuple[CheckItem, ...] = Field(min_length=1)
    requested_by: Actor
    request_id: str = Field(min_length=1, max_length=128)
    external_id: str | None = Field(default=None, max_length=64)  # e.g. the pre-sales order asking
    policy: PolicyRef = PolicyRef()
    created_at: datetime | None = None  # the workflow's start time when absent


# ---- state ---------------------------------------------------------------------------------------------------


class DepartmentAnswer(BaseModel):
    """A department's answer on one item."""

    result: Qualification
    proposal: str | None = None  # the alternate solution
    reasons: str | None = None  # why not (unqualified) or notes
    resources: dict[str, Any] = Field(default_factory=dict)  # what the department can provide
    new_construction: bool = False
    construction: str | None = None  # what must be built (with new_construction)
    construction_days: int | None = None  # its estimated time, in working days
    ready_by: datetime | None = None  # the answer time plus that estimate on the check's calendar
    needs_procurement: bool = False  # equipment or material must be procured first
    answered_by: str
    answered_at: datetime


class Message(BaseModel):
    """A question from the coordinator or an answer from the department, kept on the item."""

    at: datetime
    author: str
    kind: Literal["question", "answer"]
    text: str


class Chase(BaseModel):
    """A chase of a late department: a ladder reminder, the coordinator's notice or the escalation to its head."""

    at: datetime
    kind: Literal["reminder", "manual", "escalation"]
    by: str
    note: str = ""


class Line(BaseModel):
    """One department's part of one item in one round: its task, answer, Q&A, chases and timeliness."""

    item_id: str
    department: str
    task_id: str | None = None
    due_at: datetime | None = None
    answer: DepartmentAnswer | None = None
    messages: list[Message] = Field(default_factory=list)
    chases: list[Chase] = Field(default_factory=list)
    escalated: bool = False
    cancelled: bool = False

    @property
    def on_time(self) -> bool | None:
        """Whether the answer came by the deadline (None while unanswered)."""
        if self.answer is None or self.due_at is None:
            return None
        return self.answer.answered_at <= self.due_at


class Review(BaseModel):
    """One department head's joint-review decision."""

    department: str
    task_id: str
    head: str | None = None
    decision: Literal["approve", "reject"] | None = None
    decided_by: str | None = None
    comment: str | None = None


class RequirementChange(BaseModel):
    """What a re-check changed on one item: the field, before and after (the round's diff)."""

    item_id: str
    field: Literal["bandwidth", "sites", "wanted_date"]
    before: Any
    after: Any


class Round(BaseModel):
    """One pass of the check; a re-check starts a new one and keeps the old."""

    number: int
    started_at: datetime
    reason: str = ""
    due_at: datetime
    items: list[CheckItem] = Field(default_factory=list)  # the requirements this round asked about
    changes: list[RequirementChange] = Field(default_factory=list)  # against the round before
    requested_changes: list[ItemChange] = Field(default_factory=list)  # the re-check's, for the next round
    lines: list[Line] = Field(default_factory=list)
    item_results: dict[str, Qualification] = Field(default_factory=dict)
    result: Qualification | None = None
    complex: bool = False
    reviews: list[Review] = Field(default_factory=list)
    reported_at: datetime | None = None
    reservations: list[ReservationState] = Field(default_factory=list)
    requester_decision: Literal["accepted", "recheck", "review_rejected", "cancelled"] | None = None
    decision_reason: str | None = None

    def line(self, item_id: str, department: str) -> Line | None:
        """The line of one item and department, if consulted."""
        return next((line for line in self.lines if line.item_id == item_id and line.department == department), None)

    @property
    def on_time(self) -> bool | None:
        """Whether the round's result was reported by its deadline (None while open)."""
        return None if self.reported_at is None else self.reported_at <= self.due_at

    def answers(self, item_id: str) -> list[tuple[str, DepartmentAnswer]]:
        """(department, answer) of one item in this round."""
        return [(ln.department, ln.answer) for ln in self.lines if ln.item_id == item_id and ln.answer is not None]

    def item_feasibility(self, item_id: str) -> Feasibility | None:
        """Not feasible when unqualified; after construction when a department must build; else feasible."""
        result = self.item_results.get(item_id)
        if result is None:
            return None
        if result == Qualification.UNQUALIFIED:
            return Feasibility.NOT_FEASIBLE
        if any(answer.new_construction for _, answer in self.answers(item_id)):
            return Feasibility.AFTER_CONSTRUCTION
        return Feasibility.FEASIBLE

    @property
    def feasibility(self) -> Feasibility | None:
        """The round's result over its items: not feasible if any is, else after construction if any is."""
        if self.result is None:
            return None
        seen = {self.item_feasibility(item_id) for item_id in self.item_results}
        if self.result == Qualification.UNQUALIFIED or Feasibility.NOT_FEASIBLE in seen:
            return Feasibility.NOT_FEASIBLE
        return Feasibility.AFTER_CONSTRUCTION if Feasibility.AFTER_CONSTRUCTION in seen else Feasibility.FEASIBLE

    def tmf_result(self, item_id: str | None = None) -> Qualification | None:
        """TMF645 qualificationResult: feasible only after new construction is `alternate` (the same service,
        available at a later date: its alternateServiceProposal)."""
        result = self.result if item_id is None else self.item_results.get(item_id)
        feasibility = self.feasibility if item_id is None else self.item_feasibility(item_id)
        if result == Qualification.QUALIFIED and feasibility == Feasibility.AFTER_CONSTRUCTION:
            return Qualification.ALTERNATE
        return result


class ResourceCheck(BaseModel):
    """A check as its workflow holds it, and as the read model and API show it."""

    check_id: str
    workflow_id: str
    request: ResourceCheckInput
    status: CheckStatus = CheckStatus.ACKNOWLEDGED
    created_at: datetime
    created_by: str
    policy_name: str = ""
    policy_version: int = 0
    rounds: list[Round] = Field(default_factory=list)
    finished_at: datetime | None = None
    cancel_reason: str | None = None
    status_history: list[tuple[datetime, CheckStatus, str]] = Field(default_factory=list)
    revision: int = 0

    @property
    def round(self) -> Round | None:
        """The current round."""
        return self.rounds[-1] if self.rounds else None

    @property
    def result(self) -> Qualification | None:
        """The latest consolidated result."""
        return next((r.result for r in reversed(self.rounds) if r.result is not None), None)

    @property
    def decided_round(self) -> Round | None:
        """The latest round with a consolidated result."""
        return next((r for r in reversed(self.rounds) if r.result is not None), None)

    @property
    def feasibility(self) -> Feasibility | None:
        """The latest consolidated result as one of the three of DOMAIN.md §2.4."""
        decided = self.decided_round
        return decided.feasibility if decided else None

    @property
    def tmf_result(self) -> Qualification | None:
        """The latest consolidated result as TMF645 states it (Round.tmf_result)."""
        decided = self.decided_round
        return decided.tmf_result() if decided else None

    @property
    def items(self) -> tuple[CheckItem, ...]:
        """The requirements as they stand: the latest round's (re-checks may change them), else the request's."""
        current = next((r for r in reversed(self.rounds) if r.items), None)
        return tuple(current.items) if current else self.request.items

    @property
    def on_time(self) -> bool | None:
        """Whether every reported round met its deadline (None before the first report)."""
        reported = [r.on_time for r in self.rounds if r.on_time is not None]
        return all(reported) if reported else None

    def requester_side(self, actor: Actor) -> bool:
        """True for the requester and colleagues of the requesting department."""
        requester = self.request.requested_by
        return actor.username == requester.username or bool(
            requester.department and actor.department == requester.department
        )


# ---- what a check found, for the orders that follow it -------------------------------------------------------


class ConstructionNeed(BaseModel):
    """One department's new construction for one item: what must be built, its estimate and when it is ready."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    department: str
    construction: str | None = None
    working_days: int | None = None
    ready_by: datetime | None = None


class CheckNeeds(BaseModel):
    """What the latest decided round of a check says an order must do first: construction, procurement."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    status: CheckStatus
    feasibility: Feasibility | None = None
    needs_construction: bool = False
    needs_procurement: bool = False
    construction: tuple[ConstructionNeed, ...] = ()
    procurement_by: tuple[str, ...] = ()  # departments that said equipment or material must be procured
    ready_by: datetime | None = None  # when the last construction is estimated to be ready


def check_needs(check: ResourceCheck, item_id: str | None = None) -> CheckNeeds:
    """The construction and procurement the check's answers ask for (of one item, or of every feasible item)."""
    decided = check.decided_round
    if decided is None:
        return CheckNeeds(check_id=check.check_id, status=check.status)
    items = [item_id] if item_id else [i for i in decided.item_results]
    feasible = [i for i in items if decided.item_feasibility(i) not in (None, Feasibility.NOT_FEASIBLE)]
    answers = [(i, dept, answer) for i in feasible for dept, answer in decided.answers(i)]
    builds = tuple(
        ConstructionNeed(
            item_id=i,
            department=dept,
            construction=a.construction,
            working_days=a.construction_days,
            ready_by=a.ready_by,
        )
        for i, dept, a in answers
        if a.new_construction
    )
    procurement = tuple(dict.fromkeys(dept for _, dept, a in answers if a.needs_procurement))
    ready = [b.ready_by for b in builds if b.ready_by is not None]
    return CheckNeeds(
        check_id=check.check_id,
        status=check.status,
        feasibility=decided.item_feasibility(item_id) if item_id else decided.feasibility,
        needs_construction=bool(builds),
        needs_procurement=bool(procurement),
        construction=builds,
        procurement_by=procurement,
        ready_by=max(ready) if ready else None,
    )


def _circuit_word(value: str) -> str:
    word = value.strip().lower().replace("-", "_").replace(" ", "_")
    return {"digital": "digital_circuit"}.get(word, word)


def serves(item: CheckItem, circuit_type: str) -> bool:
    """True when an order for `circuit_type` is the service the item was checked for (no circuit type: any)."""
    return item.circuit_type is None or _circuit_word(item.circuit_type) == _circuit_word(circuit_type)


# ---- acts --------------------------------------------------------------------------------------------------


class _Act(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor


class _LineAct(_Act):
    item_id: str = Field(min_length=1, max_length=16)
    department: str = Field(min_length=1, max_length=64)


class Answer(_LineAct):
    """A department answers its item: qualified, alternate (with the proposal) or unqualified (with reasons)."""

    type: Literal["answer"] = "answer"
    result: Qualification
    proposal: str | None = Field(default=None, max_length=4000)
    reasons: str | None = Field(default=None, max_length=4000)
    resources: dict[str, Any] = Field(default_factory=dict)
    new_construction: bool = False
    construction: str | None = Field(default=None, max_length=2000, description="what must be built")
    construction_days: int | None = Field(
        default=None, ge=1, le=MAX_CONSTRUCTION_DAYS, description="estimated working days of the construction"
    )
    needs_procurement: bool = False


class Ask(_LineAct):
    """The coordinator asks the department a question about the item."""

    type: Literal["ask"] = "ask"
    text: str = Field(min_length=1, max_length=2000)


class Reply(_LineAct):
    """The department answers the coordinator's question."""

    type: Literal["reply"] = "reply"
    text: str = Field(min_length=1, max_length=2000)


class ChaseLine(_LineAct):
    """The coordinator chases a department that has not answered (催办)."""

    type: Literal["chase"] = "chase"
    note: str = Field(default="", max_length=1000)


class EscalateLine(_LineAct):
    """The coordinator escalates a department that chasing did not move to its head (the ladder does so at the
    deadline; the coordinator may do it sooner)."""

    type: Literal["escalate"] = "escalate"
    note: str = Field(default="", max_length=1000)


class AcceptResult(_Act):
    """The requester accepts the reported result."""

    type: Literal["accept"] = "accept"


class ItemChange(BaseModel):
    """A changed requirement of one item for the next round: bandwidth, sites or wanted date (unset: unchanged)."""

    model_config = ConfigDict(frozen=True)

    item_id: str = Field(min_length=1, max_length=16)
    bandwidth: str | None = Field(default=None, min_length=1, max_length=32)
    sites: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=20)
    wanted_date: date | None = None

    def applied_to(self, item: CheckItem) -> CheckItem:
        """The item with this change made."""
        changed = {k: v for k, v in self.model_dump(exclude={"item_id"}).items() if v is not None}
        return item.model_copy(update=changed)


class Recheck(_Act):
    """The requester finds the result does not meet the requirement: a new round (with changed requirements, if
    any), the old one kept."""

    type: Literal["recheck"] = "recheck"
    reason: str = Field(min_length=1, max_length=2000)
    changes: tuple[ItemChange, ...] = Field(default=(), max_length=50)


class CancelCheck(_Act):
    """Withdraw the check; open tasks close and reservations are released."""

    type: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=1, max_length=2000)


CheckAct = Annotated[
    Answer | Ask | Reply | ChaseLine | EscalateLine | AcceptResult | Recheck | CancelCheck,
    Field(discriminator="type"),
]


class CheckOutcome(BaseModel):
    """What an accepted act returns."""

    check_id: str
    status: CheckStatus
    revision: int
    message: str = ""


REPORT_SIGNAL = "resource_check_report"


class CheckReport(BaseModel):
    """What a ResourceCheck started as a child tells its parent (e.g. a pre-sales order) when it finishes."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    status: CheckStatus
    result: Qualification | None = None
    item_results: dict[str, Qualification] = Field(default_factory=dict)
    reservations: tuple[ReservationState, ...] = ()  # the accepted round's; claim them before they expire
    rounds: int = 0
    on_time: bool | None = None


class CheckSave(BaseModel):
    """A check state to write to the read model, with the act's audit row and (once finished) its ledger row."""

    model_config = ConfigDict(frozen=True)

    check: ResourceCheck
    audit: AuditRecord | None = None
    ledger: bool = False


class CheckChange(CheckSave):
    """One act's writes under check-one-write: its task changes (written first), then the check, its audit row and
    (once finished) its ledger row, in one transaction."""

    tasks: tuple[TaskEvent, ...] = ()

    def echo(self) -> WriteEcho:
        """What the write echoes for the timeline (not the whole check)."""
        check = self.check
        return WriteEcho.of(check.check_id, check.revision, check.status, self.audit, self.tasks)


# ---- rules ------------------------------------------------------------------------------------------------


def _refuse(code: RefusalCode, message: str) -> None:
    raise TaskRefused(code, message)


def _line(check: ResourceCheck, act: _LineAct) -> Line:
    current = check.round
    line = current.line(act.item_id, act.department) if current else None
    if line is None:
        _refuse(
            RefusalCode.NOT_FOUND,
            f"item {act.item_id}: department {act.department} is not consulted on it in this round",
        )
    assert line is not None
    return line


def _coordinator(actor: Actor, act: str) -> None:
    if not actor.has_role(Role.COORDINATOR, Role.SUPERVISOR):
        _refuse(RefusalCode.FORBIDDEN, f"{act}: coordinators or supervisors only")


def _member(actor: Actor, department: str, act: str) -> None:
    if actor.department != department or not actor.has_role(Role.DEPARTMENT):
        _refuse(RefusalCode.FORBIDDEN, f"{act}: only staff of department {department} may do this")


def _check_changes(check: ResourceCheck, act: Recheck, now: datetime) -> None:
    """A re-check's changes name items of the check, change something, and ask for no impossible date."""
    items = {item.item_id: item for item in check.items}
    seen: set[str] = set()
    for index, change in enumerate(act.changes):
        where = f"changes[{index}]"
        if change.item_id not in items:
            _refuse(RefusalCode.INVALID, f"{where}.item_id: the check has no item {change.item_id}")
        if change.item_id in seen:
            _refuse(RefusalCode.INVALID, f"{where}.item_id: item {change.item_id} is changed twice")
        seen.add(change.item_id)
        if change.applied_to(items[change.item_id]) == items[change.item_id]:
            _refuse(RefusalCode.INVALID, f"{where}: nothing changes on item {change.item_id}")
        if change.wanted_date is not None and (problem := wanted_date_problem(change.wanted_date, now)):
            _refuse(RefusalCode.INVALID, f"{where}.wanted_date: {problem}")


def check_act(check: ResourceCheck, act: BaseModel, now: datetime, *, strict: bool = True) -> None:
    """Refuse an act DOMAIN.md §2 does not allow (pure: the update validator runs it). `strict=False` leaves out
    the rules added after acts were recorded (a replay re-checks an old act without them): construction details."""
    actor: Actor = act.actor  # type: ignore[attr-defined]
    if actor.has_role(Role.AUDITOR) and not (set(actor.roles) - {Role.AUDITOR}):
        _refuse(RefusalCode.FORBIDDEN, "auditors read; they do not act on resource checks")
    if check.status in FINISHED:
        _refuse(RefusalCode.CONFLICT, f"{getattr(act, 'type', 'act')}: the check is already {check.status.value}")
    match act:
        case Answer():
            if check.status != CheckStatus.CONSULTING:
                _refuse(RefusalCode.CONFLICT, f"answer: the check is {check.status.value}, not waiting for answers")
            line = _line(check, act)
            _member(actor, act.department, "answer")
            if line.answer is not None:
                _refuse(
                    RefusalCode.CONFLICT, f"answer: department {act.department} already answered item {act.item_id}"
                )
            if act.result == Qualification.ALTERNATE and not (act.proposal or "").strip():
                _refuse(RefusalCode.INVALID, "proposal: an alternate answer needs the proposed solution")
            if act.result == Qualification.UNQUALIFIED and not (act.reasons or "").strip():
                _refuse(RefusalCode.INVALID, "reasons: an unqualified answer needs the reasons")
            if strict and act.new_construction and act.result != Qualification.UNQUALIFIED:
                if not (act.construction or "").strip():
                    _refuse(RefusalCode.INVALID, "construction: say what must be built for new construction")
                if act.construction_days is None:
                    _refuse(RefusalCode.INVALID, "construction_days: estimate the construction in working days")
        case Ask():
            _coordinator(actor, "ask")
            _line(check, act)
        case Reply():
            _member(actor, act.department, "reply")
            line = _line(check, act)
            if not any(m.kind == "question" for m in line.messages):
                _refuse(RefusalCode.CONFLICT, "reply: there is no question on this item to answer")
        case ChaseLine():
            _coordinator(actor, "chase")
            line = _line(check, act)
            if line.answer is not None or check.status != CheckStatus.CONSULTING:
                _refuse(RefusalCode.CONFLICT, f"chase: department {act.department} already answered item {act.item_id}")
        case EscalateLine():
            _coordinator(actor, "escalate")
            line = _line(check, act)
            if line.answer is not None or check.status != CheckStatus.CONSULTING:
                _refuse(
                    RefusalCode.CONFLICT, f"escalate: department {act.department} already answered item {act.item_id}"
                )
            if line.escalated:
                _refuse(RefusalCode.CONFLICT, f"escalate: item {act.item_id} of {act.department} is already escalated")
        case AcceptResult() | Recheck():
            if check.status != CheckStatus.AWAITING_REQUESTER:
                _refuse(
                    RefusalCode.CONFLICT,
                    f"{act.type}: no result is waiting for the requester (the check is {check.status.value})",
                )
            if not check.requester_side(actor):
                _refuse(
                    RefusalCode.FORBIDDEN,
                    f"{act.type}: only the requester ({check.request.requested_by.username}) "
                    "or the requesting department",
                )
            if isinstance(act, Recheck):
                _check_changes(check, act, now)
        case CancelCheck():
            if not (check.requester_side(actor) or actor.has_role(Role.COORDINATOR, Role.SUPERVISOR)):
                _refuse(RefusalCode.FORBIDDEN, "cancel: the requester, a coordinator or a supervisor")
        case _:
            _refuse(RefusalCode.INVALID, f"unknown act {type(act).__name__}")
