"""Service tickets (DOMAIN.md §1): intake, statuses, acts, and the pure rules that accept or refuse each act.

The workflow holds a `Ticket`; every human act arrives as one `TicketAct` (a tagged union) through the
ticket workflow's `act` update, whose validator runs `check_act` below. The same rules therefore govern
the API, the workflow and its replay.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from core.arbitration import ArbitrationRules
from core.bounds import MAX_LEAD
from core.records import AuditRecord, PolicyRef, TaskEvent, WriteEcho
from core.resource_checks import ResourceCheckRules, default_resource_check_rules
from core.roles import Actor, Role
from core.sla import Priority
from core.tasks import RefusalCode, TaskRefused

# The create's audit action: journaled by the API as it starts the workflow (api/acts.start_journaled), and again
# (the same request id) with the workflow's first write, which only looks it up (db/audit.append_unless_journaled).
CREATE_ACTION = "ticket.create"


class Category(StrEnum):
    """Ticket categories (multi-select)."""

    PRESALES = "presales"
    AFTERSALES_HARDWARE = "aftersales_hardware"
    AFTERSALES_SOFTWARE = "aftersales_software"
    COMPLAINT = "complaint"
    OTHER = "other"  # cross-department: a supervisor names a lead and supporting departments


class ComplaintType(StrEnum):
    """What a complaint is about (seed 003)."""

    SERVICE_QUALITY = "service_quality"
    BILLING = "billing"
    DEVICE = "device"


class Channel(StrEnum):
    """Where the request came in, and how the customer wants to hear back."""

    PHONE = "phone"
    ONLINE_CHAT = "online_chat"
    EMAIL = "email"
    WALK_IN = "walk_in"
    PORTAL = "portal"


class TicketStatus(StrEnum):
    """Our statuses; `TMF_STATUS` maps them onto TMF621's."""

    INTAKE_INCOMPLETE = "intake_incomplete"
    PENDING_ASSIGNMENT = "pending_assignment"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"  # SLA paused (TMF pending)
    HELD = "held"  # SLA paused, waiting on a third party (TMF held)
    PENDING_FEEDBACK = "pending_feedback"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TMF_STATUS: dict[TicketStatus, str] = {
    TicketStatus.INTAKE_INCOMPLETE: "acknowledged",
    TicketStatus.PENDING_ASSIGNMENT: "acknowledged",
    TicketStatus.IN_PROGRESS: "inProgress",
    TicketStatus.WAITING_CUSTOMER: "pending",
    TicketStatus.HELD: "held",
    TicketStatus.PENDING_FEEDBACK: "resolved",
    TicketStatus.RESOLVED: "resolved",
    TicketStatus.CLOSED: "closed",
    TicketStatus.CANCELLED: "cancelled",
}
PAUSED = (TicketStatus.WAITING_CUSTOMER, TicketStatus.HELD)
WORKING = (TicketStatus.IN_PROGRESS, *PAUSED)


class Intake(BaseModel):
    """What the agent registers; every field may be missing on a bare TMF create."""

    model_config = ConfigDict(frozen=True)

    customer_id: str | None = Field(default=None, max_length=64)
    customer_name: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200, description="stored whole, always shown masked")
    channel: Channel | None = None
    preferred_channel: Channel | None = None
    occurred_at: datetime | None = Field(default=None, description="when the problem occurred, to the minute")
    scenario: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=4000)
    categories: tuple[Category, ...] = ()
    priority: Priority | None = None
    complaint_type: ComplaintType | None = None
    major_complaint: bool = False
    name: str | None = Field(default=None, max_length=200, description="short title (TMF name)")
    severity: str | None = Field(default=None, max_length=32, description="TMF severity, kept as given")
    ticket_type: str | None = Field(default=None, max_length=64, description="TMF ticketType, kept as given")
    external_id: str | None = Field(default=None, max_length=100, description="the external system's id (TMF)")
    fault_site: str | None = Field(default=None, max_length=100, description="where the fault is (customer site)")
    circuit_id: str | None = Field(default=None, max_length=64, description="the affected circuit")
    service: str | None = Field(default=None, max_length=64, description="the affected service")

    @model_serializer(mode="wrap")
    def _only_set_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Only the fields that were set, so an AmendIntake's change set survives its trip through Temporal."""
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}

    def merged(self, changes: Intake) -> Intake:
        """This intake with every field the change sets."""
        return self.model_copy(update=changes.model_dump(exclude_unset=True))


REQUIRED_INTAKE = (
    "customer_id",
    "customer_name",
    "industry",
    "contact",
    "channel",
    "occurred_at",
    "scenario",
    "description",
    "categories",
    "priority",
)


def missing_intake(intake: Intake) -> list[str]:
    """Fields the seed requires before assignment that are still empty."""
    missing = [name for name in REQUIRED_INTAKE if not getattr(intake, name)]
    if Category.COMPLAINT in intake.categories and intake.complaint_type is None:
        missing.append("complaint_type")
    return missing


class ProgressKind(StrEnum):
    """The kinds of progress-log entry."""

    ACTION = "action"
    COLLABORATION = "collaboration"
    CUSTOMER_CONTACT = "customer_contact"
    NOTE = "note"  # a remark, e.g. registered with the ticket; meets no close requirement


class ProgressEntry(BaseModel):
    """One time-ordered progress-log entry."""

    at: datetime
    author: str
    kind: ProgressKind
    text: str
    outcome: str | None = None  # for customer contacts: what came of it
    is_plan: bool = False  # the handling plan owed by the plan deadline


class PauseSpan(BaseModel):
    """One SLA pause: the ledger moves deadlines by exactly the paused time."""

    started_at: datetime
    ended_at: datetime | None = None
    kind: Literal["customer", "third_party"]
    reason: str
    started_by: str
    ended_by: str | None = None


class Rating(StrEnum):
    """Anonymous satisfaction rating."""

    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"


class SlaCycle(BaseModel):
    """One SLA cycle; a reopen starts a new one and keeps the old."""

    number: int
    started_at: datetime
    response_due: datetime
    plan_due: datetime
    resolution_cap: datetime
    resolution_due: datetime | None = None  # the one stored resolution deadline; the resolve task follows it
    responded_at: datetime | None = None
    planned_at: datetime | None = None
    resolved_at: datetime | None = None
    rating: Rating | None = None
    breaches: list[str] = Field(default_factory=list)


class Resolution(BaseModel):
    """What the handler tells the customer on resolution."""

    model_config = ConfigDict(frozen=True)

    cause: str = Field(min_length=1, max_length=2000)
    solution: str = Field(min_length=1, max_length=4000)
    advice: str = Field(default="", max_length=2000)
    channel: Channel


class AssignmentRule(BaseModel):
    """Where tickets of one category go: a department or a role."""

    model_config = ConfigDict(frozen=True)

    category: Category
    department: str | None = None
    role: Role | None = None


class TicketTypes(BaseModel):
    """TMF621 `ticketType` (free text) → our category: a category's own name, else this table, else `default`.

    Names compare without regard to case or surrounding space. `default` applies only when nothing names a category
    (neither the ticket type nor the `categories` extension).
    """

    model_config = ConfigDict(frozen=True)

    types: dict[str, Category] = Field(default_factory=dict)
    default: Category = Category.OTHER  # a supervisor coordinates what no rule knows

    @model_validator(mode="after")
    def _one_name_one_category(self) -> TicketTypes:
        """Every name is non-blank and names one category (names differing only in case are one name)."""
        keys = [name.strip().casefold() for name in self.types]
        if "" in keys:
            raise ValueError("types: a ticket type name must not be blank")
        if len(set(keys)) != len(keys):
            raise ValueError("types: the same ticket type twice (names compare without regard to case)")
        return self

    def category_of(self, ticket_type: str) -> Category | None:
        """The category a ticket type names, None when neither our categories nor the table know it."""
        key = ticket_type.strip().casefold()
        if key in Category._value2member_map_:
            return Category(key)
        return next((c for name, c in self.types.items() if name.strip().casefold() == key), None)


def default_ticket_types() -> TicketTypes:
    """Ticket types integrators send (TMF621's examples and common OSS ones), each to the category handling it."""
    return TicketTypes(
        types={
            "connectivity": Category.AFTERSALES_HARDWARE,
            "hardware": Category.AFTERSALES_HARDWARE,
            "equipment": Category.AFTERSALES_HARDWARE,
            "software": Category.AFTERSALES_SOFTWARE,
            "complain": Category.COMPLAINT,
            "request": Category.PRESALES,
            "inquiry": Category.PRESALES,
        }
    )


class AssignmentRules(BaseModel):
    """Versioned assignment rules an administrator edits; categories without a rule go to coordination."""

    model_config = ConfigDict(frozen=True)

    name: str = "default"
    version: int = 1
    rules: tuple[AssignmentRule, ...]
    coordinator_role: Role = Role.SUPERVISOR
    resource_check: ResourceCheckRules = Field(default_factory=default_resource_check_rules)  # DOMAIN.md §2
    ticket_types: TicketTypes = Field(default_factory=default_ticket_types)  # TMF621 ticketType → category
    arbitration: ArbitrationRules = Field(default_factory=ArbitrationRules)  # DOMAIN.md §7: who decides disputes


def default_assignment_rules() -> AssignmentRules:
    """DOMAIN.md §1: pre-sales → product support; hardware/software → engineers; complaints → supervisors."""
    return AssignmentRules(
        rules=(
            AssignmentRule(category=Category.PRESALES, department="product-support"),
            AssignmentRule(category=Category.AFTERSALES_HARDWARE, department="hardware-engineering"),
            AssignmentRule(category=Category.AFTERSALES_SOFTWARE, department="software-engineering"),
            AssignmentRule(category=Category.COMPLAINT, role=Role.SUPERVISOR),
        )
    )


def route(categories: tuple[Category, ...], rules: AssignmentRules) -> AssignmentRule | None:
    """The rule every category agrees on, or None when a supervisor must coordinate (cross-department)."""
    by_category = {rule.category: rule for rule in rules.rules}
    if not categories or Category.OTHER in categories or any(c not in by_category for c in categories):
        return None
    # A complaint that rides with another category goes where that category goes.
    relevant: list[Category] = [c for c in categories if c != Category.COMPLAINT] or list(categories)
    targets = {(by_category[c].department, by_category[c].role) for c in relevant}
    if len(targets) != 1:
        return None
    department, role = targets.pop()
    return AssignmentRule(category=relevant[0], department=department, role=role)


# ---- acts: every human act on a ticket ------------------------------------------------------------


class _Act(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor


class AmendIntake(_Act):
    """Supply or correct intake fields (TMF PATCH)."""

    type: Literal["amend_intake"] = "amend_intake"
    changes: Intake


class Accept(_Act):
    """The handler takes the ticket and promises a resolution time within the policy's cap."""

    type: Literal["accept"] = "accept"
    expected_resolution_at: datetime


class LogProgress(_Act):
    """Add a progress-log entry."""

    type: Literal["log_progress"] = "log_progress"
    kind: ProgressKind
    text: str = Field(min_length=1, max_length=4000)
    outcome: str | None = Field(default=None, max_length=1000)
    is_plan: bool = False


class RequestExtension(_Act):
    """Ask a supervisor, in advance, for a later resolution time."""

    type: Literal["request_extension"] = "request_extension"
    new_expected_at: datetime
    reason: str = Field(min_length=1, max_length=2000)


class RequestEscalation(_Act):
    """Ask a supervisor to move the ticket to a higher tier (and its deadline)."""

    type: Literal["request_escalation"] = "request_escalation"
    reason: str = Field(min_length=1, max_length=2000)
    resources_needed: str = Field(default="", max_length=2000)
    new_expected_at: datetime


class Pause(_Act):
    """Stop the SLA clock while waiting on the customer (TMF pending) or a third party (TMF held)."""

    type: Literal["pause"] = "pause"
    kind: Literal["customer", "third_party"] = "customer"
    reason: str = Field(min_length=1, max_length=1000)


class Resume(_Act):
    """Restart the SLA clock."""

    type: Literal["resume"] = "resume"
    note: str = Field(default="", max_length=1000)


class Resolve(_Act):
    """Record cause, solution and advice; the customer is told and asked to rate."""

    type: Literal["resolve"] = "resolve"
    resolution: Resolution


class VerifyResolution(_Act):
    """The handler records that the fix was verified (when the customer does not confirm)."""

    type: Literal["verify_resolution"] = "verify_resolution"
    note: str = Field(min_length=1, max_length=1000)


class CustomerFeedback(_Act):
    """The customer's anonymous survey answer: confirmed or not, and a rating."""

    type: Literal["customer_feedback"] = "customer_feedback"
    resolved: bool
    rating: Rating | None = None
    comment: str = Field(default="", max_length=2000)


class Close(_Act):
    """Close: only when resolved, rated (or followed up) and logged."""

    type: Literal["close"] = "close"


class Reopen(_Act):
    """Reopen a closed ticket within the reopen window: a new SLA cycle starts, the old one is kept."""

    type: Literal["reopen"] = "reopen"
    reason: str = Field(min_length=1, max_length=2000)


class Cancel(_Act):
    """Withdraw a ticket registered by mistake (duplicate, wrong customer) before it is resolved."""

    type: Literal["cancel"] = "cancel"
    reason: str = Field(min_length=1, max_length=2000)


class HandOver(_Act):
    """首问负责制: the ticket's owner (its first responder until now) hands it over to a colleague, on the record."""

    type: Literal["hand_over"] = "hand_over"
    to_user: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    reason: str = Field(min_length=1, max_length=2000)


class HandOverRecord(BaseModel):
    """One recorded hand-over of a ticket's ownership: who, to whom, why, when."""

    model_config = ConfigDict(frozen=True)

    from_user: str
    to_user: str
    by: str  # the owner, or a supervisor handing over for them
    reason: str
    at: datetime


TicketAct = Annotated[
    AmendIntake
    | Accept
    | LogProgress
    | RequestExtension
    | RequestEscalation
    | Pause
    | Resume
    | Resolve
    | VerifyResolution
    | CustomerFeedback
    | Close
    | Reopen
    | Cancel
    | HandOver,
    Field(discriminator="type"),
]

CUSTOMER = Actor(username="customer")  # survey answers identify no one


class TicketInput(BaseModel):
    """What starts a ticket workflow."""

    model_config = ConfigDict(frozen=True)

    ticket_no: str
    intake: Intake
    created_by: Actor
    request_id: str
    policy: PolicyRef = PolicyRef()
    created_at: datetime | None = None  # set by the workflow from its start time when absent
    log: tuple[ProgressEntry, ...] = ()  # notes registered with the ticket (TMF621 `note` on create)


class ActOutcome(BaseModel):
    """What an accepted ticket act returns."""

    ticket_no: str
    status: TicketStatus
    revision: int
    message: str = ""


class Ticket(BaseModel):
    """The ticket as its workflow holds it (and as the read model and queries show it)."""

    ticket_no: str
    workflow_id: str
    intake: Intake
    status: TicketStatus
    created_at: datetime
    created_by: str
    first_responder: str  # 首问负责制: whoever first received the request; owns it until handed over on the record
    owner: str | None = None  # who owns it after a recorded hand-over (None: the first responder still does)
    handovers: list[HandOverRecord] = Field(default_factory=list)
    policy_name: str = ""
    policy_version: int = 0
    calendar_name: str = ""
    calendar_version: int = 0
    handler: str | None = None
    candidates_department: str | None = None
    candidates_role: Role | None = None
    lead_department: str | None = None
    supporting_departments: tuple[str, ...] = ()
    tier: int = 1
    green_channel: bool = False
    cycles: list[SlaCycle] = Field(default_factory=list)
    pauses: list[PauseSpan] = Field(default_factory=list)
    log: list[ProgressEntry] = Field(default_factory=list)
    resolution: Resolution | None = None
    customer_confirmed: bool = False
    verified_by: str | None = None
    rating: Rating | None = None
    rating_comment: str = ""
    rating_followup_done: bool = False
    second_followup_required: bool = False
    second_followup_done: bool = False
    callback_done: bool = False
    pending_extension_task: str | None = None
    pending_escalation_task: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    reopen_until: datetime | None = None
    status_history: list[tuple[datetime, TicketStatus, str]] = Field(default_factory=list)
    revision: int = 0

    @property
    def cycle(self) -> SlaCycle:
        """The current SLA cycle."""
        return self.cycles[-1]

    @property
    def responsible(self) -> str:
        """Who answers for the ticket to the customer: the first responder until a recorded hand-over."""
        return self.owner or self.first_responder

    @property
    def resolution_deadline(self) -> datetime | None:
        """The resolution deadline wherever it is shown: the cycle's (promised, then moved), else its cap."""
        return (self.cycle.resolution_due or self.cycle.resolution_cap) if self.cycles else None

    @property
    def open_pause(self) -> PauseSpan | None:
        """The pause in progress, if any."""
        return self.pauses[-1] if self.pauses and self.pauses[-1].ended_at is None else None


# ---- rules ----------------------------------------------------------------------------------------------

HANDLING_ROLES = (Role.ENGINEER, Role.DEPARTMENT, Role.SUPERVISOR, Role.AGENT)


def _refuse(code: RefusalCode, message: str) -> None:
    raise TaskRefused(code, message)


def _in_status(ticket: Ticket, act: str, *allowed: TicketStatus) -> None:
    if ticket.status not in allowed:
        _refuse(RefusalCode.CONFLICT, f"{act}: not allowed while the ticket is {ticket.status.value}")


def _handler_only(ticket: Ticket, actor: Actor, act: str) -> None:
    if actor.username != ticket.handler and not actor.has_role(Role.SUPERVISOR):
        _refuse(RefusalCode.FORBIDDEN, f"{act}: only the handler ({ticket.handler}) or a supervisor may do this")


def close_blockers(ticket: Ticket) -> list[str]:
    """What still stands in the way of closing: resolved, rated (or followed up), logged."""
    blockers = []
    if ticket.status != TicketStatus.RESOLVED:
        blockers.append("not resolved: the customer has not confirmed and the handler has not verified the fix")
    if ticket.rating is None and not ticket.rating_followup_done:
        blockers.append("no rating yet and the rating follow-up is not done")
    if ticket.second_followup_required and not ticket.second_followup_done:
        blockers.append("the second follow-up after a neutral/dissatisfied rating is not done")
    if Category.COMPLAINT in ticket.intake.categories and not ticket.callback_done:
        blockers.append("the complaint callback is not done")
    kinds = {entry.kind for entry in ticket.log}
    needed = {ProgressKind.ACTION, ProgressKind.CUSTOMER_CONTACT}
    if ticket.lead_department:
        needed.add(ProgressKind.COLLABORATION)
    if missing := sorted(k.value for k in needed - kinds):
        blockers.append(f"progress log incomplete: no {', '.join(missing)} entry")
    return blockers


def check_act(ticket: Ticket, act: BaseModel, now: datetime) -> None:
    """Refuse an act the rules of DOMAIN.md §1 do not allow (pure: the update validator runs it)."""
    actor: Actor = act.actor  # type: ignore[attr-defined]
    if actor.has_role(Role.AUDITOR) and not (set(actor.roles) - {Role.AUDITOR}):
        _refuse(RefusalCode.FORBIDDEN, "auditors read; they do not act on tickets")
    if isinstance(act, CustomerFeedback):
        _in_status(ticket, "customer_feedback", TicketStatus.PENDING_FEEDBACK, TicketStatus.RESOLVED)
        if ticket.rating is not None:
            _refuse(RefusalCode.CONFLICT, "customer_feedback: this survey was already answered")
        return
    if actor.username == CUSTOMER.username:
        _refuse(RefusalCode.FORBIDDEN, "customers may only answer the survey")
    match act:
        case AmendIntake():
            _in_status(
                ticket, "amend_intake", TicketStatus.INTAKE_INCOMPLETE, TicketStatus.PENDING_ASSIGNMENT, *WORKING
            )
            if not actor.has_role(Role.AGENT, Role.SUPERVISOR) and actor.username != ticket.handler:
                _refuse(RefusalCode.FORBIDDEN, "amend_intake: agents, supervisors or the handler only")
        case Accept():
            _in_status(ticket, "accept", TicketStatus.PENDING_ASSIGNMENT)
            if ticket.candidates_department is None and ticket.candidates_role is None:
                _refuse(
                    RefusalCode.CONFLICT,
                    "accept: the ticket is not assigned yet (a supervisor coordinates the departments)",
                )
            if not _may_handle(ticket, actor):
                who = ticket.candidates_department or ticket.candidates_role
                _refuse(RefusalCode.FORBIDDEN, f"accept: this ticket is assigned to {who}")
            if act.expected_resolution_at <= now:
                _refuse(RefusalCode.INVALID, "expected_resolution_at: must be in the future")
            if act.expected_resolution_at > ticket.cycle.resolution_cap:
                _refuse(
                    RefusalCode.INVALID,
                    f"expected_resolution_at: later than the policy allows "
                    f"({ticket.cycle.resolution_cap.isoformat()}); request an extension instead",
                )
        case LogProgress():
            _in_status(ticket, "log_progress", *WORKING, TicketStatus.PENDING_FEEDBACK, TicketStatus.RESOLVED)
            if act.kind != ProgressKind.COLLABORATION:
                _handler_only(ticket, actor, "log_progress")
            elif not (
                actor.username == ticket.handler
                or actor.has_role(Role.SUPERVISOR)
                or (actor.department and actor.department in ticket.supporting_departments)
            ):
                _refuse(
                    RefusalCode.FORBIDDEN,
                    "log_progress: collaboration entries come from the handler or a supporting department",
                )
        case RequestExtension() | RequestEscalation():
            name = act.type
            _in_status(ticket, name, *WORKING)
            if actor.username != ticket.handler:
                _refuse(RefusalCode.FORBIDDEN, f"{name}: only the handler ({ticket.handler}) may request this")
            pending = (
                ticket.pending_extension_task if isinstance(act, RequestExtension) else ticket.pending_escalation_task
            )
            if pending:
                _refuse(RefusalCode.CONFLICT, f"{name}: a request is already waiting for a supervisor ({pending})")
            due = ticket.cycle.resolution_due
            if isinstance(act, RequestExtension) and due is not None and now >= due:
                _refuse(
                    RefusalCode.CONFLICT,
                    "request_extension: must be asked in advance; the deadline has passed (request an escalation)",
                )
            if act.new_expected_at <= max(now, due or now):
                _refuse(RefusalCode.INVALID, "new_expected_at: must be later than the current deadline")
            if act.new_expected_at > now + MAX_LEAD:
                _refuse(RefusalCode.INVALID, f"new_expected_at: at most {MAX_LEAD.days} days ahead")
        case Pause():
            _in_status(ticket, "pause", TicketStatus.IN_PROGRESS)
            _handler_only(ticket, actor, "pause")
        case Resume():
            _in_status(ticket, "resume", *PAUSED)
            _handler_only(ticket, actor, "resume")
        case Resolve():
            _in_status(ticket, "resolve", TicketStatus.IN_PROGRESS)
            _handler_only(ticket, actor, "resolve")
        case VerifyResolution():
            _in_status(ticket, "verify_resolution", TicketStatus.PENDING_FEEDBACK)
            _handler_only(ticket, actor, "verify_resolution")
        case Close():
            _in_status(ticket, "close", TicketStatus.RESOLVED, TicketStatus.PENDING_FEEDBACK)
            if not (
                actor.username in (ticket.handler, ticket.first_responder, ticket.responsible)
                or actor.has_role(Role.SUPERVISOR, Role.AGENT)
            ):
                _refuse(RefusalCode.FORBIDDEN, "close: the handler, the first responder, an agent or a supervisor")
            if blockers := close_blockers(ticket):
                _refuse(RefusalCode.CONFLICT, "close: " + "; ".join(blockers))
        case Reopen():
            _in_status(ticket, "reopen", TicketStatus.CLOSED)
            if ticket.reopen_until is None or now > ticket.reopen_until:
                _refuse(RefusalCode.CONFLICT, "reopen: the reopen window has passed; register a new ticket")
            if not actor.has_role(Role.AGENT, Role.SUPERVISOR):
                _refuse(RefusalCode.FORBIDDEN, "reopen: agents or supervisors only")
        case Cancel():
            _in_status(ticket, "cancel", TicketStatus.INTAKE_INCOMPLETE, TicketStatus.PENDING_ASSIGNMENT, *WORKING)
            if not actor.has_role(Role.AGENT, Role.SUPERVISOR):
                _refuse(RefusalCode.FORBIDDEN, "cancel: agents or supervisors only")
        case HandOver():
            if ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
                _refuse(RefusalCode.CONFLICT, f"hand_over: the ticket is {ticket.status.value}")
            if actor.username != ticket.responsible and not actor.has_role(Role.SUPERVISOR):
                _refuse(
                    RefusalCode.FORBIDDEN,
                    f"hand_over: only its owner ({ticket.responsible}) or a supervisor hands the ticket over",
                )
            if act.to_user == ticket.responsible:
                _refuse(RefusalCode.INVALID, f"to_user: {act.to_user} already owns the ticket")
        case _:
            _refuse(RefusalCode.INVALID, f"unknown act {type(act).__name__}")


def _may_handle(ticket: Ticket, actor: Actor) -> bool:
    """True when the actor belongs to the assigned department or role."""
    if ticket.candidates_department:
        return actor.department == ticket.candidates_department and actor.has_role(*HANDLING_ROLES)
    return ticket.candidates_role is not None and actor.has_role(ticket.candidates_role)


class TicketSave(BaseModel):
    """A ticket state to write to the read model, with the audit row of the act that produced it."""

    model_config = ConfigDict(frozen=True)

    ticket: Ticket
    audit: AuditRecord | None = None


class SurveyIssue(BaseModel):
    """A survey to issue with the resolution message, sent by the customer's channel (the activity draws the secret)."""

    model_config = ConfigDict(frozen=True)

    token: str | None = None  # runs from before survey-secret-from-activity sent one; never used
    ticket_no: str
    workflow_id: str
    cycle: int
    channel: Channel
    body: str  # the resolution as plain text (runs from before ticket-resolution-template send only this)
    resolution: Resolution | None = None  # rendered into the admins' resolution template


class TicketChange(TicketSave):
    """One act's writes under read-model-one-write: its task changes (written first), the ticket and its audit row,
    the survey its resolution issues and, on the close, its knowledge-base entry."""

    tasks: tuple[TaskEvent, ...] = ()
    survey: SurveyIssue | None = None
    archive: bool = False

    def echo(self) -> WriteEcho:
        """What the write echoes for the timeline (not the whole ticket)."""
        ticket = self.ticket
        return WriteEcho.of(ticket.ticket_no, ticket.revision, ticket.status, self.audit, self.tasks)
