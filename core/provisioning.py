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

from core.calendar import BusinessCalendar
from core.records import AuditRecord, NotificationRecord, PolicyRef
from core.reservations import ReservationState
from core.roles import Actor, Role
from core.sla import LadderStep
from core.tasks import Candidates, RefusalCode, TaskRefused

DISPATCH = "dispatch"
REVIEW = "review"
COMPLETION_ORDER = "completion_order"
REQUIRED_DOCUMENTS = ("completion_order", "test_report")  # 竣工单 and test report, with the completion-order step
GROUP_CUSTOMER_DEPARTMENT = "group-customer"


def workflow_id_for(order_id: str) -> str:
    """The order's workflow id derives from its id (never from customer data)."""
    return f"provisioning-{order_id}"


class CircuitType(StrEnum):
    """Enterprise circuit and data services (DOMAIN.md §3)."""

    DIGITAL_CIRCUIT = "digital_circuit"
    ATM = "atm"
    DDN = "ddn"
    FRAME_RELAY = "frame_relay"
    MPLS_VPN = "mpls_vpn"
    OTHER = "other"


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


class CircuitSpec(BaseModel):
    """What a provisioning order builds (one TMF order item)."""

    model_config = ConfigDict(frozen=True)

    circuit_type: CircuitType
    a_end: CircuitEnd
    z_end: CircuitEnd
    bandwidth: str = Field(min_length=1, max_length=32, description="e.g. 2M, 100M, 1G")
    requested_completion: datetime
    requested_start: datetime | None = None  # TMF641 requestedStartDate: work may not start earlier
    customer_id: str | None = Field(default=None, max_length=64)
    resource_check_id: str | None = Field(default=None, max_length=64)
    reservation_id: str | None = Field(default=None, max_length=200)
    needs_procurement: bool = False  # what the resource check said
    needs_construction: bool = False

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


class ProvisioningRules(BaseModel):
    """Versioned routing and step-plan rules an administrator edits; an order keeps the version it started with."""

    model_config = ConfigDict(frozen=True)

    name: str = "default"
    version: int = 1
    dispatchers: dict[Scope, StepRule]
    steps: tuple[StepRule, ...]
    review: StepRule
    warning_percent: int = Field(default=75, gt=0, lt=100)

    @model_validator(mode="after")
    def _complete(self) -> ProvisioningRules:
        """Both scopes need a dispatcher; step names are unique and none is dispatch or review."""
        if missing := [s.value for s in Scope if s not in self.dispatchers]:
            raise ValueError(f"dispatchers: missing {', '.join(missing)}")
        names = [s.step for s in self.steps]
        if len(names) != len(set(names)) or {DISPATCH, REVIEW} & set(names):
            raise ValueError("steps: names must be unique and not dispatch or review")
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
            ),
            StepRule(step="activation", title="activate the circuit", department="operations", weight=1),
            StepRule(step="testing", title="test the circuit end to end", department="operations", weight=1),
            StepRule(
                step=COMPLETION_ORDER,
                title="submit the completion order with the test report",
                department="operations",
                weight=1,
            ),
        ),
        review=StepRule(step=REVIEW, title="review the completed work", role=Role.REVIEWER, weight=1),
    )


def plan_steps(rules: ProvisioningRules, spec: CircuitSpec) -> list[StepRule]:
    """Dispatch, the steps whose condition holds for this circuit, then review."""
    holds = {
        "always": True,
        "procurement": spec.needs_procurement,
        "construction": spec.needs_construction,
        "cross_province": spec.scope == Scope.CROSS_PROVINCE,
        "intra_province": spec.scope == Scope.INTRA_PROVINCE,
    }
    return [rules.dispatchers[spec.scope], *(s for s in rules.steps if holds[s.when]), rules.review]


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


OrderAct = Annotated[CompleteStep | ReviewOrder | CancelOrder, Field(discriminator="type")]
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
    if not isinstance(act, CancelOrder) and order.current and order.step(order.current).task_id is None:
        _refuse(RefusalCode.CONFLICT, f"step: {order.current} is being opened; retry shortly")
    match act:
        case CompleteStep():
            if not order.has_step(act.step) or act.step == REVIEW:
                _refuse(RefusalCode.INVALID, f"step: {act.step!r} is not a step of this order's plan")
            if act.step != order.current:
                _refuse(RefusalCode.CONFLICT, f"step: {act.step} is not the step in progress ({order.current})")
            step = order.step(act.step)
            if not step.candidates.admits(actor):
                _refuse(RefusalCode.FORBIDDEN, f"step: {act.step} is done by {step.candidates.describe()}")
            if act.step == COMPLETION_ORDER:
                kinds = {d.kind for d in act.documents}
                if missing := [k for k in REQUIRED_DOCUMENTS if k not in kinds]:
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


class LedgerEntry(BaseModel):
    """A circuit-ledger row: the circuit, its dates, documents and timeliness; or the cancel of its order."""

    model_config = ConfigDict(frozen=True)

    circuit_id: str
    order_id: str
    status: Literal["active", "cancelled"]
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
