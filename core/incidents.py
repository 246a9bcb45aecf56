"""Emergencies (应急预案, DOMAIN.md §5; seeds 000 and 004): one `Incident` workflow per emergency.

An incident is declared by a supervisor, or automatically when N tickets with one fault signature (customer,
site, circuit, service) arrive within a window (`IncidentPolicy`, versioned data). It has a class and a level;
its command group, customer-service team and technical team are named people with roles. It runs the stages
report → start the plan → analyse and locate → solution → carry out → close and review, each a human task due
by the level; the linked tickets get a holding message and are resolved together when the incident is; management
hears of its progress at the level's interval; a major fault is reported along the chain of seed 004, each
hand-on recorded with its time.

Pure contracts and rules shared by the workflow, its activities and the API.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.calendar import Budget
from core.records import AuditRecord, NotificationRecord, PolicyRef
from core.roles import SYSTEM_ACTOR, Actor, Role
from core.tasks import RefusalCode, TaskRefused

WORKFLOW_TYPE = "Incident"
POLICY_NAME = "default"  # the incident policy new incidents and the detection read
DETECTION_PATCH = "ticket-incident-detection"  # the ticket workflow asks, after routing, whether an incident forms


class IncidentClass(StrEnum):
    """What kind of emergency (seed 000)."""

    SYSTEM_FAILURE = "system_failure"  # server down, network outage, software crash
    STAFF_SHORTAGE = "staff_shortage"
    NATURAL_DISASTER = "natural_disaster"
    PUBLIC_OPINION = "public_opinion"  # public-opinion crisis


class IncidentLevel(StrEnum):
    """How bad (seed 000): some customers briefly, many customers needing resources, large numbers for long."""

    GENERAL = "general"
    LARGER = "larger"
    MAJOR = "major"


class Team(StrEnum):
    """The three groups of the emergency organisation (seed 000)."""

    COMMAND = "command"  # the emergency command group: leads, decides
    SERVICE = "service"  # the customer-service emergency team: handles the customers
    TECHNICAL = "technical"  # the technical team: restores the systems


class Stage(StrEnum):
    """The stages in order; each is a human task."""

    REPORT = "report"
    START_PLAN = "start_plan"
    ANALYSE = "analyse"  # analyse and locate
    SOLUTION = "solution"
    CARRY_OUT = "carry_out"
    REVIEW = "review"  # close and review


STAGES = tuple(Stage)
STAGE_TEAM = {
    Stage.REPORT: Team.COMMAND,
    Stage.START_PLAN: Team.COMMAND,
    Stage.ANALYSE: Team.TECHNICAL,
    Stage.SOLUTION: Team.TECHNICAL,
    Stage.CARRY_OUT: Team.COMMAND,  # the command group confirms service is restored (and resolves the tickets)
    Stage.REVIEW: Team.COMMAND,
}
STAGE_SUBJECT = {
    Stage.REPORT: "report the emergency: when, where, the symptom",
    Stage.START_PLAN: "start the emergency plan",
    Stage.ANALYSE: "analyse and locate the fault",
    Stage.SOLUTION: "agree the solution",
    Stage.CARRY_OUT: "carry out the solution and restore service",
    Stage.REVIEW: "close and review: cause, measures, lessons",
}
STAGE_OUTCOME = {
    Stage.REPORT: "reported",
    Stage.START_PLAN: "started",
    Stage.ANALYSE: "located",
    Stage.SOLUTION: "agreed",
    Stage.CARRY_OUT: "restored",
    Stage.REVIEW: "reviewed",
}
REPORT_FIELDS = ("when", "where", "symptom")
REVIEW_FIELDS = ("cause", "measures", "lessons")


class ChainStep(StrEnum):
    """The major-fault report chain (seed 004), in order."""

    DEPARTMENTS = "departments"  # at once to the related departments and people: when, where, symptom, plan
    ACCOUNT_OWNER = "account_owner"  # to the customer's account owner and the responsible manager
    SENIOR_MANAGEMENT = "senior_management"  # who pass it to senior management


CHAIN_SUBJECT = {
    ChainStep.DEPARTMENTS: "major fault: report at once to the related departments and people "
    "(when, where, symptom, plan)",
    ChainStep.ACCOUNT_OWNER: "major fault: pass the report to the customer's account owner and responsible manager",
    ChainStep.SENIOR_MANAGEMENT: "major fault: pass the report to senior management",
}
CHAIN_OUTCOME = "passed"
CHAIN_FIELDS: dict[ChainStep, tuple[str, ...]] = {
    ChainStep.DEPARTMENTS: ("when", "where", "symptom", "plan"),
    ChainStep.ACCOUNT_OWNER: ("account_owner", "manager"),
    ChainStep.SENIOR_MANAGEMENT: ("senior",),
}


class IncidentStatus(StrEnum):
    """Where an incident stands: its current stage, then resolved (in review), closed, or stood down."""

    REPORT = "report"
    START_PLAN = "start_plan"
    ANALYSE = "analyse"
    SOLUTION = "solution"
    CARRY_OUT = "carry_out"
    REVIEW = "review"  # service restored, linked tickets resolved; the review is still owed
    CLOSED = "closed"
    STOOD_DOWN = "stood_down"  # declared by mistake: withdrawn before service was restored


OPEN_STATUSES = tuple(s for s in IncidentStatus if s not in (IncidentStatus.CLOSED, IncidentStatus.STOOD_DOWN))
ACTIVE_STATUSES = tuple(s for s in OPEN_STATUSES if s != IncidentStatus.REVIEW)  # tickets still join these
TMF_STATUS: dict[IncidentStatus, str] = {
    IncidentStatus.REPORT: "acknowledged",
    IncidentStatus.START_PLAN: "inProgress",
    IncidentStatus.ANALYSE: "inProgress",
    IncidentStatus.SOLUTION: "inProgress",
    IncidentStatus.CARRY_OUT: "inProgress",
    IncidentStatus.REVIEW: "resolved",
    IncidentStatus.CLOSED: "closed",
    IncidentStatus.STOOD_DOWN: "cancelled",
}


# ---- policy (versioned data) ------------------------------------------------------------------------------


def _minutes(n: float) -> Budget:
    return Budget(amount=n / 60, unit="hours")


class LevelRules(BaseModel):
    """What a level sets: each stage's budget, each report-chain step's, and how often management hears."""

    model_config = ConfigDict(frozen=True)

    stage_budgets: dict[Stage, Budget]
    chain_budget: Budget = Field(default_factory=lambda: _minutes(15))
    progress_every_minutes: int = Field(ge=5, le=24 * 60)
    management_roles: tuple[Role, ...] = (Role.SUPERVISOR,)

    @model_validator(mode="after")
    def _complete(self) -> LevelRules:
        missing = [s.value for s in Stage if s not in self.stage_budgets]
        if missing:
            raise ValueError(f"stage_budgets: missing {', '.join(missing)}")
        return self


class Detection(BaseModel):
    """When tickets open an incident by themselves: `threshold` tickets of one signature within `window_minutes`."""

    model_config = ConfigDict(frozen=True)

    threshold: int = Field(default=5, ge=2, le=1000)
    window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    incident_class: IncidentClass = IncidentClass.SYSTEM_FAILURE
    level: IncidentLevel = IncidentLevel.LARGER


class IncidentPolicy(BaseModel):
    """The versioned incident policy: detection and the rules of each level."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(default=POLICY_NAME, min_length=1, max_length=64)
    version: int = 1
    detection: Detection = Field(default_factory=Detection)
    levels: dict[IncidentLevel, LevelRules]

    @model_validator(mode="after")
    def _every_level(self) -> IncidentPolicy:
        missing = [lv.value for lv in IncidentLevel if lv not in self.levels]
        if missing:
            raise ValueError(f"levels: rules missing for {', '.join(missing)}")
        return self


def default_incident_policy() -> IncidentPolicy:
    """Stage budgets shrinking with the level; management updated every 4 h, 1 h or 30 min."""

    def hours(n: float) -> Budget:
        return Budget(amount=n, unit="hours")

    def stages(report: float, plan: float, analyse: float, solution: float, carry: float) -> dict[Stage, Budget]:
        return {
            Stage.REPORT: _minutes(report),
            Stage.START_PLAN: _minutes(plan),
            Stage.ANALYSE: hours(analyse),
            Stage.SOLUTION: hours(solution),
            Stage.CARRY_OUT: hours(carry),
            Stage.REVIEW: Budget(amount=3, unit="working_days"),
        }

    return IncidentPolicy(
        levels={
            IncidentLevel.GENERAL: LevelRules(stage_budgets=stages(60, 120, 4, 4, 24), progress_every_minutes=240),
            IncidentLevel.LARGER: LevelRules(stage_budgets=stages(30, 60, 2, 2, 12), progress_every_minutes=60),
            IncidentLevel.MAJOR: LevelRules(
                stage_budgets=stages(15, 30, 1, 1, 8),
                chain_budget=_minutes(15),
                progress_every_minutes=30,
            ),
        }
    )


# ---- fault signature --------------------------------------------------------------------------------------


class FaultSignature(BaseModel):
    """What makes tickets "the same fault": the customer, its site, the circuit and the service."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=64)
    site: str = Field(default="", max_length=100)
    circuit_id: str = Field(min_length=1, max_length=64)
    service: str = Field(min_length=1, max_length=64)

    @property
    def key(self) -> str:
        """One string for the signature (the read model indexes it)."""
        return "|".join((self.customer_id, self.site.strip().lower(), self.circuit_id.strip().upper(), self.service))


def fault_signature(intake: Any) -> FaultSignature | None:
    """A ticket intake's signature, when it names the customer, the circuit and the service (the site may be empty)."""
    customer, circuit, service = intake.customer_id, intake.circuit_id, intake.service
    if not (customer and circuit and service):
        return None
    return FaultSignature(customer_id=customer, site=intake.fault_site or "", circuit_id=circuit, service=service)


class IncidentProbe(BaseModel):
    """The ticket workflow's question after routing: does this ticket form or join an incident?"""

    model_config = ConfigDict(frozen=True)

    ticket_no: str
    signature: FaultSignature
    at: datetime


class IncidentMatch(BaseModel):
    """The answer: the incident the ticket now belongs to (None: no incident)."""

    model_config = ConfigDict(frozen=True)

    incident_no: str
    declared: bool  # this ticket's arrival declared it


# ---- people and records -----------------------------------------------------------------------------------


class Member(BaseModel):
    """A named person on one of the incident's teams, with their role there (commander, lead, member, …)."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(min_length=1, max_length=64)
    team: Team
    role: str = Field(default="member", min_length=1, max_length=32)

    @property
    def leads(self) -> bool:
        """The commander of the command group, or a team's lead."""
        return self.role in ("commander", "lead")


class LinkedTicket(BaseModel):
    """A ticket of an affected customer: when and by whom it was linked, and what came of it at resolution."""

    ticket_no: str
    linked_at: datetime
    linked_by: str
    resolved: bool | None = None  # None until the incident is resolved
    result: str | None = None  # "resolved" or why the ticket could not be resolved with the incident


class StageRecord(BaseModel):
    """One stage: its task, its deadline, and who completed it when (with what they recorded)."""

    stage: Stage
    task_id: str
    opened_at: datetime
    due_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None
    data: dict[str, str] = Field(default_factory=dict)


class HandOn(BaseModel):
    """One hand-on of the major-fault report chain, with its time."""

    step: ChainStep
    by: str
    at: datetime
    to: tuple[str, ...]  # departments and people it went to
    details: dict[str, str] = Field(default_factory=dict)


class ProgressUpdate(BaseModel):
    """A regular progress update to management (and the command group, and for a major fault the report chain)."""

    number: int
    at: datetime
    stage: IncidentStatus
    recipients: tuple[str, ...]
    text: str


class ProgressNote(BaseModel):
    """A progress note a team member logged; the next update carries it."""

    at: datetime
    by: str
    text: str


class Review(BaseModel):
    """The closing review (cause, measures, lessons): it must be done before the incident closes."""

    model_config = ConfigDict(frozen=True)

    cause: str = Field(min_length=1, max_length=4000)
    measures: str = Field(min_length=1, max_length=4000)
    lessons: str = Field(min_length=1, max_length=4000)


class IncidentInput(BaseModel):
    """What starts an incident workflow."""

    model_config = ConfigDict(frozen=True)

    incident_no: str
    incident_class: IncidentClass
    level: IncidentLevel
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    signature: FaultSignature | None = None
    members: tuple[Member, ...] = ()
    tickets: tuple[str, ...] = ()  # linked from the start (automatic declaration: the tickets that formed it)
    declared_by: Actor
    automatic: bool = False
    request_id: str = Field(min_length=1, max_length=128)
    policy: PolicyRef = PolicyRef()  # the calendar the stage deadlines run on
    created_at: datetime | None = None


class Incident(BaseModel):
    """The incident as its workflow holds it (and as the read model and the API show it)."""

    incident_no: str
    workflow_id: str
    incident_class: IncidentClass
    level: IncidentLevel
    title: str
    description: str = ""
    signature: FaultSignature | None = None
    automatic: bool = False
    declared_by: str
    created_at: datetime
    status: IncidentStatus = IncidentStatus.REPORT
    policy_version: int = 0
    members: list[Member] = Field(default_factory=list)
    tickets: list[LinkedTicket] = Field(default_factory=list)
    stages: list[StageRecord] = Field(default_factory=list)
    chain: list[HandOn] = Field(default_factory=list)
    fault_report_id: str | None = None  # the fault report the major fault owes (workflows/reports.py)
    updates: list[ProgressUpdate] = Field(default_factory=list)
    notes: list[ProgressNote] = Field(default_factory=list)
    review: Review | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    stood_down_reason: str | None = None
    status_history: list[tuple[datetime, IncidentStatus, str]] = Field(default_factory=list)
    revision: int = 0

    def member(self, username: str) -> Member | None:
        """The actor's membership, if they are on a team."""
        return next((m for m in self.members if m.username == username), None)

    def lead_of(self, team: Team) -> str | None:
        """Who leads a team (its commander or lead), if anyone does yet."""
        return next((m.username for m in self.members if m.team == team and m.leads), None)

    def linked(self, ticket_no: str) -> bool:
        """True when the ticket is already linked."""
        return any(t.ticket_no == ticket_no for t in self.tickets)


class IncidentSave(BaseModel):
    """An incident state for the read model, with the act's audit row, staff notices and new holding messages."""

    model_config = ConfigDict(frozen=True)

    incident: Incident
    audit: AuditRecord | None = None
    notifications: tuple[NotificationRecord, ...] = ()
    holding: tuple[str, ...] = ()  # tickets whose customers get the holding message now


class TicketResolution(BaseModel):
    """What the workflow asks the resolving activity: resolve these tickets, as this person, with this text."""

    model_config = ConfigDict(frozen=True)

    incident_no: str
    tickets: tuple[str, ...]
    actor: Actor
    cause: str
    solution: str
    advice: str = ""


class TicketResult(BaseModel):
    """How one linked ticket came out of the joint resolution."""

    model_config = ConfigDict(frozen=True)

    ticket_no: str
    resolved: bool
    result: str


class IncidentOutcome(BaseModel):
    """What an accepted act (and the finished workflow) returns."""

    incident_no: str
    status: IncidentStatus
    revision: int
    message: str = ""


# ---- acts ---------------------------------------------------------------------------------------------------


class _Act(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str = Field(min_length=1, max_length=128)
    actor: Actor


class LinkTicket(_Act):
    """Link an affected customer's ticket (it gets the holding message, and is resolved with the incident)."""

    type: Literal["link_ticket"] = "link_ticket"
    ticket_no: str = Field(min_length=1, max_length=20)


class AssignMember(_Act):
    """Name a person on a team with their role (a second assignment changes their team or role)."""

    type: Literal["assign_member"] = "assign_member"
    member: Member


class LogNote(_Act):
    """Record progress; the next regular update to management carries it."""

    type: Literal["log_note"] = "log_note"
    text: str = Field(min_length=1, max_length=2000)


class ChangeLevel(_Act):
    """Raise (or lower) the level as the emergency turns out: later stages and updates follow the new level's
    rules, and a major fault starts the report chain."""

    type: Literal["change_level"] = "change_level"
    level: IncidentLevel
    reason: str = Field(min_length=1, max_length=2000)


class StandDown(_Act):
    """Withdraw an incident declared by mistake, before service is restored (its tickets carry on alone)."""

    type: Literal["stand_down"] = "stand_down"
    reason: str = Field(min_length=1, max_length=2000)


IncidentAct = Annotated[LinkTicket | AssignMember | LogNote | ChangeLevel | StandDown, Field(discriminator="type")]

COMMAND_ROLES = (Role.SUPERVISOR,)  # who may declare and steer any incident besides its command group


def _refuse(code: RefusalCode, message: str) -> None:
    raise TaskRefused(code, message)


def may_steer(incident: Incident, actor: Actor) -> bool:
    """Supervisors and the command group steer an incident."""
    member = incident.member(actor.username)
    return actor.has_role(*COMMAND_ROLES) or (member is not None and member.team == Team.COMMAND)


def check_declare(actor: Actor) -> None:
    """Only supervisors declare an emergency by hand."""
    if not actor.has_role(*COMMAND_ROLES):
        _refuse(RefusalCode.FORBIDDEN, "declare: supervisors only")


def check_act(incident: Incident, act: BaseModel) -> None:
    """Refuse an act the rules do not allow (pure: the update validator runs it)."""
    actor: Actor = act.actor  # type: ignore[attr-defined]
    if incident.status not in OPEN_STATUSES:
        _refuse(RefusalCode.CONFLICT, f"{act.type}: the incident is {incident.status.value}")  # type: ignore[attr-defined]
    match act:
        case LinkTicket():
            if incident.status not in ACTIVE_STATUSES:
                _refuse(RefusalCode.CONFLICT, "link_ticket: service is restored; the incident takes no more tickets")
            if not (actor.username == SYSTEM_ACTOR or may_steer(incident, actor) or _on_team(incident, actor)):
                _refuse(RefusalCode.FORBIDDEN, "link_ticket: supervisors and the incident's teams only")
            if incident.linked(act.ticket_no):
                _refuse(RefusalCode.CONFLICT, f"link_ticket: {act.ticket_no} is already linked")
        case AssignMember():
            if not may_steer(incident, actor):
                _refuse(RefusalCode.FORBIDDEN, "assign_member: supervisors and the command group only")
        case LogNote():
            if not (may_steer(incident, actor) or _on_team(incident, actor)):
                _refuse(RefusalCode.FORBIDDEN, "log_note: supervisors and the incident's teams only")
        case ChangeLevel():
            if not may_steer(incident, actor):
                _refuse(RefusalCode.FORBIDDEN, "change_level: supervisors and the command group only")
            if incident.status not in ACTIVE_STATUSES:
                _refuse(RefusalCode.CONFLICT, "change_level: service is restored already")
            if act.level == incident.level:
                _refuse(RefusalCode.CONFLICT, f"change_level: the incident is {act.level.value} already")
        case StandDown():
            if not actor.has_role(*COMMAND_ROLES):
                _refuse(RefusalCode.FORBIDDEN, "stand_down: supervisors only")
            if incident.status not in ACTIVE_STATUSES:
                _refuse(RefusalCode.CONFLICT, "stand_down: service is restored already; complete the review")
        case _:
            _refuse(RefusalCode.INVALID, f"unknown act {type(act).__name__}")


def _on_team(incident: Incident, actor: Actor) -> bool:
    return incident.member(actor.username) is not None


def check_stage_data(stage: Stage | ChainStep, data: dict[str, Any]) -> dict[str, Any]:
    """The fields a stage or chain step must record, cleaned; refuses what is missing or malformed."""
    if isinstance(stage, ChainStep):
        fields = CHAIN_FIELDS[stage]
    else:
        fields = {Stage.REPORT: REPORT_FIELDS, Stage.REVIEW: REVIEW_FIELDS}.get(stage, ())
    clean: dict[str, Any] = {}
    for name in fields:
        value = data.get(name)
        if name in ("senior", "departments", "people"):
            continue
        if not isinstance(value, str) or not value.strip():
            _refuse(RefusalCode.INVALID, f"data.{name}: required")
        clean[name] = value.strip()  # type: ignore[union-attr]
    if stage == ChainStep.DEPARTMENTS:
        clean["departments"] = _names(data, "departments", required=True)
        clean["people"] = _names(data, "people", required=False)
    if stage == ChainStep.SENIOR_MANAGEMENT:
        clean["senior"] = _names(data, "senior", required=True)
    return clean


def _names(data: dict[str, Any], field: str, *, required: bool) -> list[str]:
    value = data.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() and len(v) <= 64 for v in value):
        _refuse(RefusalCode.INVALID, f"data.{field}: a list of names")
    if required and not value:
        _refuse(RefusalCode.INVALID, f"data.{field}: at least one")
    return [v.strip() for v in value]


def task_kind(step: Stage | ChainStep) -> str:
    """The human-task kind of a stage (incident_<stage>) or chain step (incident_chain_<step>)."""
    return f"incident_chain_{step.value}" if isinstance(step, ChainStep) else f"incident_{step.value}"


def step_of(kind: str) -> Stage | ChainStep:
    """The stage or chain step a task kind stands for."""
    if kind.startswith("incident_chain_"):
        return ChainStep(kind.removeprefix("incident_chain_"))
    return Stage(kind.removeprefix("incident_"))


def decision_data() -> dict[str, tuple[list[str], list[str]]]:
    """Each incident task kind's decision `data`: (required keys, optional keys), as check_stage_data checks them."""
    data: dict[str, tuple[list[str], list[str]]] = {
        task_kind(Stage.REPORT): (list(REPORT_FIELDS), []),
        task_kind(Stage.REVIEW): (list(REVIEW_FIELDS), []),
        task_kind(ChainStep.DEPARTMENTS): ([*CHAIN_FIELDS[ChainStep.DEPARTMENTS], "departments"], ["people"]),
    }
    for step in (ChainStep.ACCOUNT_OWNER, ChainStep.SENIOR_MANAGEMENT):
        data[task_kind(step)] = (list(CHAIN_FIELDS[step]), [])
    return data


def workflow_id_for(incident_no: str) -> str:
    """The incident's workflow id derives from its number."""
    return f"incident-{incident_no}"
