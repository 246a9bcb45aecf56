"""TMF621 Trouble Ticket ⇄ our service ticket: the one mapping, both ways, and TMF error bodies.

Resource (`/tmf-api/troubleTicket/v4/troubleTicket/{id}`, `id` = ticket number):

| TMF attribute | ours |
| --- | --- |
| `description`, `name`, `severity` (kept as given) | intake description, name, severity |
| `ticketType` | free text, kept as given; names the primary category (below) |
| `externalId` | the caller's own id (create only): one ticket per caller and externalId (below) |
| `priority` | `urgent` / `high` / `medium` / `low` |
| `channel` `{id, name}` | intake channel (`phone`, `online_chat`, `email`, `walk_in`, `portal`) |
| `status` | `core.tickets.TMF_STATUS` of our status; ours in the `ticketStatus` extension |
| `statusChange[]`, `note[]` | status history, progress log (`noteType` extension: its kind) |
| `expectedResolutionDate`, `resolutionDate` | the handler's promise (else the deadline or cap), the resolution time |
| `relatedParty[]` | handler, first responder, assigned/lead/supporting departments (no personal data) |

Extensions (camelCase): `customerId`, `customerName`, `industry`, `contact` (always masked on the way out),
`occurredAt` (with offset, to the minute, not in the future), `scenario`, `categories` (every category,
the primary first), `complaintType`, `majorComplaint`, `preferredChannel`; read-only `ticketStatus`,
`missingIntake` (what an agent must still supply), `resolution`, `rating`, `sla` (tier, green channel,
policy, calendar, cycles with deadlines and breaches, pauses). PATCH also takes `status` with
`statusChangeReason`, `expectedResolutionDate` (accepting) and `resolution` (`{cause, solution, advice, channel}`).

Create rules:
- **Category.** `ticketType` names a category when it is one of ours (`presales`, `aftersales_hardware`,
  `aftersales_software`, `complaint`, `other`) or a key of the admin-edited table `ticket_types` in the assignment
  rules (`/api/assignment-rules/default`, versioned and journaled; e.g. `connectivity` → `aftersales_hardware`),
  case-insensitively. That category comes first, then the `categories` extension; when neither names one, the
  table's `default` (`other`: a supervisor coordinates).
- **externalId.** The caller (the authenticated account: the external system) and its externalId name one ticket:
  201 when this request registered it; 200 with that ticket (and `Location`) when an earlier create with the same
  externalId and the same body (as parsed) did; 409 when that body differed. The externalId is then the
  idempotency key (an Idempotency-Key adds nothing). Not changeable by PATCH.
- **note[].** Each note's `text` becomes a progress entry, in order, before any other: author the caller, date
  the registration (`author`, `date` and `id` sent are not kept), kind `noteType` (default `note`, which meets no
  close requirement).
- **status.** Only `acknowledged` (every ticket starts there); any other is 400: set it by PATCH afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel
from sqlalchemy import func
from sqlmodel import col

from api.acts import IdempotencyKey, StaffActing
from api.deps import GatewayDep, Reader, SessionDep, require_roles
from api.errors import field_errors
from api.incidents.tmf621 import incident_to_tmf, with_parents
from api.tickets.service import TICKETS, check_intake, fingerprint, load_row, perform, register, ticket_of, ticket_types
from api.tickets.tmf621_models import TmfStatus, TroubleTicket
from api.tmf.shared import (
    CREATED,
    LISTED,
    Fields,
    Filters,
    TmfList,
    TmfRoute,
    camel,
    camel_keys,
    dated,
    equals,
    holds,
    project,
    tmf_json,
)
from core.bounds import AwareInstant
from core.contacts import contact_texts, mask_contacts_in, masked_contact
from core.roles import Actor, Role
from core.sla import Priority
from core.tickets import (
    PAUSED,
    TMF_STATUS,
    Category,
    Channel,
    ComplaintType,
    Intake,
    ProgressKind,
    Resolution,
    Ticket,
    TicketStatus,
    TicketTypes,
    missing_intake,
)
from db.models import IncidentRow, TicketRow, utcnow
from db.readmodel import page_of

TMF_PATH = "/tmf-api/troubleTicket/v4/troubleTicket"


def href(ticket_no: str) -> str:
    """The resource's address."""
    return f"{TMF_PATH}/{ticket_no}"


# ---- TMF → ours ------------------------------------------------------------------------------------------


class ChannelRef(BaseModel):
    """TMF ChannelRef: `id` (or `name`) is one of our channels."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str | None = None


class _TicketFields(BaseModel):
    """The TMF attributes and extensions that carry our intake."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)

    description: str | None = None
    name: str | None = None
    severity: str | None = Field(default=None, description="kept as given, e.g. critical / major / minor")
    ticket_type: str | None = Field(
        default=None, min_length=1, max_length=64, description="free text, kept as given; names the primary category"
    )
    priority: Priority | None = None
    channel: ChannelRef | None = Field(
        default=None, description="the intake channel: id phone, online_chat, email, walk_in or portal"
    )
    customer_id: str | None = None
    customer_name: str | None = None
    industry: str | None = None
    contact: str | None = Field(default=None, description="stored whole; every response masks it")
    occurred_at: AwareInstant | None = Field(default=None, description="with offset, to the minute, not in the future")
    scenario: str | None = None
    categories: list[Category] | None = Field(default=None, description="every category; ticketType is the primary one")
    complaint_type: ComplaintType | None = None
    major_complaint: bool | None = None
    preferred_channel: Channel | None = None
    fault_site: str | None = Field(default=None, max_length=100, description="the customer site of the fault")
    circuit_id: str | None = Field(default=None, max_length=64, description="the affected circuit")
    service: str | None = Field(default=None, max_length=64, description="the affected service")
    type_: str | None = Field(default=None, alias="@type")
    base_type: str | None = Field(default=None, alias="@baseType")
    schema_location: str | None = Field(default=None, alias="@schemaLocation")

    @field_validator("priority", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class NoteIn(BaseModel):
    """TMF Note on create: its text becomes a progress-log entry (author the caller, date the registration)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False)

    text: str = Field(min_length=1, max_length=4000)
    id: str | None = Field(default=None, max_length=64, description="ignored: entries are numbered by the ticket")
    author: str | None = Field(default=None, max_length=200, description="ignored: the author is the caller")
    date: AwareDatetime | None = Field(default=None, description="ignored: the date is the registration time")
    note_type: ProgressKind = Field(default=ProgressKind.NOTE, description="extension: the progress-log kind")
    type_: str | None = Field(default=None, alias="@type")
    base_type: str | None = Field(default=None, alias="@baseType")
    schema_location: str | None = Field(default=None, alias="@schemaLocation")


class TroubleTicketCreate(_TicketFields):
    """TMF621 TroubleTicket_Create: description, severity and ticketType are mandatory; our intake is extensions."""

    description: str
    severity: str
    ticket_type: str = Field(
        min_length=1, max_length=64, description="free text, kept as given; names the primary category"
    )
    external_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="the caller's own id: one ticket per caller and id"
    )
    note: list[NoteIn] = Field(default_factory=list, max_length=20, description="become the first progress entries")
    status: TmfStatus | None = Field(default=None, description="only acknowledged: every new ticket starts there")


class TroubleTicketPatch(_TicketFields):
    """TMF621 TroubleTicket_Update: intake corrections, or a status change (not both in one PATCH)."""

    status: TmfStatus | None = Field(
        default=None, description="cancelled, closed, resolved, pending, held or inProgress"
    )
    status_change_reason: str | None = None
    expected_resolution_date: AwareDatetime | None = Field(
        default=None, description="with status inProgress: accept the ticket"
    )
    resolution: Resolution | None = Field(
        default=None, description="with status resolved: cause, solution, advice, channel"
    )


_PLAIN_INTAKE = (
    "description",
    "name",
    "severity",
    "ticket_type",
    "external_id",
    "priority",
    "customer_id",
    "customer_name",
    "industry",
    "contact",
    "occurred_at",
    "scenario",
    "complaint_type",
    "major_complaint",
    "preferred_channel",
    "fault_site",
    "circuit_id",
    "service",
)
STATUS_FIELDS = ("status", "status_change_reason", "expected_resolution_date", "resolution")


def tmf_name(field: str) -> str:
    """The TMF attribute carrying one of our intake fields."""
    return camel(field)


def _channel(ref: ChannelRef) -> Channel:
    value = ref.id or ref.name
    if value is None or value not in Channel._value2member_map_:
        raise HTTPException(400, f"channel.id: one of {', '.join(Channel)}")
    return Channel(value)


def _categories(body: _TicketFields, current: Intake | None, types: TicketTypes) -> tuple[Category, ...]:
    """ticketType's category first, then the `categories` extension (or the current ones), without repeats.

    A ticket type naming no category (types.category_of) adds none; when nothing names one, `types.default`.
    """
    sent = body.model_fields_set
    old = list(current.categories) if current else []
    named = types.category_of(body.ticket_type) if "ticket_type" in sent and body.ticket_type else None
    rest = list(body.categories or []) if "categories" in sent else old[1:]
    merged = tuple(dict.fromkeys(c for c in [named, *rest] if c is not None))
    if merged:
        return merged
    if "ticket_type" in sent and body.ticket_type:
        return (types.default,)
    raise HTTPException(400, "categories: at least one category is required")


def intake_of(body: _TicketFields, types: TicketTypes, current: Intake | None = None) -> Intake:
    """Our intake fields that a TMF create (current None) or PATCH sets; nothing else is marked as set."""
    sent = body.model_fields_set
    values: dict[str, Any] = {name: getattr(body, name) for name in _PLAIN_INTAKE if name in sent}
    if "channel" in sent:
        values["channel"] = _channel(body.channel) if body.channel else None
    if sent & {"ticket_type", "categories"}:
        values["categories"] = _categories(body, current, types)
    if current is None:  # on create, null is the same as absent
        values = {k: v for k, v in values.items() if v is not None}
    try:
        return Intake(**values)
    except ValidationError as err:
        raise HTTPException(400, field_errors(err.errors(), tmf_name)) from None


def status_act(body: TroubleTicketPatch, ticket: Ticket) -> dict[str, Any]:
    """The act (without request id and actor) a PATCH of `status` asks for on this ticket."""
    target, reason, status = body.status, body.status_change_reason, ticket.status

    def reason_required() -> str:
        if not (reason or "").strip():
            raise HTTPException(400, f"statusChangeReason: required to set status {target}")
        return reason  # type: ignore[return-value]

    if body.resolution is not None and target != "resolved":
        raise HTTPException(400, "resolution: only with status resolved")
    if body.expected_resolution_date is not None and target != "inProgress":
        raise HTTPException(400, "expectedResolutionDate: only with status inProgress (accepting the ticket)")
    match target:
        case "cancelled":
            return {"type": "cancel", "reason": reason_required()}
        case "closed":
            return {"type": "close"}
        case "pending" | "held":
            return {
                "type": "pause",
                "kind": "customer" if target == "pending" else "third_party",
                "reason": reason_required(),
            }
        case "resolved" if body.resolution is not None:
            return {"type": "resolve", "resolution": body.resolution}
        case "resolved" if status == TicketStatus.PENDING_FEEDBACK:
            return {"type": "verify_resolution", "note": reason_required()}
        case "resolved":
            raise HTTPException(400, "resolution: cause, solution, advice and channel are required to resolve")
        case "inProgress" if status in PAUSED:
            return {"type": "resume", "note": reason or ""}
        case "inProgress" if status == TicketStatus.CLOSED:
            return {"type": "reopen", "reason": reason_required()}
        case "inProgress" if status == TicketStatus.PENDING_ASSIGNMENT:
            if body.expected_resolution_date is None:
                raise HTTPException(400, "expectedResolutionDate: required to accept the ticket (status inProgress)")
            return {"type": "accept", "expected_resolution_at": body.expected_resolution_date}
        case "inProgress":
            raise HTTPException(
                409,
                f"status: inProgress accepts (from acknowledged), resumes (from pending/held) or "
                f"reopens (from closed); the ticket is {TMF_STATUS[status]} ({status.value})",
            )
        case _:
            raise HTTPException(400, f"status: {target} cannot be set by a client")


# ---- ours → TMF ------------------------------------------------------------------------------------------


def _parties(ticket: Ticket) -> list[dict[str, str]]:
    """People by username and departments by name, with the part they play; no customer data."""
    people = [("handler", ticket.handler), ("firstResponder", ticket.first_responder), ("owner", ticket.owner)]
    groups = [("assignedDepartment", ticket.candidates_department), ("leadDepartment", ticket.lead_department)]
    groups += [("supportingDepartment", d) for d in ticket.supporting_departments]
    parties = [{"id": who, "name": who, "role": role, "@referredType": "Individual"} for role, who in people if who]
    parties += [{"id": d, "name": d, "role": role, "@referredType": "Organization"} for role, d in groups if d]
    if ticket.candidates_role and not ticket.handler:
        parties.append(
            {
                "id": ticket.candidates_role.value,
                "name": ticket.candidates_role.value,
                "role": "assignedRole",
                "@referredType": "PartyRole",
            }
        )
    return [{"@type": "RelatedParty", **p} for p in parties]


def to_tmf(ticket: Ticket, *, last_update: datetime | None = None) -> dict[str, Any]:
    """The TMF621 TroubleTicket representation of a ticket: the contact, and contact details in free text, masked."""
    shown: dict[str, Any] = mask_contacts_in(_resource(ticket, last_update))
    return shown


def revealed_texts(ticket: Ticket) -> dict[str, str]:
    """The free text `to_tmf` shows masked, whole, by attribute path (e.g. `note[0].text`): for the audited reveal."""
    return dict(contact_texts(_resource(ticket, None)))


def _resource(ticket: Ticket, last_update: datetime | None) -> dict[str, Any]:
    """The TMF621 representation with only the contact field masked."""
    intake, cycle = ticket.intake, (ticket.cycles[-1] if ticket.cycles else None)
    last_change = ticket.status_history[-1] if ticket.status_history else None
    resource = {
        "id": ticket.ticket_no,
        "href": href(ticket.ticket_no),
        "@type": "TroubleTicket",
        "name": intake.name,
        "description": intake.description,
        "severity": intake.severity,
        "ticketType": intake.ticket_type or (intake.categories[0] if intake.categories else None),
        "externalId": intake.external_id,
        "priority": intake.priority,
        "status": TMF_STATUS[ticket.status],
        "statusChangeDate": last_change[0] if last_change else None,
        "statusChangeReason": last_change[2] if last_change else None,
        "creationDate": ticket.created_at,
        "lastUpdate": last_update,
        "expectedResolutionDate": ticket.resolution_deadline,
        "resolutionDate": cycle.resolved_at if cycle else None,
        "channel": {"@type": "ChannelRef", "id": intake.channel, "name": intake.channel} if intake.channel else None,
        "statusChange": [
            {
                "@type": "StatusChange",
                "status": TMF_STATUS[status],
                "ticketStatus": status,
                "changeDate": at,
                "changeReason": why,
            }
            for at, status, why in ticket.status_history
        ],
        "note": [
            {
                "@type": "Note",
                "id": str(i),
                "author": e.author,
                "date": e.at,
                "text": e.text,
                "noteType": e.kind,
                "outcome": e.outcome,
                "isPlan": e.is_plan,
            }
            for i, e in enumerate(ticket.log, start=1)
        ],
        "relatedParty": _parties(ticket),
        # extensions
        "ticketStatus": ticket.status,
        "missingIntake": [tmf_name(f) for f in missing_intake(intake)],
        "customerId": intake.customer_id,
        "customerName": intake.customer_name,
        "industry": intake.industry,
        "contact": masked_contact(intake.contact),
        "occurredAt": intake.occurred_at,
        "scenario": intake.scenario,
        "categories": list(intake.categories),
        "complaintType": intake.complaint_type,
        "majorComplaint": intake.major_complaint,
        "preferredChannel": intake.preferred_channel,
        "faultSite": intake.fault_site,
        "circuitId": intake.circuit_id,
        "service": intake.service,
        "resolution": ticket.resolution.model_dump() if ticket.resolution else None,
        "customerConfirmed": ticket.customer_confirmed,
        "verifiedBy": ticket.verified_by,
        "rating": ticket.rating,
        "ratingComment": ticket.rating_comment or None,
        "closedBy": ticket.closed_by,
        "reopenUntil": ticket.reopen_until,
        "sla": {
            "policy": {"name": ticket.policy_name, "version": ticket.policy_version},
            "calendar": {"name": ticket.calendar_name, "version": ticket.calendar_version},
            "tier": ticket.tier,
            "greenChannel": ticket.green_channel,
            "cycles": [camel_keys(c.model_dump()) for c in ticket.cycles],
            "pauses": [camel_keys(p.model_dump()) for p in ticket.pauses],
        },
    }
    return tmf_json(resource)


def row_to_tmf(row: TicketRow) -> dict[str, Any]:
    """The TMF621 representation of a read-model row, lastUpdate from the row."""
    return to_tmf(ticket_of(row), last_update=row.updated_at)


# ---- routes ------------------------------------------------------------------------------------------------

router = APIRouter(prefix=TMF_PATH, tags=["TMF621 trouble tickets"], route_class=TmfRoute)

Intaker = Annotated[Actor, Depends(require_roles(Role.AGENT, Role.SUPERVISOR))]
# TMF names for the act fields a PATCH fills from TMF attributes.
_ACT_NAMES = {
    "reason": "statusChangeReason",
    "note": "statusChangeReason",
    "expected_resolution_at": "expectedResolutionDate",
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Register a trouble ticket (service ticket)",
    responses={
        **CREATED,
        200: {"model": TroubleTicket, "description": "an earlier create with the same externalId (and body) did"},
    },
)
async def create_trouble_ticket(
    body: TroubleTicketCreate,
    actor: Intaker,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> TroubleTicket:
    """Number the ticket (CS+YYYYMMDD+serial, the `id`), start its workflow; missing intake leaves it acknowledged.

    With `externalId`: 201 when this request registered the ticket, 200 with the same ticket when an earlier create
    by the same caller with the same externalId and the same body did, 409 when that body differed.
    """
    if body.status not in (None, "acknowledged"):
        raise HTTPException(400, f"status: a new ticket is acknowledged, not {body.status}; PATCH it afterwards")
    intake = intake_of(body, await ticket_types(session))
    check_intake(intake, utcnow(), tmf_name)
    registration = await register(
        session=session,
        gateway=gateway,
        actor=actor,
        intake=intake,
        request_id=request_id,
        notes=tuple((note.note_type, note.text) for note in body.note),
        fingerprint=fingerprint(body) if body.external_id else None,
    )
    ticket = registration.ticket
    if not registration.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = href(ticket.ticket_no)
    return TroubleTicket.model_validate(to_tmf(ticket))


# The one table of TroubleTicket list filters (SQL on the read model); the spec's other attributes answer 400.
TICKET_FILTERS = Filters(
    "troubleTicket",
    {
        "id": equals(col(TicketRow.ticket_no)),
        "status": equals(col(TicketRow.tmf_status), value_type=TmfStatus),
        "priority": equals(col(TicketRow.priority), value_type=Priority),
        "severity": equals(col(TicketRow.detail)["intake"]["severity"].astext),
        "name": equals(col(TicketRow.detail)["intake"]["name"].astext),
        "description": equals(col(TicketRow.description)),
        "ticketType": equals(
            func.coalesce(col(TicketRow.detail)["intake"]["ticket_type"].astext, col(TicketRow.categories)[1]),
            description="the ticketType as sent (older tickets: their primary category)",
        ),
        "externalId": equals(col(TicketRow.detail)["intake"]["external_id"].astext),
        "channel.id": equals(col(TicketRow.channel), value_type=Channel),
        "creationDate": dated(col(TicketRow.created_at)),
        "lastUpdate": dated(col(TicketRow.updated_at)),
        "expectedResolutionDate": dated(col(TicketRow.resolution_due)),
        "resolutionDate": dated(col(TicketRow.resolved_at)),
        # extensions
        "ticketStatus": equals(col(TicketRow.status), value_type=TicketStatus, description="our status"),
        "categories": holds(col(TicketRow.categories), Category, "any of the ticket's categories"),
        "customerId": equals(col(TicketRow.customer_id)),
        "customerName": equals(col(TicketRow.customer_name)),
        "industry": equals(col(TicketRow.industry)),
        "complaintType": equals(col(TicketRow.complaint_type), value_type=ComplaintType),
        "handler": equals(col(TicketRow.handler), description="the handler's username"),
        "occurredAt": dated(col(TicketRow.occurred_at)),
    },
    spec_attributes=(
        "href",
        "requestedResolutionDate",
        "statusChangeDate",
        "statusChangeReason",
        "attachment",
        "channel",
        "note",
        "relatedEntity",
        "relatedParty",
        "statusChange",
        "troubleTicketRelationship",
        "@baseType",
        "@schemaLocation",
        "@type",
        "contact",  # never filterable: it would probe a customer's contact
    ),
)
TicketListing = Annotated[TmfList, Depends(TICKET_FILTERS.listing)]


@router.get(
    "",
    summary="List trouble tickets",
    openapi_extra=TICKET_FILTERS.openapi(),
    responses=LISTED,
)
async def list_trouble_tickets(actor: Reader, session: SessionDep, listing: TicketListing) -> list[TroubleTicket]:
    """Tickets newest first from the read model, filtered by TICKET_FILTERS; X-Total-Count and X-Result-Count."""
    total, rows = await page_of(
        session,
        TicketRow,
        listing.conditions,
        *listing.order_by(col(TicketRow.created_at).desc(), col(TicketRow.ticket_no).desc()),
        offset=listing.offset,
        limit=listing.limit,
        count_cap=listing.count_cap,
    )
    return [
        TroubleTicket.model_validate(t)
        for t in listing.page(total, [row_to_tmf(row) for row in TICKETS.readable(rows)])
    ]


@router.get("/{id}", summary="One trouble ticket")
async def get_trouble_ticket(id: str, actor: Reader, session: SessionDep, fields: Fields = None) -> TroubleTicket:
    """The ticket by number (404 when unknown), with its incident; an incident (INC…) with its child tickets."""
    if (incident := await session.get(IncidentRow, id)) is not None:
        return TroubleTicket.model_validate(project(incident_to_tmf(incident, href), fields))
    row = await load_row(session, id)
    resource = await with_parents(session, row.ticket_no, row_to_tmf(row), href)
    return TroubleTicket.model_validate(project(resource, fields))


@router.patch("/{id}", summary="Correct the intake, or change the status")
async def patch_trouble_ticket(
    id: str,
    body: TroubleTicketPatch,
    acting: StaffActing,
) -> TroubleTicket:
    """Intake attributes become an amend act; `status` becomes cancel, close, resolve, pause, resume, accept, reopen."""
    row = await load_row(acting.session, id)
    ticket = ticket_of(row)
    sent = body.model_fields_set - {"type_", "base_type", "schema_location"}
    status_sent = sent & set(STATUS_FIELDS)
    if not sent:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body: nothing to change")
    if status_sent and sent - status_sent:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "status: change the status in a PATCH of its own, without intake attributes"
        )
    if status_sent and "status" not in sent:
        named = ", ".join(tmf_name(f) for f in sorted(status_sent))
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{named}: only together with status")
    if status_sent:
        act = status_act(body, ticket)
    else:
        changes = intake_of(body, await ticket_types(acting.session), ticket.intake)
        check_intake(changes, utcnow(), tmf_name, amend=True)
        act = {"type": "amend_intake", "changes": changes}
    ticket = await perform(acting, row, act, rename=lambda f: _ACT_NAMES.get(f, tmf_name(f)))
    return TroubleTicket.model_validate(to_tmf(ticket, last_update=row.updated_at))
