"""TMF621 TroubleTicket as we return it (`api/tickets/tmf621.py` builds it): the response models of /openapi.json.

Every attribute but `id`, `href` and `@type` is optional: a `fields=` projection returns only the attributes asked
for. A full resource carries every attribute below (null when unknown).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from api.tmf.shared import RelatedParty, TmfEntity, TmfResource, VersionRef, response_part
from core.sla import Priority
from core.tickets import Channel, ComplaintType, PauseSpan, ProgressKind, Rating, SlaCycle, TicketStatus

TmfStatus = Literal["acknowledged", "rejected", "pending", "held", "inProgress", "cancelled", "closed", "resolved"]

if TYPE_CHECKING:
    SlaCycleView = SlaCycle
    SlaPauseView = PauseSpan
else:
    SlaCycleView = response_part(SlaCycle, "SlaCycle")
    SlaPauseView = response_part(PauseSpan, "SlaPause")


class TicketChannel(TmfResource):
    """TMF ChannelRef: the intake channel (id and name alike)."""

    id: Channel | None = None
    name: str | None = None


class StatusChange(TmfResource):
    """One status change: the TMF status and ours."""

    status: TmfStatus | None = None
    ticket_status: TicketStatus | None = None
    change_date: datetime | None = None
    change_reason: str | None = None


class Note(TmfResource):
    """One progress-log entry (numbered from 1); contact details in the text are masked."""

    id: str | None = None
    author: str | None = None
    date: datetime | None = None
    text: str | None = None
    note_type: ProgressKind | None = None
    outcome: str | None = None
    is_plan: bool | None = None


class TicketResolution(TmfResource):
    """What the handler told the customer on resolution."""

    cause: str | None = None
    solution: str | None = None
    advice: str | None = None
    channel: Channel | None = None


class TicketSla(TmfResource):
    """The SLA the ticket runs against: policy, calendar, tier, cycles with deadlines and breaches, pauses."""

    policy: VersionRef | None = None
    calendar: VersionRef | None = None
    tier: int | None = None
    green_channel: bool | None = None
    cycles: list[SlaCycleView] | None = None
    pauses: list[SlaPauseView] | None = None


class RelatedEntity(TmfResource):
    """TMF RelatedEntity: a parent incident or a child ticket, both trouble tickets here."""

    id: str | None = None
    href: str | None = None
    name: str | None = None
    role: str | None = Field(default=None, description="parentIncident on a ticket, childTicket on an incident")
    referred_type: str | None = Field(default=None, alias="@referredType")


class TroubleTicket(TmfEntity):
    """TMF621 TroubleTicket: a service ticket (`id` is the ticket number), TMF attributes then our extensions."""

    name: str | None = None
    description: str | None = None
    external_id: str | None = Field(default=None, description="the ticket's id in the system that sent it")
    severity: str | None = Field(default=None, description="as given")
    ticket_type: str | None = Field(default=None, description="the primary category")
    priority: Priority | None = None
    status: TmfStatus | None = None
    status_change_date: datetime | None = None
    status_change_reason: str | None = None
    creation_date: datetime | None = None
    last_update: datetime | None = None
    expected_resolution_date: datetime | None = None
    resolution_date: datetime | None = None
    channel: TicketChannel | None = None
    status_change: list[StatusChange] | None = None
    note: list[Note] | None = None
    related_party: list[RelatedParty] | None = Field(
        default=None, description="handler, first responder, departments (no customer data)"
    )
    # extensions
    ticket_status: TicketStatus | None = Field(default=None, description="our status")
    missing_intake: list[str] | None = Field(default=None, description="what an agent must still supply")
    customer_id: str | None = None
    customer_name: str | None = None
    industry: str | None = None
    contact: str | None = Field(default=None, description="always masked")
    occurred_at: datetime | None = None
    scenario: str | None = None
    categories: list[str] | None = Field(default=None, description="every category, the primary first")
    complaint_type: ComplaintType | None = None
    major_complaint: bool | None = None
    preferred_channel: Channel | None = None
    fault_site: str | None = Field(default=None, description="the customer site of the fault")
    circuit_id: str | None = None
    service: str | None = None
    related_entity: list[RelatedEntity] | None = Field(
        default=None, description="the incident a ticket belongs to; an incident's child tickets"
    )
    resolution: TicketResolution | None = None
    customer_confirmed: bool | None = None
    verified_by: str | None = None
    rating: Rating | None = None
    rating_comment: str | None = None
    closed_by: str | None = None
    reopen_until: datetime | None = None
    sla: TicketSla | None = None
