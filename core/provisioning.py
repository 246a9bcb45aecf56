"""Circuit-provisioning orders (DOMAIN.md §3): the circuit, the step plan from rules held as data, the
deadline split, the acts people perform and the pure checks that accept or refuse them.

The workflow holds a `ProvisioningOrder`; every human act arrives as one `OrderAct` through the
workflow's `act` update, whose validator runs `check_act` below, so the API, the workflow and its
replay refuse exactly the same things.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from core.calendar import Budget, BusinessCalendar
from core.circuits import CircuitType, CircuitTypeName
from core.records import AuditRecord, NotificationRecord, PolicyRef, TaskEvent, WriteEcho
from core.reservations import ReservationState
from core.resource_checks import ResourceCheck, check_needs
from core.roles import GROUP_CUSTOMER, Actor, Role
from core.sla import LadderStep
from core.tasks import Candidates, RefusalCode, TaskRefused

DISPATCH = "dispatch"
REVIEW = "review"
COMPLETION_ORDER = "completion_order"
CLOSURE_COMPLETION = "completion"
REQUIRED_DOCUMENTS = ("completion_order", "test_report")  # 竣工单 and test report, with the completion-order step
# The documents each step must come with: the 竣工单 and test report, or the closure's completion order.
STEP_DOCUMENTS: dict[str, tuple[str, ...]] = {
    COMPLETION_ORDER: REQUIRED_DOCUMENTS,
    CLOSURE_COMPLETION: ("completion_order",),
}


def workflow_id_for(order_id: str) -> str:
    """The order's workflow id derives from its id (never from customer data)."""
    return f"provisioning-{order_id}"


class Scope(StrEnum):
    """Who issues the dispatch order: HQ operations across provinces, the provincial center within one."""

    CROSS_PROVINCE = "cross_province"
    INTRA_PROVINCE = "intra_province"


class OrderStatus(StrEnum):
    """Our order statuses; `TMF_STATE` maps them onto TMF641's."""

    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    COMPLETING = "completing"
    COMPLETED = "completed"
    ASSESSING_CANCELLATION = "assessing_cancellation"
    PENDING_CANCELLATION = "pending_cancellation"
    CANCELLED = "cancelled"
    FAILED = "failed"


TMF_STATE: dict[OrderStatus, str] = {
    OrderStatus.ACKNOWLEDGED: "acknowledged",
    OrderStatus.IN_PROGRESS: "inProgress",
    OrderStatus.IN_REVIEW: "inProgress",
    OrderStatus.COMPLETING: "inProgress",
    OrderStatus.COMPLETED: "completed",
    OrderStatus.ASSESSING_CANCELLATION: "assessingCancellation",
    OrderStatus.PENDING_CANCELLATION: "pendingCancellation",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.FAILED: "failed",
}
CLOSED = (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.FAILED)
CANCELLABLE = (OrderStatus.ACKNOWLEDGED, OrderStatus.IN_PROGRESS, OrderStatus.IN_REVIEW)


class CircuitEnd(BaseModel):
    """One end of the circuit: where it is, never who to call there."""

    model_config = ConfigDict(frozen=True)

    province: str = Field(min_length=1, max_length=64)
    city: str = Field(min_length=1, max_length=64)
    site: str = Field(min_length=1, max_length=300, description="address or site name")


class CheckFindings(BaseModel):
    """What the order's resource check found: the plan follows it (`plan_basis` says how)."""

    model_config = ConfigDict(frozen=True)

    check_id: str = Field(min_length=1, max_length=64)
    result: str | None = None  # the check's consolidated result
    construction: bool = False  # an answer said new construction is needed
    procurement: bool = False  # an answer said equipment must be procured
    asked_by: tuple[str, ...] = ()  # the departments whose answers asked for either
    ready_by: datetime | None = None  # when the check estimated the new construction ready
    customer_manager: str | None = Field(default=None, max_length=64)  # who raised the check (cut-over notices)


class Cutover(BaseModel):
    """A step that cuts the customer's service over (割接) in a window; the customers are told ahead."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True)

    step: str = Field(min_length=1, max_length=64)
    window_start: datetime
    window_end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Cutover:
        """The window ends after it starts."""
        if self.window_end <= self.window_start:
            raise ValueError("windowEnd: must be after windowStart")
        return self


class CircuitSpec(BaseModel):
    """What a provisioning order builds (one TMF order item), or the circuit a closure order ends."""

    model_config = ConfigDict(frozen=True)

    circuit_type: CircuitTypeName
    a_end: CircuitEnd
    z_end: CircuitEnd
    bandwidth: str = Field(min_length=1, max_length=32, description="e.g. 2M, 100M, 1G")
    requested_completion: datetime
    requested_start: datetime | None = None  # TMF641 requestedStartDate: work may not start earlier
    customer_id: str | None = Field(default=None, max_length=64)
    resource_check_id: str | None = Field(default=None, max_length=64)
    reservation_id: str | None = Field(default=None, max_length=200)
    needs_procurement: bool = False  # what the resource check said, or the order added
    needs_construction: bool = False
    action: Literal["add", "delete"] = "add"  # delete: a service closure of `circuit_id`
    circuit_id: str | None = Field(default=None, max_length=40)  # the circuit a closure ends
    circuit_order_id: str | None = Field(default=None, max_length=64)  # the order that built it (its reservations)
    check: CheckFindings | None = None  # what the resource check found (set by the API from the check)
    cutover: Cutover | None = None

    @property
    def scope(self) -> Scope:
        """Cross-province when the ends lie in different provinces."""
        same = self.a_end.province.strip().lower() == self.z_end.province.strip().lower()
        return Scope.INTRA_PROVINCE if same else Scope.CROSS_PROVINCE


class StepRule(BaseModel):
    """One step of the plan: who does it, its share of the deadline, and when it applies."""

    model_config = ConfigDict(frozen=True)

    step: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    department: str | None = None
    role: Role | None = None
    weight: float = Field(gt=0)
    when: Literal["always", "procurement", "construction", "cross_province", "intra_province"] = "always"
    depends_on: tuple[str, ...] = ()  # steps whose redo invalidates this one (a return redoes it too)


class ProvisioningRules(BaseModel):
    """Versioned routing and step-plan rules an administrator edits; an order keeps the version it started with."""

    model_config = ConfigDict(frozen=True)

    name: str = "default"
    version: int = 1
    dispatchers: dict[Scope, StepRule]
    steps: tuple[StepRule, ...]
    review: StepRule
    closure_steps: tuple[StepRule, ...] = Field(default_factory=lambda: default_closure_steps())
    warning_percent: int = Field(default=75, gt=0, lt=100)
    cutover_notice: Budget = Budget(amount=2, unit="working_days")  # customers hear of a cut-over this long ahead

    @model_validator(mode="after")
    def _complete(self) -> ProvisioningRules:
        """Both scopes need a dispatcher; step names are unique, none is dispatch or review, dependencies exist."""
        if missing := [s.value for s in Scope if s not in self.dispatchers]:
            raise ValueError(f"dispatchers: missing {', '.join(missing)}")
        for field, plan in (("steps", self.steps), ("closure_steps", self.closure_steps)):
            names = [s.step for s in plan]
            if len(names) != len(set(names)) or {DISPATCH, REVIEW} & set(names):
                raise ValueError(f"{field}: names must be unique and not dispatch or review")
            for rule in plan:
                if unknown := [d for d in rule.depends_on if d not in names[: names.index(rule.step)]]:
                    raise ValueError(f"{field}: {rule.step} depends on {', '.join(unknown)}, not an earlier step")
        return self

    def ladder(self) -> tuple[LadderStep, ...]:
        """Remind at half time, raise a jeopardy alert at the warning threshold, escalate at the breach."""
        return (
            LadderStep(percent=50, action="remind"),
            LadderStep(percent=self.warning_percent, action="remind", notify_roles=(Role.COORDINATOR,)),
            LadderStep(percent=100, action="escalate", notify_roles=(Role.COORDINATOR, Role.SUPERVISOR)),
        )


def default_provisioning_rules() -> ProvisioningRules:
    """DOMAIN.md §3: HQ or the province dispatches; procurement and construction if needed; operations the rest."""
    return ProvisioningRules(
        dispatchers={
            Scope.CROSS_PROVINCE: StepRule(
                step=DISPATCH, title="issue the dispatch order (HQ operations)", department="hq-operations", weight=1
            ),
            Scope.INTRA_PROVINCE: StepRule(
                step=DISPATCH,
                title="issue the dispatch order (provincial response center)",
                role=Role.COORDINATOR,
                weight=1,
            ),
        },
        steps=(
            StepRule(
                step="procurement",
                title="procure equipment and material",
                department="procurement",
                weight=3,
                when="procurement",
            ),
            StepRule(
                step="construction",
                title="build and test the new resources",
                department="construction",
                weight=4,
                when="construction",
                depends_on=("procurement",),
            ),
            StepRule(
                step="trunk_configuration",
                title="configure the inter-province trunk",
                department="hq-operations",
                weight=1,
                when="cross_province",
            ),
            StepRule(
                step="data_configuration",
                title="allocate local resources and configure data",
                department="operations",
                weight=2,
                depends_on=("construction",),
            ),
            StepRule(
                step="activation",
                title="activate the circuit",
                department="operations",
                weight=1,
                depends_on=("trunk_configuration", "data_configuration"),
            ),
            StepRule(
                step="testing",
                title="test the circuit end to end",
                department="operations",
                weight=1,
                depends_on=("activation",),
            ),
            StepRule(
                step=COMPLETION_ORDER,
                title="submit the completion order with the test report",
                department="operations",
                weight=1,
                depends_on=("testing",),
            ),
        ),
        review=StepRule(step=REVIEW, title="review the completed work", role=Role.REVIEWER, weight=1),
    )


def default_closure_steps() -> tuple[StepRule, ...]:
    """A service closure (拆机): remove the data, recover the resources, stop the billing, complete."""
    return (
        StepRule(
            step="data_removal", title="remove the circuit's data configuration", department="operations", weight=1
        ),
        StepRule(
            step="resource_recovery",
            title="recover the circuit's ports, cards and lines",
            department="operations",
            weight=2,
            depends_on=("data_removal",),
        ),
        StepRule(
            step="billing_stop_notice",
            title="send the billing stop notice",
            department=GROUP_CUSTOMER,
            weight=1,
            depends_on=("data_removal",),
        ),
        StepRule(
            step=CLOSURE_COMPLETION,
            title="submit the closure's completion order",
            department="operations",
            weight=1,
            depends_on=("resource_recovery", "billing_stop_notice"),
        ),
    )


def plan_steps(rules: ProvisioningRules, spec: CircuitSpec) -> list[StepRule]:
    """Dispatch, the steps whose condition holds for this circuit (or the closure steps), then review."""
    holds = {
        "always": True,
        "procurement": spec.needs_procurement,
        "construction": spec.needs_construction,
        "cross_province": spec.scope == Scope.CROSS_PROVINCE,
        "intra_province": spec.scope == Scope.INTRA_PROVINCE,
    }
    plan = rules.closure_steps if spec.action == "delete" else rules.steps
    return [rules.dispatchers[spec.scope], *(s for s in plan if holds[s.when]), rules.review]


def dependants_of(rules: tuple[StepRule, ...], planned: list[str], name: str) -> list[str]:
    """The planned steps a redo of `name` invalidates, directly or through unplanned steps, in plan order."""
    stale = {name}
    for rule in rules:
        if stale & set(rule.depends_on):
            stale.add(rule.step)
    return [step for step in planned if step in stale and step != name]


def plan_basis(spec: CircuitSpec) -> str:
    """Why the plan holds (or lacks) procurement and construction: the check, the order's own flags, or neither."""
    if spec.action == "delete":
        return f"service closure of circuit {spec.circuit_id}: the closure steps"
    asked = [s for s, on in (("procurement", spec.needs_procurement), ("construction", spec.needs_construction)) if on]
    if spec.check is None:
        head = "no resource check: " if spec.resource_check_id is None else f"resource check {spec.resource_check_id} "
        return head + (f"{' and '.join(asked)} as the order asked" if asked else "no procurement or construction")
    found = {"procurement": spec.check.procurement, "construction": spec.check.construction}
    parts = [f"{s} ({'from the check' if found[s] else 'added by the order'})" for s in asked]
    return f"resource check {spec.check.check_id} ({spec.check.result}): " + (
        ", ".join(parts) if parts else "no procurement or construction needed"
    )


def findings_of(check: ResourceCheck) -> CheckFindings:
    """What a resource check's answers (core.resource_checks.check_needs) ask the order to plan."""
    needs = check_needs(check)
    asking = [*(c.department for c in needs.construction), *needs.procurement_by]
    return CheckFindings(
        check_id=check.check_id,
        result=needs.feasibility.value if needs.feasibility else None,
        construction=needs.needs_construction,
        procurement=needs.needs_procurement,
        asked_by=tuple(dict.fromkeys(asking)),
        ready_by=needs.ready_by,
        customer_manager=check.request.requested_by.username,
    )


def merge_check(spec: CircuitSpec, findings: CheckFindings) -> CircuitSpec:
    """The spec with the check's steps added; an order flag may add a step but never drop one the check asked for.

    An explicit `false` for a step the check asked for is refused (ValueError naming the field): the check's
    answers are the record, so dropping its step takes a re-check, not a flag.
    """
    for field, needed in (("needs_construction", findings.construction), ("needs_procurement", findings.procurement)):
        if needed and field in spec.model_fields_set and not getattr(spec, field):
            raise ValueError(
                f"{to_camel(field)}: resource check {findings.check_id} asked for it ({', '.join(findings.asked_by)}); "
                "an order may add a step but not drop one the check asked for"
            )
    return spec.model_copy(
        update={
            "check": findings,
            "needs_construction": spec.needs_construction or findings.construction,
            "needs_procurement": spec.needs_procurement or findings.procurement,
        }
    )


def split_deadline(calendar: BusinessCalendar, start: datetime, end: datetime, weights: list[float]) -> list[datetime]:
    """Each step's due time: the business time from start to end shared out by weight, in order."""
    total, running, dues = sum(weights), 0.0, []
    for weight in weights:
        running += weight
        dues.append(end if running >= total else calendar.point_at_fraction(start, end, running / total))
    return dues


class DocumentRef(BaseModel):
    """An uploaded document: its metadata and content hash (the content itself is not kept)."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(min_length=1, max_length=64, description="completion_order, test_report, ...")
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=100)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Step(BaseModel):
    """A step of this order as planned and as done (rework reopens it)."""

    step: str
    title: str
    department: str | None = None
    role: Role | None = None
    weight: float
    planned_start: datetime
    planned_due: datetime
    due_at: datetime
    task_id: str | None = None
    opened_at: datetime | None = None
    done_at: datetime | None = None
    done_by: str | None = None
    doers: list[str] = Field(default_factory=list)  # everyone who ever completed it (four-eyes at review)
    note: str | None = None
    documents: list[DocumentRef] = Field(default_factory=list)
    on_time: bool | None = None
    rework: int = 0
    jeopardy: bool = False
    breached: bool = False
    dependants: list[str] = Field(default_factory=list)  # the later steps a return to this one redoes

    @property
    def candidates(self) -> Candidates:
        """Who may do the step."""
        return Candidates(department=self.department, roles=(self.role,) if self.role else ())


class Milestone(BaseModel):
    """A TMF milestone: a step finished or the order reached a stage."""

    id: str
    name: str
    message: str
    date: datetime
    step: str | None = None


class JeopardyAlert(BaseModel):
    """A TMF jeopardy alert: a step passed its warning threshold, or its deadline."""

    id: str
    name: str
    jeopardy_type: Literal["warning", "breach"]
    message: str
    date: datetime
    step: str


class CancelRequest(BaseModel):
    """A TMF cancelServiceOrder request and how far it got."""

    cancel_id: str
    reason: str
    requested_by: str
    requested_at: datetime
    state: Literal["accepted", "inProgress", "done", "terminatedWithError"] = "accepted"
    effective_at: datetime | None = None


class Review(BaseModel):
    """One review decision."""

    reviewer: str
    outcome: Literal["approve", "return"]
    return_to: str | None = None
    reason: str | None = None
    at: datetime


class CutoverNotice(BaseModel):
    """Who was told of a cut-over and when (the contacts themselves are resolved by the outbox, never kept here)."""

    audience: Literal["customer_manager", "customer_contacts"]
    recipient: str  # a username or department for the manager; the customer id for its contacts
    key: str
    at: datetime


class CutoverState(BaseModel):
    """A cut-over step: its window, when the customers were told, and the earliest it may start."""

    step: str
    window_start: datetime
    window_end: datetime
    notified_at: datetime
    earliest_start: datetime  # the notice period after the notice (and not before the window)
    notice_period: str  # e.g. "2 working days"
    notices: list[CutoverNotice] = Field(default_factory=list)
    started_at: datetime | None = None


class ProvisioningOrder(BaseModel):
    """The order as its workflow holds it (and as the read model and queries show it)."""

    order_id: str
    workflow_id: str
    item_id: str = "1"
    spec: CircuitSpec
    description: str | None = None
    external_id: str | None = None
    status: OrderStatus = OrderStatus.ACKNOWLEDGED
    scope: Scope
    created_by: str
    created_at: datetime
    rules_name: str = "default"
    rules_version: int = 1
    calendar_name: str = ""
    calendar_version: int = 0
    steps: list[Step] = Field(default_factory=list)
    current: str | None = None  # the step waiting for someone
    back_to_review: bool = False  # a returned step goes straight back to review when done
    redo: list[str] = Field(default_factory=list)  # after a return: the dependants still to redo, in order
    plan_basis: str | None = None  # why procurement/construction are (not) planned: the check, the order, neither
    cutover: CutoverState | None = None
    reviews: list[Review] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    jeopardy_alerts: list[JeopardyAlert] = Field(default_factory=list)
    cancel: CancelRequest | None = None
    reservation: ReservationState | None = None  # the reservation the order claimed, as of its last change
    circuit_id: str | None = None
    dispatch_receipt: str | None = None
    completed_at: datetime | None = None
    on_time: bool | None = None
    cycle_seconds: float | None = None
    error: str | None = None
    status_history: list[tuple[datetime, OrderStatus, str]] = Field(default_factory=list)
    revision: int = 0

    def step(self, name: str) -> Step:
        """A planned step by name."""
        return next(s for s in self.steps if s.step == name)

    def has_step(self, name: str) -> bool:
        """True when the plan holds a step of this name."""
        return any(s.step == name for s in self.steps)

    @property
    def doers(self) -> set[str]:
        """Everyone who completed any step of this order."""
        return {who for s in self.steps for who in s.doers}


class OrderInput(BaseModel):
    """What starts a provisioning-order workflow."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    spec: CircuitSpec
    created_by: Actor
    request_id: str
    description: str | None = Field(default=None, max_length=2000)
    external_id: str | None = Field(default=None, max_length=100)
    policy: PolicyRef = PolicyRef()
    rules: str | None = None  # provisioning rules name (default when unset)


# ---- acts -------------------------------------------------------------------------------------------------


class _Act(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor


class CompleteStep(_Act):
    """The department reports its step done, with the documents it produced."""

    type: Literal["complete_step"] = "complete_step"
    step: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)
    documents: tuple[DocumentRef, ...] = ()


class ReviewOrder(_Act):
    """The reviewer approves the work, or returns it to a named step with a reason."""

    type: Literal["review"] = "review"
    outcome: Literal["approve", "return"]
    return_to: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=2000)


class CancelOrder(_Act):
    """Cancel the order (TMF cancelServiceOrder): compensation releases what it holds."""

    type: Literal["cancel"] = "cancel"
    cancel_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


class MarkCutover(_Act):
    """The coordinator marks a step not yet started as a cut-over (割接) in a window; the customers are told now."""

    type: Literal["mark_cutover"] = "mark_cutover"
    cutover: Cutover


OrderAct = Annotated[CompleteStep | ReviewOrder | CancelOrder | MarkCutover, Field(discriminator="type")]
ORDER_ROLES = (Role.COORDINATOR, Role.SUPERVISOR, Role.ADMIN)  # may create and cancel orders


class OrderOutcome(BaseModel):
    """What an accepted act returns."""

    order_id: str
    status: OrderStatus
    revision: int
    message: str = ""


def _refuse(code: RefusalCode, message: str) -> None:
    raise TaskRefused(code, message)


def check_act(order: ProvisioningOrder, act: BaseModel) -> None:
    """Refuse an act the rules of DOMAIN.md §3 do not allow (pure: the update validator runs it)."""
    actor: Actor = act.actor  # type: ignore[attr-defined]
    if order.status in CLOSED or order.status in (OrderStatus.ASSESSING_CANCELLATION, OrderStatus.PENDING_CANCELLATION):
        _refuse(RefusalCode.CONFLICT, f"{act.type}: the order is {order.status.value}")  # type: ignore[attr-defined]
    cutover = order.cutover
    if (
        isinstance(act, CompleteStep)
        and cutover is not None
        and act.step == cutover.step == order.current
        and cutover.started_at is None
    ):
        _refuse(
            RefusalCode.CONFLICT,
            f"cut-over: {cutover.step} may not start before {cutover.earliest_start.isoformat()} "
            f"(the customers were told at {cutover.notified_at.isoformat()}; notice period {cutover.notice_period})",
        )
    if not isinstance(act, CancelOrder) and order.current and order.step(order.current).task_id is None:
        # Not a refusal: the API waits (bounded) for the step's task to open and then delivers the act.
        _refuse(RefusalCode.NOT_READY, f"step: {order.current} is being opened")
    match act:
        case CompleteStep():
            if not order.has_step(act.step) or act.step == REVIEW:
                _refuse(RefusalCode.INVALID, f"step: {act.step!r} is not a step of this order's plan")
            if act.step != order.current:
                _refuse(RefusalCode.CONFLICT, f"step: {act.step} is not the step in progress ({order.current})")
            step = order.step(act.step)
            if not step.candidates.admits(actor):
                _refuse(RefusalCode.FORBIDDEN, f"step: {act.step} is done by {step.candidates.describe()}")
            if act.step in STEP_DOCUMENTS:
                kinds = {d.kind for d in act.documents}
                if missing := [k for k in STEP_DOCUMENTS[act.step] if k not in kinds]:
                    _refuse(RefusalCode.INVALID, f"documents: the {' and '.join(missing)} must be uploaded")
        case ReviewOrder():
            if order.current != REVIEW:
                _refuse(
                    RefusalCode.CONFLICT,
                    f"review: the order is not waiting for review (step in progress: {order.current})",
                )
            if not actor.has_role(Role.REVIEWER):
                _refuse(RefusalCode.FORBIDDEN, "review: reviewers only")
            if actor.username in order.doers:
                _refuse(
                    RefusalCode.FORBIDDEN, f"four-eyes: {actor.username} did a step of this order and cannot review it"
                )
            if act.outcome == "return":
                if not act.reason.strip():
                    _refuse(RefusalCode.INVALID, "reason: a reason is required to return the order")
                if not act.return_to or not order.has_step(act.return_to) or act.return_to in (DISPATCH, REVIEW):
                    _refuse(RefusalCode.INVALID, f"return_to: one of {', '.join(s.step for s in order.steps[1:-1])}")
        case MarkCutover():
            if not actor.has_role(*ORDER_ROLES):
                _refuse(RefusalCode.FORBIDDEN, "cutover: coordinators, supervisors or admins only")
            name = act.cutover.step
            if not order.has_step(name) or name in (DISPATCH, REVIEW):
                _refuse(RefusalCode.INVALID, f"cutover.step: one of {', '.join(s.step for s in order.steps[1:-1])}")
            if order.cutover is not None:
                _refuse(RefusalCode.CONFLICT, f"cutover: {order.cutover.step} is already announced as the cut-over")
            step = order.step(name)
            if step.done_at is not None or (order.current == name and step.task_id is not None):
                _refuse(RefusalCode.CONFLICT, f"cutover: {name} has already started; announce a cut-over before it")
        case CancelOrder():
            if order.status not in CANCELLABLE:
                _refuse(RefusalCode.CONFLICT, f"cancel: not allowed while the order is {order.status.value}")
            if not actor.has_role(*ORDER_ROLES):
                _refuse(RefusalCode.FORBIDDEN, "cancel: coordinators, supervisors or admins only")
        case _:
            _refuse(RefusalCode.INVALID, f"unknown act {type(act).__name__}")


# ---- what the workflow asks activities to do ---------------------------------------------------------------


class OrderSave(BaseModel):
    """An order state for the read model, with what came with the change (audit row, documents, notices)."""

    model_config = ConfigDict(frozen=True)

    order: ProvisioningOrder
    audit: AuditRecord | None = None
    documents: tuple[DocumentRef, ...] = ()
    document_step: str | None = None
    uploaded_by: str | None = None
    notifications: tuple[NotificationRecord, ...] = ()


class OrderChange(OrderSave):
    """One act's writes under order-one-write: its task changes (written first), then the order with what came with
    the change, in one transaction."""

    tasks: tuple[TaskEvent, ...] = ()

    def echo(self) -> WriteEcho:
        """What the write echoes for the timeline (not the whole order)."""
        order = self.order
        return WriteEcho.of(order.order_id, order.revision, order.status, self.audit, self.tasks)


class CompletionReport(BaseModel):
    """报竣: what the group dispatch system receives when a circuit is complete."""

    model_config = ConfigDict(frozen=True)

    key: str  # idempotency key: the dispatch system records one report per key
    order_id: str
    circuit_id: str
    circuit_type: CircuitType
    a_end: CircuitEnd
    z_end: CircuitEnd
    bandwidth: str
    completed_at: datetime
    documents: tuple[DocumentRef, ...] = ()
    action: Literal["add", "delete"] = "add"  # delete: the circuit was closed


class CircuitClosure(BaseModel):
    """A closure order ended a circuit: its ledger row is closed (kept, never deleted)."""

    model_config = ConfigDict(frozen=True)

    circuit_id: str
    closure_order_id: str
    closed_at: datetime


class LedgerEntry(BaseModel):
    """A circuit-ledger row: the circuit, its dates, documents and timeliness; or the cancel of its order."""

    model_config = ConfigDict(frozen=True)

    circuit_id: str
    order_id: str
    status: Literal["active", "cancelled", "closed"]
    circuit_type: CircuitType
    a_end: CircuitEnd
    z_end: CircuitEnd
    bandwidth: str
    ordered_at: datetime
    requested_completion: datetime
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    on_time: bool | None = None
    cycle_seconds: float | None = None
    documents: tuple[DocumentRef, ...] = ()
    steps: tuple[dict[str, Any], ...] = ()  # per step: due, done, on time, rework


# ---- TMF641 orders of several items ------------------------------------------------------------------------

_TERMINAL_STATES = frozenset({"completed", "failed", "cancelled", "rejected"})
_CANCELLING_STATES = ("assessingCancellation", "pendingCancellation")


def order_state(item_states: list[str]) -> str:
    """A TMF641 order's state from its items' states (one provisioning order each), per TMF641's state rules:
    all alike → that state; a cancellation under way → its stage; all ended → partial when some completed (failed,
    else cancelled, when none did); otherwise inProgress (some item has started, or they stand at different stages).
    """
    states = set(item_states)
    if len(states) == 1:
        return states.pop()
    if cancelling := next((s for s in _CANCELLING_STATES if s in states), None):
        return cancelling
    if states <= _TERMINAL_STATES:
        return "partial" if "completed" in states else "failed" if "failed" in states else "cancelled"
    return "inProgress"
