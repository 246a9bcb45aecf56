"""SQLModel tables: users, versioned calendars and SLA policies, the task read model, audit journal.

Only the API and activities import this module; workflows never do (tables are not sandbox-safe).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

from core.tasks import HumanTask


def utcnow() -> datetime:
    """Current UTC time (for row timestamps outside workflows)."""
    return datetime.now(UTC)


def _ts(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column."""
    return Field(sa_type=DateTime(timezone=True), **kwargs)


def _strings() -> Any:
    """A PostgreSQL text[] column defaulting to empty."""
    return Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False, server_default="{}"))


def _json() -> Any:
    """A JSONB column defaulting to an empty object."""
    return Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))


class VersionedSpec(SQLModel):
    """Columns of every versioned configuration table: one immutable (name, version) row holding a JSON spec."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int
    # sa_type, not sa_column: a Column object cannot be shared by the tables that inherit these fields.
    spec: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSONB, nullable=False, sa_column_kwargs={"server_default": "{}"}
    )
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)


class User(SQLModel, table=True):
    """A person who signs in; roles decide what they may do."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str = Field(max_length=128)
    password_hash: str = Field(max_length=255)
    roles: list[str] = _strings()
    department: str | None = Field(default=None, max_length=64)
    active: bool = True
    created_at: datetime = _ts(default_factory=utcnow)
    # Where staff notifications reach the user besides the console (core/outbox.py): channels in `notify_by`.
    email: str | None = Field(default=None, max_length=200)
    mobile: str | None = Field(default=None, max_length=32)
    notify_by: list[str] = _strings()
    # Quiet hours (the center's local time; from > until spans midnight): non-urgent e-mail/SMS waits them out.
    quiet_from: time | None = None
    quiet_until: time | None = None


class CalendarVersion(VersionedSpec, table=True):
    """One immutable version of a named business calendar."""

    __tablename__ = "calendar_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class MessageTemplatesVersion(VersionedSpec, table=True):
    """One immutable version of the customer message templates (core.message_templates.MessageTemplates)."""

    __tablename__ = "message_templates_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class SlaPolicyVersion(VersionedSpec, table=True):
    """One immutable version of a named SLA policy."""

    __tablename__ = "sla_policy_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class TaskFields(SQLModel):
    """A human task flattened (core.tasks.HumanTask, its candidates spread out): the read model's and inboxes' shape."""

    task_id: str = Field(primary_key=True, max_length=200)
    workflow_id: str = Field(max_length=200, index=True)
    kind: str = Field(max_length=64)
    subject: str = Field(max_length=500)
    business_ref: str | None = Field(default=None, max_length=64, index=True)
    candidate_roles: list[str] = _strings()
    candidate_department: str | None = Field(default=None, max_length=64)
    assignee: str | None = Field(default=None, max_length=64)
    requested_by: str | None = Field(default=None, max_length=64)
    outcomes: list[str] = _strings()
    priority: int = 0
    status: str = Field(default="open", max_length=16)
    claimed_by: str | None = Field(default=None, max_length=64)
    opened_at: datetime = _ts()
    due_at: datetime = _ts()
    escalation_level: int = 0
    outcome: str | None = Field(default=None, max_length=64)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = _ts(default=None)
    comment: str | None = Field(default=None, max_length=2000)

    @classmethod
    def of(cls, task: HumanTask) -> TaskFields:
        """The flat fields of a task: its own by name, its candidates spread into roles, department and assignee."""
        candidates = task.candidates
        return cls.model_validate(
            task.model_dump(include=set(cls.model_fields))
            | {
                "candidate_roles": [r.value for r in candidates.roles],
                "candidate_department": candidates.department,
                "assignee": candidates.assignee,
            }
        )


class TaskRow(TaskFields, table=True):
    """Read model of a human task: every inbox and overdue list reads this, never Temporal visibility."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_open_due", "status", "due_at"),
        Index("ix_human_task_open_roles", "candidate_roles", postgresql_using="gin"),
        Index("ix_human_task_assignee", "assignee", "status"),
        Index("ix_human_task_claimed", "claimed_by", "status"),
        Index("ix_human_task_department", "candidate_department", "status"),
        # The inbox's order over open tasks only (migration 0023): a page reads its first rows, not all of them.
        Index(
            "ix_human_task_open_inbox",
            text("priority DESC"),
            "due_at",
            "task_id",
            postgresql_where=text("status = 'open'"),
            postgresql_include=["assignee", "candidate_department", "candidate_roles"],
        ),
        # The follow-up and callback tasks KPIs read directly (migration 0024).
        Index(
            "ix_human_task_kpi_ticket",
            "business_ref",
            "kind",
            postgresql_where=text("kind IN ('callback', 'second_followup')"),
        ),
        Index(
            "ix_human_task_kpi_opened",
            "kind",
            "opened_at",
            postgresql_where=text("kind IN ('callback', 'second_followup')"),
            postgresql_include=[
                "status",
                "due_at",
                "decided_at",
                "decided_by",
                "claimed_by",
                "assignee",
                "business_ref",
            ],
        ),
    )

    revision: int = 0
    updated_at: datetime = _ts(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Journal of every human act, accepted or refused: who, as what, did what to what, when, and why."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    at: datetime = _ts(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64, index=True)
    actor_roles: list[str] = _strings()
    action: str = Field(max_length=64, index=True)
    subject_type: str = Field(max_length=64)
    subject_id: str = Field(max_length=200, index=True)
    workflow_id: str | None = Field(default=None, max_length=200, index=True)
    outcome: str = Field(max_length=16)  # accepted | refused
    reason: str | None = Field(default=None, max_length=2000)
    request_id: str | None = Field(default=None, max_length=200, unique=True)
    details: dict[str, Any] = _json()
    # Hash chain (db/audit.py): each row seals its content and its predecessor's hash; only appends allowed.
    prev_hash: str = Field(max_length=64)
    row_hash: str = Field(max_length=64)
    key_id: str | None = Field(default=None, max_length=64)  # the HMAC key that sealed it; None: pre-key SHA-256


class LoginThrottle(SQLModel, table=True):
    """A sign-in failure counter per attempted username or client address (core/login_throttle.py)."""

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_quiet", "kind", "last_failure_at"),)

    kind: str = Field(max_length=16, primary_key=True)  # user | address
    subject: str = Field(max_length=200, primary_key=True)
    failures: int = 0
    last_failure_at: datetime | None = _ts(default=None)
    blocked_until: datetime | None = _ts(default=None)
    locked: bool = False


class Notification(SQLModel, table=True):
    """An in-app message (reminder, escalation, assignment) for a person or a role."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_recipient", "recipient_user", "recipient_role", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)  # idempotency key chosen by the workflow
    recipient_user: str | None = Field(default=None, max_length=64)
    recipient_role: str | None = Field(default=None, max_length=32)
    recipient_department: str | None = Field(default=None, max_length=64)
    kind: str = Field(max_length=32)
    task_id: str | None = Field(default=None, max_length=200)
    workflow_id: str | None = Field(default=None, max_length=200, index=True)
    message: str = Field(max_length=1000)
    created_at: datetime = _ts(default_factory=utcnow)
    read_at: datetime | None = _ts(default=None)


class SlaBreach(SQLModel, table=True):
    """A missed deadline, counted against the person (or role) responsible at the time."""

    __tablename__ = "sla_breach"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    workflow_id: str = Field(max_length=200, index=True)
    task_id: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=64)
    responsible: str = Field(max_length=64, index=True)
    due_at: datetime = _ts()
    breached_at: datetime = _ts()


class AssignmentRulesVersion(VersionedSpec, table=True):
    """One immutable version of the ticket assignment rules."""

    __tablename__ = "assignment_rules_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class TicketSerial(SQLModel, table=True):
    """The last ticket serial handed out per (Asia/Shanghai) day: CS + YYYYMMDD + serial."""

    __tablename__ = "ticket_serial"

    day: date = Field(primary_key=True)
    last: int = 0


class TicketRow(SQLModel, table=True):
    """Read model of a service ticket: lists and filters read this, never Temporal visibility."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_status_priority", "status", "priority", "created_at"),
        Index("ix_ticket_categories", "categories", postgresql_using="gin"),
        # The TMF621 list's order within a handler's and a customer's tickets (migration 0027).
        Index("ix_ticket_handler_created", "handler", "created_at"),
        Index("ix_ticket_customer_created", "customer_id", "created_at"),
        # The quality inspection's sample is drawn from the tickets closed in a period (migration 0025).
        Index("ix_ticket_closed", "closed_at", postgresql_where=text("closed_at IS NOT NULL")),
    )

    ticket_no: str = Field(primary_key=True, max_length=20)
    workflow_id: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=32)
    tmf_status: str = Field(max_length=32, index=True)
    priority: str | None = Field(default=None, max_length=16)
    categories: list[str] = _strings()
    customer_id: str | None = Field(default=None, max_length=64)
    customer_name: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200)  # whole; every response masks it
    channel: str | None = Field(default=None, max_length=32)
    complaint_type: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=4000)
    handler: str | None = Field(default=None, max_length=64)
    candidate_department: str | None = Field(default=None, max_length=64)
    candidate_role: str | None = Field(default=None, max_length=32)
    lead_department: str | None = Field(default=None, max_length=64)
    tier: int = 1
    green_channel: bool = False
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(index=True)
    occurred_at: datetime | None = _ts(default=None)
    response_due: datetime | None = _ts(default=None)
    resolution_due: datetime | None = _ts(default=None)
    resolved_at: datetime | None = _ts(default=None)
    closed_at: datetime | None = _ts(default=None)
    rating: str | None = Field(default=None, max_length=16)
    revision: int = 0
    detail: dict[str, Any] = _json()  # the workflow's whole ticket state (log, cycles, pauses, resolution)
    updated_at: datetime = _ts(default_factory=utcnow)


class TicketExternalRef(SQLModel, table=True):
    """A ticket an external system registered under its own id: one ticket per caller and externalId."""

    __tablename__ = "ticket_external_ref"

    created_by: str = Field(primary_key=True, max_length=64)  # the calling account: the external system
    external_id: str = Field(primary_key=True, max_length=100)
    ticket_no: str = Field(max_length=20, index=True)
    fingerprint: str = Field(max_length=64)  # SHA-256 of the create body as parsed: the same body, the same ticket
    created_at: datetime = _ts(default_factory=utcnow)


class Survey(SQLModel, table=True):
    """A satisfaction survey link: only the token's hash is stored, and nothing about who answers."""

    __tablename__ = "survey"

    token_hash: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=64, index=True)
    ticket_no: str = Field(max_length=20)
    cycle: int = 1
    created_at: datetime = _ts(default_factory=utcnow)
    answered_at: datetime | None = _ts(default=None)


class CustomerMessage(SQLModel, table=True):
    """Outbox of messages to a customer by their preferred channel (resolution feedback, survey link)."""

    __tablename__ = "customer_message"

    key: str = Field(primary_key=True, max_length=200)
    ticket_no: str | None = Field(default=None, max_length=64, index=True)  # the ticket (a cut-over notice: the order)
    thread_id: str | None = Field(default=None, max_length=32, index=True)  # a reply on a message thread
    channel: str = Field(max_length=32)
    kind: str = Field(max_length=32)
    body: str = Field(max_length=8000)
    created_at: datetime = _ts(default_factory=utcnow)
    sent_at: datetime | None = _ts(default=None)


class KnowledgeEntry(SQLModel, table=True):
    """An archived ticket in the knowledge base, searchable by number, customer, category, time and text."""

    __tablename__ = "knowledge_entry"
    __table_args__ = (
        Index("ix_knowledge_categories", "categories", postgresql_using="gin"),
        Index("ix_knowledge_search", "search_vector", postgresql_using="gin"),
    )

    ticket_no: str = Field(primary_key=True, max_length=20)
    customer_id: str | None = Field(default=None, max_length=64, index=True)
    customer_name: str | None = Field(default=None, max_length=200)
    categories: list[str] = _strings()
    priority: str | None = Field(default=None, max_length=16)
    title: str = Field(max_length=500)
    symptom: str = Field(max_length=4000)
    cause: str = Field(max_length=2000)
    solution: str = Field(max_length=4000)
    advice: str = Field(default="", max_length=2000)
    handler: str | None = Field(default=None, max_length=64)
    opened_at: datetime = _ts()
    closed_at: datetime = _ts(index=True)
    search_terms: str = Field(default="", sa_type=Text)  # words and CJK bigrams, see db/knowledge.py
    search_vector: Any = Field(
        default=None,
        sa_column=Column(TSVECTOR, Computed("to_tsvector('simple'::regconfig, search_terms)", persisted=True)),
    )


class Reservation(SQLModel, table=True):
    """Resources held for a resource-check item until claimed by a provisioning order, released or expired."""

    __tablename__ = "reservation"
    __table_args__ = (Index("ix_reservation_status_expires", "status", "expires_at"),)

    reservation_id: str = Field(primary_key=True, max_length=200)
    check_id: str = Field(max_length=64, index=True)
    item_id: str = Field(max_length=64)
    resources: dict[str, Any] = _json()
    status: str = Field(default="held", max_length=16)
    claimed_by_order: str | None = Field(default=None, max_length=64, index=True)
    expires_at: datetime = _ts()
    held_at: datetime = _ts(default_factory=utcnow)
    claimed_at: datetime | None = _ts(default=None)
    released_at: datetime | None = _ts(default=None)
    release_reason: str | None = Field(default=None, max_length=500)
    history: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))


class ResourceCheckRow(SQLModel, table=True):
    """Read model of a resource check: TMF645 lists and filters read this, never Temporal visibility."""

    __tablename__ = "resource_check"
    __table_args__ = (Index("ix_resource_check_state_created", "tmf_state", "created_at"),)

    check_id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=100, unique=True)
    status: str = Field(max_length=32, index=True)
    tmf_state: str = Field(max_length=32)
    qualification_result: str | None = Field(default=None, max_length=16)
    feasibility: str | None = Field(default=None, max_length=32)  # core.resource_checks.Feasibility
    customer_id: str = Field(max_length=64, index=True)
    customer_name: str = Field(max_length=200)
    contact: str | None = Field(default=None, max_length=200)  # whole; every response masks it
    external_id: str | None = Field(default=None, max_length=64, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(index=True)
    due_at: datetime | None = _ts(default=None)
    finished_at: datetime | None = _ts(default=None)
    on_time: bool | None = None
    rounds: int = 0
    revision: int = 0
    detail: dict[str, Any] = _json()  # the workflow's whole check state (rounds, lines, Q&A, chases, reservations)
    updated_at: datetime = _ts(default_factory=utcnow)


class ResourceCheckLedger(SQLModel, table=True):
    """台帐: one row per finished resource check: customer, items, results, reservations, dates, timeliness."""

    __tablename__ = "resource_check_ledger"

    check_id: str = Field(primary_key=True, max_length=64)
    customer_id: str = Field(max_length=64, index=True)
    customer_name: str = Field(max_length=200)
    outcome: str = Field(max_length=16)  # accepted | cancelled
    qualification_result: str | None = Field(default=None, max_length=16)
    feasibility: str | None = Field(default=None, max_length=32)  # feasible | feasible_after_construction | ...
    construction: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    items: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    reservations: list[Any] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    requested_at: datetime = _ts()
    reported_at: datetime | None = _ts(default=None)
    finished_at: datetime = _ts(index=True)
    rounds: int = 1
    on_time: bool | None = None
    lines_total: int = 0
    lines_on_time: int = 0
    cancel_reason: str | None = Field(default=None, max_length=2000)
    revision: int = 0
    updated_at: datetime = _ts(default_factory=utcnow)


class ProvisioningRulesVersion(VersionedSpec, table=True):
    """One immutable version of the provisioning routing and step-plan rules."""

    __tablename__ = "provisioning_rules_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class ServiceOrderRow(SQLModel, table=True):
    """Read model of a circuit-provisioning order (TMF641 service order): lists and filters read this."""

    __tablename__ = "service_order"
    __table_args__ = (
        Index("ix_service_order_state_created", "tmf_state", "created_at"),
        UniqueConstraint("service_order_id", "item_position", name="uq_service_order_item"),
    )

    order_id: str = Field(primary_key=True, max_length=32)
    # An item of a TMF641 order of several items (NULL for a one-item order, whose row is the order itself):
    service_order_id: str | None = Field(default=None, max_length=32, index=True)
    item_position: int | None = None
    item_id: str | None = Field(default=None, max_length=16)
    order_state: str | None = Field(default=None, max_length=32)  # the whole order's TMF state, on every item
    workflow_id: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=32)
    tmf_state: str = Field(max_length=32)
    circuit_type: str = Field(max_length=32)
    scope: str = Field(max_length=32)
    customer_id: str | None = Field(default=None, max_length=64, index=True)
    bandwidth: str = Field(max_length=32)
    current_step: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=100)
    cancel_id: str | None = Field(default=None, max_length=64, unique=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(index=True)
    requested_completion: datetime = _ts()
    completed_at: datetime | None = _ts(default=None)
    on_time: bool | None = None
    cycle_seconds: float | None = None
    revision: int = 0
    detail: dict[str, Any] = _json()  # the workflow's whole order state (steps, reviews, milestones, alerts)
    updated_at: datetime = _ts(default_factory=utcnow)


class OrderDocument(SQLModel, table=True):
    """An uploaded document of an order step (completion order, test report): metadata and content hash."""

    __tablename__ = "order_document"
    __table_args__ = (UniqueConstraint("order_id", "step", "kind", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=32, index=True)
    step: str = Field(max_length=64)
    kind: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = _ts(default_factory=utcnow)


class CircuitLedgerRow(SQLModel, table=True):
    """The circuit ledger (台帐): one row per circuit, its dates, documents and timeliness, its order's cancel, or
    its closure (status `closed`, the row kept)."""

    __tablename__ = "circuit_ledger"
    __table_args__ = (
        Index("ix_circuit_ledger_completed", "completed_at", postgresql_where=text("completed_at IS NOT NULL")),
    )

    circuit_id: str = Field(primary_key=True, max_length=40)
    order_id: str = Field(max_length=32, unique=True)
    status: str = Field(max_length=16)
    circuit_type: str = Field(max_length=32)
    a_end: dict[str, Any] = _json()
    z_end: dict[str, Any] = _json()
    bandwidth: str = Field(max_length=32)
    ordered_at: datetime = _ts()
    requested_completion: datetime = _ts()
    completed_at: datetime | None = _ts(default=None)
    cancelled_at: datetime | None = _ts(default=None)
    cancel_reason: str | None = Field(default=None, max_length=2000)
    closed_at: datetime | None = _ts(default=None)  # a closure order ended the circuit
    closure_order_id: str | None = Field(default=None, max_length=32)
    on_time: bool | None = None
    cycle_seconds: float | None = None
    documents: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    steps: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]")
    )
    updated_at: datetime = _ts(default_factory=utcnow)


class PresalesDemandRow(SQLModel, table=True):
    """Read model of a pre-sales demand (DOMAIN.md §4)."""

    __tablename__ = "presales_demand"

    demand_id: str = Field(primary_key=True, max_length=32)
    workflow_id: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=32)
    customer_id: str | None = Field(default=None, max_length=64, index=True)
    order_id: str | None = Field(default=None, max_length=32)
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(index=True)
    revision: int = 0
    detail: dict[str, Any] = _json()
    updated_at: datetime = _ts(default_factory=utcnow)


class WorkerHeartbeat(SQLModel, table=True):
    """A worker process's sign of life: it rewrites `beat_at` (database clock) every few seconds while it runs."""

    __tablename__ = "worker_heartbeat"
    __table_args__ = (Index("ix_worker_heartbeat_queue", "namespace", "task_queue", "beat_at"),)

    worker_id: str = Field(primary_key=True, max_length=200)
    namespace: str = Field(max_length=200)
    task_queue: str = Field(max_length=200)
    host: str = Field(max_length=200)
    pid: int
    started_at: datetime = _ts()
    beat_at: datetime = _ts()


class OutboxMessage(SQLModel, table=True):
    """A message to deliver, written in the transaction of the change that causes it (core/outbox.py).

    `recipient` is a reference (`customer:CS…`, `hub:7`), never an address: the channel adapter resolves it at
    delivery. A customer message's text stays in `customer_message` (`source_key`), so the survey link is stored once.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_lane", "subject", "recipient", "id"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    key: str = Field(max_length=400, unique=True)  # core.outbox.outbox_key(event, subject, recipient)
    event: str = Field(max_length=120)
    subject: str = Field(max_length=120)
    recipient: str = Field(max_length=200)
    channel: str = Field(max_length=16)
    payload: dict[str, Any] = _json()
    source_key: str | None = Field(default=None, max_length=200)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0  # since it was last (re)queued; the delivery log keeps every attempt
    next_attempt_at: datetime = _ts(default_factory=utcnow)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts(default_factory=utcnow)
    delivered_at: datetime | None = _ts(default=None)


class OutboxAttempt(SQLModel, table=True):
    """One delivery attempt of an outbox message: the delivery log."""

    __tablename__ = "outbox_attempt"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    message_id: int = Field(sa_type=BigInteger, index=True)
    attempt: int
    started_at: datetime = _ts()
    finished_at: datetime = _ts()
    outcome: str = Field(max_length=16)  # delivered | failed | dead
    response_code: int | None = None
    error: str | None = Field(default=None, max_length=500)


class EventHub(SQLModel, table=True):
    """A TMF688 listener registration: where one API's events go, filtered by `query`, signed with its secret."""

    __tablename__ = "event_hub"

    id: int | None = Field(default=None, primary_key=True)
    api: str = Field(max_length=32, index=True)  # troubleTicket | serviceOrdering | serviceQualification
    callback: str = Field(max_length=2000)
    query: str | None = Field(default=None, max_length=1000)
    secret_sealed: str = Field(max_length=500)  # AES-GCM under the payload key ring (infra/webhooks.py)
    created_by: str = Field(max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)
    deleted_at: datetime | None = _ts(default=None)


class KpiTargetsVersion(VersionedSpec, table=True):
    """One immutable version of the KPI targets and owners (core.kpis.KpiTargets)."""

    __tablename__ = "kpi_targets_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


def _generated(expression: str) -> Any:
    """A stored boolean column PostgreSQL computes from the row."""
    return Field(default=None, sa_column=Column(Boolean, Computed(expression, persisted=True)))


def _counter() -> Any:
    """A rollup counter column, zero until a fact adds to it."""
    return Field(default=0, sa_column_kwargs={"server_default": "0"})


class KpiTicketCycleRow(SQLModel, table=True):
    """KPI facts of one SLA cycle of a ticket; triggers on ticket and human_task write it (migration 0024)."""

    __tablename__ = "kpi_ticket_cycle"
    __table_args__ = (
        Index("ix_kpi_ticket_cycle_started", "started_at"),
        Index("ix_kpi_ticket_cycle_registered", "registered_at", postgresql_where=text("number = 1")),
        Index("ix_kpi_ticket_cycle_priority", "priority", "started_at"),
        Index("ix_kpi_ticket_cycle_customer", "customer_id", "started_at"),
        Index("ix_kpi_ticket_cycle_handler", "handler", "started_at"),
        Index("ix_kpi_ticket_cycle_candidate", "candidate_department", "started_at"),
        Index("ix_kpi_ticket_cycle_lead", "lead_department", "started_at"),
        # Counted by registration, narrowed (migration 0026).
        *(
            Index(f"ix_kpi_ticket_cycle_registered_{name}", column, "registered_at", postgresql_where=text(where))
            for name, column, where in (
                ("candidate", "candidate_department", "number = 1"),
                ("lead", "lead_department", "number = 1"),
                ("handler", "handler", "number = 1"),
                ("callback", "callback_person", "number = 1 AND complaint"),
                ("customer", "customer_id", "number = 1"),  # migration 0028
            )
        ),
    )

    ticket_no: str = Field(primary_key=True, max_length=20)
    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    registered_at: datetime = _ts()
    started_at: datetime = _ts()
    priority: str | None = Field(default=None, max_length=16)
    customer_id: str | None = Field(default=None, max_length=64)
    handler: str | None = Field(default=None, max_length=64)
    candidate_department: str | None = Field(default=None, max_length=64)
    lead_department: str | None = Field(default=None, max_length=64)
    complaint: bool
    fault: bool
    response_due: datetime | None = _ts(default=None)
    responded_at: datetime | None = _ts(default=None)
    plan_due: datetime | None = _ts(default=None)
    planned_at: datetime | None = _ts(default=None)
    resolution_due: datetime | None = _ts(default=None)
    resolved_at: datetime | None = _ts(default=None)
    response_breached: bool
    plan_breached: bool
    resolution_breached: bool
    rating: str | None = Field(default=None, max_length=16)
    cycles: int
    closed: bool
    callback_status: str | None = Field(default=None, max_length=16)
    callback_on_time: bool
    callback_person: str | None = Field(default=None, max_length=64)
    response_on_time: bool | None = _generated(
        "COALESCE(responded_at <= response_due, false) AND NOT response_breached"
    )
    response_settled: bool | None = _generated("responded_at IS NOT NULL OR response_breached")
    plan_on_time: bool | None = _generated("COALESCE(planned_at <= plan_due, false) AND NOT plan_breached")
    plan_settled: bool | None = _generated("planned_at IS NOT NULL OR plan_breached")
    resolution_on_time: bool | None = _generated(
        "COALESCE(resolved_at <= resolution_due, false) AND NOT resolution_breached"
    )
    resolution_settled: bool | None = _generated("resolved_at IS NOT NULL OR resolution_breached")
    completed_48h: bool | None = _generated("COALESCE(extract(epoch FROM resolved_at - started_at) <= 172800, false)")


class KpiTicketHourRow(SQLModel, table=True):
    """Hourly rollup of kpi_ticket_cycle by priority, in four shards; a trigger keeps it (migration 0024)."""

    __tablename__ = "kpi_ticket_hour"

    hour: datetime = _ts(primary_key=True)
    priority: str = Field(primary_key=True, max_length=16)  # '' for none
    shard: int = Field(primary_key=True, sa_type=SmallInteger, sa_column_kwargs={"autoincrement": False})
    cycles: int = _counter()
    response_on_time: int = _counter()
    response_settled: int = _counter()
    response_breached: int = _counter()
    plan_on_time: int = _counter()
    plan_settled: int = _counter()
    plan_breached: int = _counter()
    resolution_on_time: int = _counter()
    resolution_settled: int = _counter()
    resolution_breached: int = _counter()
    fault_on_time: int = _counter()
    fault_settled: int = _counter()
    fault_breached: int = _counter()
    satisfied: int = _counter()
    neutral: int = _counter()
    dissatisfied: int = _counter()
    registered: int = _counter()
    reopened: int = _counter()
    closed: int = _counter()
    complaints: int = _counter()
    complaints_48h: int = _counter()
    called: int = _counter()
    called_on_time: int = _counter()
    # By the follow-up's opening (kpi_followup, migration 0026).
    followups_done: int = _counter()
    followups_on_time: int = _counter()


class KpiFollowupRow(SQLModel, table=True):
    """KPI facts of one second follow-up task with its ticket's dimensions; triggers keep it (migration 0026)."""

    __tablename__ = "kpi_followup"
    __table_args__ = (
        Index("ix_kpi_followup_ticket", "ticket_no"),
        Index("ix_kpi_followup_opened", "opened_at"),
        Index(
            "ix_kpi_followup_open",
            "opened_at",
            postgresql_where=text("status = 'open'"),
            postgresql_include=["due_at", "priority"],
        ),
        Index("ix_kpi_followup_person", "person", "opened_at"),
        Index("ix_kpi_followup_customer", "customer_id", "opened_at"),
        Index("ix_kpi_followup_candidate", "candidate_department", "opened_at"),
        Index("ix_kpi_followup_lead", "lead_department", "opened_at"),
    )

    task_id: str = Field(primary_key=True, max_length=200)
    ticket_no: str | None = Field(default=None, max_length=64)
    opened_at: datetime = _ts()
    due_at: datetime = _ts()
    status: str = Field(max_length=16)
    decided_at: datetime | None = _ts(default=None)
    person: str | None = Field(default=None, max_length=64)
    priority: str | None = Field(default=None, max_length=16)
    customer_id: str | None = Field(default=None, max_length=64)
    candidate_department: str | None = Field(default=None, max_length=64)
    lead_department: str | None = Field(default=None, max_length=64)
    on_time: bool | None = _generated("COALESCE(status = 'done' AND decided_at <= due_at, false)")


class KpiWorkRow(SQLModel, table=True):
    """KPI facts of one finished resource check or circuit, with the parties of its workflow's tasks (kpi_party
    tokens); triggers on the ledgers and on human_task keep it (migration 0026)."""

    __tablename__ = "kpi_work"
    __table_args__ = (
        Index("ix_kpi_work_at", "kind", "at", postgresql_include=["on_time", "outcome", "cycle_seconds"]),
        Index("ix_kpi_work_customer", "customer_id", "kind", "at"),
        Index("ix_kpi_work_workflow", "workflow_id"),
    )

    kind: str = Field(primary_key=True, max_length=16)  # check | circuit
    ref: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=200)
    customer_id: str | None = Field(default=None, max_length=64)
    at: datetime | None = _ts(default=None)
    outcome: str | None = Field(default=None, max_length=16)
    on_time: bool | None = None
    cycle_seconds: float | None = None
    parties: list[str] = _strings()


class KpiBreachRow(SQLModel, table=True):
    """KPI facts of one SLA breach with its ticket's priority and its customer; a trigger writes it (migration 0024)."""

    __tablename__ = "kpi_breach"
    __table_args__ = (
        # Covering: a period's breaches are counted from the index alone.
        Index(
            "ix_kpi_breach_breached",
            "breached_at",
            postgresql_include=["responsible", "kind", "customer_id", "priority"],
        ),
        Index("ix_kpi_breach_customer", "customer_id", "breached_at"),
    )

    breach_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    kind: str = Field(max_length=64)
    responsible: str = Field(max_length=64)
    breached_at: datetime = _ts()
    customer_id: str | None = Field(default=None, max_length=64)
    priority: str | None = Field(default=None, max_length=16)


class QualityRulesVersion(VersionedSpec, table=True):
    """One immutable version of the quality-inspection rules (core.quality.QualityRules)."""

    __tablename__ = "quality_rules_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class QualityInspectionRow(SQLModel, table=True):
    """Read model of a period's quality inspection (质检)."""

    __tablename__ = "quality_inspection"

    inspection_id: str = Field(primary_key=True, max_length=40)
    workflow_id: str = Field(max_length=64, unique=True)
    start_at: datetime = _ts()
    end_at: datetime = _ts()
    status: str = Field(max_length=16)
    revision: int = 0
    detail: dict[str, Any] = _json()  # the workflow's whole inspection state (reviews, actions, checks)
    updated_at: datetime = _ts(default_factory=utcnow)


class QualityReviewRow(SQLModel, table=True):
    """One scored review of a sampled ticket: what the quality and staff-evaluation KPIs count."""

    __tablename__ = "quality_review"
    __table_args__ = (Index("ix_quality_review_scored", "scored_at"), Index("ix_quality_review_handler", "handler"))

    inspection_id: str = Field(primary_key=True, max_length=40)
    ticket_no: str = Field(primary_key=True, max_length=20)
    handler: str = Field(max_length=64)
    inspector: str = Field(max_length=64)
    points: int
    possible: int
    passed: bool
    scored_at: datetime = _ts()


class MessageThreadRow(SQLModel, table=True):
    """Read model of a customer message thread (e-mail or online message, DOMAIN.md §6)."""

    __tablename__ = "message_thread"
    __table_args__ = (Index("ix_message_thread_status_due", "status", "acknowledge_due"),)

    thread_id: str = Field(primary_key=True, max_length=32)
    workflow_id: str = Field(max_length=64, unique=True)
    channel: str = Field(max_length=16)
    urgency: str = Field(max_length=16)
    status: str = Field(max_length=16)
    customer_id: str | None = Field(default=None, max_length=64, index=True)
    customer_name: str | None = Field(default=None, max_length=200)
    ticket_no: str | None = Field(default=None, max_length=20, index=True)
    contact: str = Field(max_length=200)  # whole; every view masks it
    subject: str = Field(default="", max_length=500)
    message_id: str | None = Field(default=None, max_length=300, unique=True)  # an e-mail once, however often sent
    received_at: datetime = _ts(index=True)
    acknowledge_due: datetime = _ts()
    answer_due: datetime = _ts()
    acknowledged_at: datetime | None = _ts(default=None)
    answered_at: datetime | None = _ts(default=None)
    complex: bool = False
    created_by: str = Field(max_length=64)
    revision: int = 0
    detail: dict[str, Any] = _json()  # the workflow's whole thread state
    updated_at: datetime = _ts(default_factory=utcnow)


class IncidentPolicyVersion(VersionedSpec, table=True):
    """One immutable version of the incident policy (core.incidents.IncidentPolicy): detection and level rules."""

    __tablename__ = "incident_policy_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class IncidentRow(SQLModel, table=True):
    """Read model of an incident (core.incidents.Incident): lists read this; `detail` is the workflow's whole state."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_signature_status", "signature_key", "status"),)

    incident_no: str = Field(primary_key=True, max_length=24)
    workflow_id: str = Field(max_length=64, unique=True)
    incident_class: str = Field(max_length=32)
    level: str = Field(max_length=16)
    status: str = Field(max_length=32, index=True)
    title: str = Field(max_length=200)
    signature_key: str | None = Field(default=None, max_length=300)
    automatic: bool = False
    declared_by: str = Field(max_length=64)
    created_at: datetime = _ts(index=True)
    resolved_at: datetime | None = _ts(default=None)
    closed_at: datetime | None = _ts(default=None)
    revision: int = 0
    detail: dict[str, Any] = _json()
    updated_at: datetime = _ts(default_factory=utcnow)


class IncidentTicket(SQLModel, table=True):
    """A ticket linked to an incident (its parent trouble ticket in TMF621)."""

    __tablename__ = "incident_ticket"

    incident_no: str = Field(primary_key=True, max_length=24)
    ticket_no: str = Field(primary_key=True, max_length=20, index=True)
    linked_at: datetime = _ts(default_factory=utcnow)


class ReportPolicyVersion(VersionedSpec, table=True):
    """One immutable version of the report policy (core.reports.ReportPolicy)."""

    __tablename__ = "report_policy_version"
    __table_args__ = (UniqueConstraint("name", "version"),)


class ReportRow(SQLModel, table=True):
    """An operation, fault or quarterly report: due date, status, timeliness and its sections (core.reports)."""

    __tablename__ = "report"
    __table_args__ = (Index("ix_report_kind_due", "kind", "due_at"),)

    report_id: str = Field(primary_key=True, max_length=100)
    workflow_id: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=16)
    title: str = Field(max_length=300)
    status: str = Field(max_length=16, index=True)
    customer_id: str | None = Field(default=None, max_length=64, index=True)
    fault_ref: str | None = Field(default=None, max_length=100)
    period_start: datetime | None = _ts(default=None)
    period_end: datetime | None = _ts(default=None)
    opened_at: datetime = _ts()
    due_at: datetime = _ts()
    done_at: datetime | None = _ts(default=None)
    on_time: bool | None = None
    sections: dict[str, Any] = _json()
    revision: int = 0
    updated_at: datetime = _ts(default_factory=utcnow)


class ReportFile(SQLModel, table=True):
    """A published report file (PDF, XLSX), stored whole so the API can serve it."""

    __tablename__ = "report_file"
    __table_args__ = (UniqueConstraint("report_id", "format"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: str = Field(max_length=100, index=True)
    format: str = Field(max_length=8)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=100)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)
    size: int
    created_at: datetime = _ts(default_factory=utcnow)


class CallbackRow(SQLModel, table=True):
    """One scheduled customer callback (core.callbacks.Callback): its window, task, result and raised ticket."""

    __tablename__ = "callback"

    callback_id: str = Field(primary_key=True, max_length=160)
    workflow_id: str = Field(max_length=120, index=True)
    subject_type: str = Field(max_length=16)
    subject_id: str = Field(max_length=64, index=True)
    customer_id: str | None = Field(default=None, max_length=64, index=True)
    number: int
    scheduled_for: date
    opens_at: datetime = _ts()
    due_at: datetime = _ts(index=True)
    status: str = Field(max_length=16)
    task_id: str | None = Field(default=None, max_length=200)
    satisfied: bool | None = None
    needs: str = Field(default="", max_length=2000)
    ticket_no: str | None = Field(default=None, max_length=32)
    done_by: str | None = Field(default=None, max_length=64)
    done_at: datetime | None = _ts(default=None)
    revision: int = 0
    updated_at: datetime = _ts(default_factory=utcnow)
