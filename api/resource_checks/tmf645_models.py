"""TMF645 CheckServiceQualification as we return it (`api/resource_checks/tmf645.py` builds it).

Every attribute but `id`, `href` and `@type` is optional: a `fields=` projection returns only the attributes asked
for. A full resource carries every attribute below (null when unknown).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from api.tmf.shared import RelatedParty, ServiceCharacteristic, TmfEntity, TmfResource, response_part
from core.reservations import ReservationStatus
from core.resource_checks import CheckStatus, Feasibility, Line, Qualification, Round

TaskState = Literal["acknowledged", "inProgress", "done", "terminatedWithError"]

_ON_TIME = (bool | None, Field(default=None, alias="onTime", description="answered (reported) by its deadline"))
if TYPE_CHECKING:
    CheckLineView = Line
    CheckRoundView = Round
else:
    CheckLineView = response_part(Line, "CheckLine", prefix="Check", camel=False, on_time=_ON_TIME)
    CheckRoundView = response_part(
        Round,
        "CheckRound",
        prefix="Check",
        camel=False,
        on_time=_ON_TIME,
        lines=(list[CheckLineView] | None, None),
    )


class Place(TmfResource):
    """TMF RelatedPlaceRefOrValue: a site by its address."""

    id: str | None = None
    name: str | None = None
    role: str | None = None


class QualifiedService(TmfResource):
    """The service to qualify: type, characteristics (`bandwidth`, `circuitType`), sites."""

    id: str | None = None
    description: str | None = None
    service_type: str | None = None
    service_characteristic: list[ServiceCharacteristic] | None = None
    place: list[Place] | None = None


class AlternateServiceProposal(TmfResource):
    """A department's alternate solution (`id` is the department), or the same service once a department has
    built it (`id` construction-<department>, with its availability date)."""

    id: str | None = None
    alternate_service_availability_date: datetime | None = None
    alternate_service: QualifiedService | None = None


class EligibilityUnavailabilityReason(TmfResource):
    """Why a department cannot serve the item (`code` is the department)."""

    code: str | None = None
    label: str | None = None


class ItemReservation(TmfResource):
    """The resources reserved for the item, as the reservation stands now (`href` under /api/reservations)."""

    id: str
    href: str | None = None
    status: ReservationStatus | None = None
    claimed_by_order: str | None = None
    expires_at: datetime | None = None
    released_at: datetime | None = None
    release_reason: str | None = None


class CheckServiceQualificationItem(TmfResource):
    """One item: its state, result, wanted date, reservation expiry, alternates and reasons."""

    id: str
    state: TaskState | None = None
    qualification_result: Qualification | None = None
    expected_service_availability_date: date | None = None
    expiration_date: datetime | None = None
    service: QualifiedService | None = None
    alternate_service_proposal: list[AlternateServiceProposal] | None = None
    eligibility_unavailability_reason: list[EligibilityUnavailabilityReason] | None = None
    # extensions
    feasibility: Feasibility | None = Field(default=None, description="feasible, after construction, or not")
    reservation: ItemReservation | None = None


class CheckServiceQualification(TmfEntity):
    """TMF645 CheckServiceQualification: a resource check (`id` is the check id), TMF attributes then extensions."""

    description: str | None = None
    external_id: str | None = None
    check_service_qualification_date: datetime | None = None
    estimated_response_date: datetime | None = None
    effective_qualification_date: datetime | None = None
    expiration_date: datetime | None = None
    provide_alternative: bool | None = None
    provide_unavailability_reason: bool | None = None
    state: TaskState | None = None
    qualification_result: Qualification | None = None
    related_party: list[RelatedParty] | None = Field(default=None, description="the customer and the requester")
    service_qualification_item: list[CheckServiceQualificationItem] | None = None
    # extensions
    check_status: CheckStatus | None = Field(default=None, description="our status")
    feasibility: Feasibility | None = Field(default=None, description="the latest consolidated result")
    contact: str | None = Field(default=None, description="always masked")
    on_time: bool | None = None
    finished_at: datetime | None = None
    cancel_reason: str | None = None
    last_update: datetime | None = None
    rounds: list[CheckRoundView] | None = Field(
        default=None, description="every round: department lines (answers, Q&A, chases), reviews, reservations"
    )
