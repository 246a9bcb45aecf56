"""TMF645 Service Qualification ⇄ our resource check: the one mapping, both ways.

Resource (`/tmf-api/serviceQualificationManagement/v4/checkServiceQualification/{id}`, `id` = check id):

| TMF attribute | ours |
| --- | --- |
| `relatedParty[]` role `customer` (`id`, `name`) | customer id and name; the requester comes back as role `requester` |
| `serviceQualificationItem[].id` | item id |
| `…service.serviceType` | service type (mobile, iot, internet, …) |
| `…service.serviceCharacteristic[]` `circuitType`, `bandwidth` | circuit type (`core.circuits`), bandwidth |
| `…service.place[]` (`name` or `id`) | the site(s) |
| `…expectedServiceAvailabilityDate` | wanted date |
| `state` | `core.resource_checks.TMF_STATE` of our status; ours in the `checkStatus` extension |
| `qualificationResult` (check and item) | the TMF rule over the departments' answers of the latest round (below) |
| `…alternateServiceProposal[]`, `…eligibilityUnavailabilityReason[]` | alternates, unqualified reasons, by department |
| `estimatedResponseDate`, `effectiveQualificationDate`, `expirationDate` | deadline, report time, reservation expiry |

The three results of DOMAIN.md §2.4 (`core.resource_checks.Feasibility`, extension `feasibility` on the check and
on every item, also in the ledger):

| ours | TMF645 |
| --- | --- |
| `feasible` | `qualificationResult` `qualified` (or `alternate` when a department proposed another solution) |
| `feasible_after_construction` | `alternate`, one `alternateServiceProposal` per building department (below) |
| `not_feasible` | `qualificationResult` `unqualified`, with `eligibilityUnavailabilityReason[]` |

The construction proposal: `id` `construction-<department>`, `alternateServiceAvailabilityDate` = when the
construction is estimated ready (the answer time plus its working days on the check's calendar),
`alternateService.description` = what must be built, `alternateService.serviceCharacteristic[]` `newConstruction`
(true), `constructionWorkingDays`, `needsProcurement`.

A re-check may change an item's bandwidth, sites or wanted date: `serviceQualificationItem[]` shows the requirements
as they stand; each round of `rounds` keeps its own `items` and `changes` (item, field, before, after).
Each item's `reservation` extension is the reservation as it stands now (held, claimed by an order, released and
why, expired; `/api/reservations/{id}` has its history).

Extensions: `contact` (always masked on the way out), read-only `checkStatus`, `feasibility`, `onTime`, `rounds` (every
round with its department lines: answers, Q&A, chases, timeliness; reviews; reservations; requirement changes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.acts import IdempotencyKey
from api.deps import GatewayDep, Reader, SessionDep, require_roles
from api.errors import field_errors
from api.resource_checks.service import CHECKS, check_of, load_row, register
from api.resource_checks.tmf645_models import CheckServiceQualification, TaskState
from api.tmf.shared import CREATED, LISTED, Fields, Filters, TmfList, TmfRoute, camel, dated, equals, project, tmf_json
from core.circuits import circuit_type_of, known_circuit_type
from core.contacts import masked_contact
from core.reservations import ReservationState, ReservationStatus
from core.resource_checks import (
    TMF_STATE,
    CheckItem,
    CheckStatus,
    DepartmentAnswer,
    Feasibility,
    Qualification,
    ResourceCheck,
    Round,
    wanted_date_problem,
)
from core.roles import Actor, Role
from db.models import ResourceCheckRow
from db.readmodel import page_of
from db.reservations import with_current_reservations

SQ_PATH = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"


def href(check_id: str) -> str:
    """The resource's address."""
    return f"{SQ_PATH}/{check_id}"


class _Tmf(BaseModel):
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=False)

    type_: str | None = Field(default=None, alias="@type")


class RelatedPartyIn(_Tmf):
    """A related party; the one with role `customer` names the customer."""

    id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(min_length=1, max_length=32)


class CharacteristicIn(_Tmf):
    """A service characteristic: `circuitType` or `bandwidth`."""

    name: str = Field(min_length=1, max_length=64)
    value: Any


class PlaceIn(_Tmf):
    """A site: its address (`name`) or place id."""

    id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=500)
    role: str | None = None


class ServiceIn(_Tmf):
    """The service to qualify."""

    service_type: str = Field(min_length=1, max_length=64)
    service_characteristic: list[CharacteristicIn] = Field(default_factory=list)
    place: list[PlaceIn] = Field(min_length=1)


class QualificationItemIn(_Tmf):
    """One ServiceQualificationItem of the request."""

    id: str = Field(min_length=1, max_length=16)
    expected_service_availability_date: date | datetime
    service: ServiceIn


class CheckServiceQualificationCreate(_Tmf):
    """TMF645 CheckServiceQualification_Create: items are mandatory; the customer is a related party."""

    description: str = Field(default="", max_length=4000)
    external_id: str | None = Field(default=None, max_length=64)
    related_party: list[RelatedPartyIn] = Field(min_length=1)
    service_qualification_item: list[QualificationItemIn] = Field(min_length=1)
    contact: str | None = Field(default=None, max_length=200, description="stored whole; every response masks it")


# Our check-item fields by the TMF attribute (under serviceQualificationItem[i]) that carries them.
ITEM_NAMES = {
    "item_id": "id",
    "sites": "service.place",
    "service_type": "service.serviceType",
    "circuit_type": "service.serviceCharacteristic.circuitType",
    "bandwidth": "service.serviceCharacteristic.bandwidth",
    "wanted_date": "expectedServiceAvailabilityDate",
}
# Our request fields by the TMF attribute that carries them.
REQUEST_NAMES = {
    "customer_id": "relatedParty.id",
    "customer_name": "relatedParty.name",
    "external_id": "externalId",
    "items": "serviceQualificationItem",
}


def _item_names(where: str) -> Callable[[str], str]:
    """Renames our check-item fields to their TMF attributes under `where` (an item's path)."""
    return lambda field: f"{where}.{ITEM_NAMES[field]}" if field in ITEM_NAMES else field


def tmf_name(field: str) -> str:
    """The TMF attribute carrying one of our request fields (our field name when TMF has none)."""
    return REQUEST_NAMES.get(field, ITEM_NAMES.get(field, camel(field)))


def _characteristic(service: ServiceIn, name: str) -> str | None:
    value = next((c.value for c in service.service_characteristic if c.name == name), None)
    return None if value is None else str(value)


def request_of(body: CheckServiceQualificationCreate) -> dict[str, Any]:
    """Our check request (without id, requester and request id) from a TMF create body."""
    customer = next((p for p in body.related_party if p.role.lower() == "customer"), None)
    if customer is None or not customer.name:
        raise HTTPException(400, "relatedParty: a party with role customer, with id and name, is required")
    items = []
    for index, item in enumerate(body.service_qualification_item):
        where = f"serviceQualificationItem[{index}]"
        bandwidth = _characteristic(item.service, "bandwidth")
        if not bandwidth:
            raise HTTPException(400, f"{where}.service.serviceCharacteristic: bandwidth is required")
        sites = tuple(p.name or p.id for p in item.service.place if p.name or p.id)
        if not sites:
            raise HTTPException(400, f"{where}.service.place: each site needs a name (address) or id")
        wanted = item.expected_service_availability_date
        wanted_day = wanted.date() if isinstance(wanted, datetime) else wanted
        if problem := wanted_date_problem(wanted_day, datetime.now(UTC)):
            raise HTTPException(400, f"{where}.expectedServiceAvailabilityDate: {problem}")
        circuit = _characteristic(item.service, "circuitType")
        try:
            circuit_type = None if circuit is None else circuit_type_of(circuit).value
            items.append(
                CheckItem(
                    item_id=item.id,
                    sites=sites,
                    service_type=item.service.service_type,
                    circuit_type=circuit_type,
                    bandwidth=bandwidth,
                    wanted_date=wanted_day,
                )
            )
        except ValidationError as err:
            raise HTTPException(400, field_errors(err.errors(), _item_names(where))) from None
        except ValueError as err:
            raise HTTPException(400, f"{where}.service.serviceCharacteristic.circuitType: {err}") from None
    if len({i.item_id for i in items}) != len(items):
        raise HTTPException(400, "serviceQualificationItem.id: item ids must be unique")
    return dict(
        customer_id=customer.id,
        customer_name=customer.name,
        contact=body.contact,
        description=body.description,
        items=tuple(items),
        external_id=body.external_id,
    )


def _item_state(check: ResourceCheck, current: Round | None, item_id: str) -> str:
    if check.status == CheckStatus.CANCELLED:
        return "terminatedWithError"
    if current is None:
        return "acknowledged"
    return "done" if item_id in current.item_results else "inProgress"


def _construction_proposal(department: str, answer: DepartmentAnswer) -> dict[str, Any]:
    """Feasible after new construction, as TMF645 says it: the same service, available once it is built."""
    return {
        "@type": "AlternateServiceProposal",
        "id": f"construction-{department}",
        "alternateServiceAvailabilityDate": answer.ready_by,
        "alternateService": {
            "@type": "Service",
            "description": answer.construction,
            "serviceCharacteristic": [
                {"name": "newConstruction", "value": True},
                {"name": "constructionWorkingDays", "value": answer.construction_days},
                {"name": "needsProcurement", "value": answer.needs_procurement},
            ],
        },
    }


def _reservation(state: ReservationState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "id": state.reservation_id,
        "href": f"/api/reservations/{state.reservation_id}",
        "status": state.status,
        "claimedByOrder": state.claimed_by_order,
        "expiresAt": state.expires_at,
        "releasedAt": state.released_at,
        "releaseReason": state.release_reason,
    }


def _item(check: ResourceCheck, current: Round | None, item: CheckItem) -> dict[str, Any]:
    answers = current.answers(item.item_id) if current else []
    reservation = (
        next(
            (
                r
                for r in current.reservations
                if r.item_id == item.item_id or (r.item_id is None and r.reservation_id.endswith(f"-{item.item_id}"))
            ),
            None,
        )
        if current
        else None
    )
    characteristics = [{"name": "bandwidth", "value": item.bandwidth}]
    if item.circuit_type:  # checks from before the one vocabulary show their type canonically too
        shown = known_circuit_type(item.circuit_type) or item.circuit_type
        characteristics.append({"name": "circuitType", "value": shown})
    return {
        "@type": "CheckServiceQualificationItem",
        "id": item.item_id,
        "state": _item_state(check, current, item.item_id),
        "qualificationResult": current.tmf_result(item.item_id) if current else None,
        "expectedServiceAvailabilityDate": item.wanted_date,
        "expirationDate": reservation.expires_at
        if reservation and reservation.status == ReservationStatus.HELD
        else None,
        "service": {
            "@type": "Service",
            "serviceType": item.service_type,
            "serviceCharacteristic": characteristics,
            "place": [{"@type": "RelatedPlaceRefOrValue", "name": site, "role": "site"} for site in item.sites],
        },
        "alternateServiceProposal": [
            *(
                {
                    "@type": "AlternateServiceProposal",
                    "id": department,
                    "alternateService": {"@type": "Service", "description": answer.proposal},
                }
                for department, answer in answers
                if answer.result == Qualification.ALTERNATE
            ),
            *(
                _construction_proposal(department, answer)
                for department, answer in answers
                if answer.new_construction and answer.result != Qualification.UNQUALIFIED
            ),
        ],
        "eligibilityUnavailabilityReason": [
            {"@type": "EligibilityUnavailabilityReason", "code": department, "label": answer.reasons}
            for department, answer in answers
            if answer.result == Qualification.UNQUALIFIED
        ],
        # extensions
        "feasibility": current.item_feasibility(item.item_id) if current else None,
        "reservation": _reservation(reservation),
    }


def to_tmf(check: ResourceCheck, *, last_update: datetime | None = None) -> dict[str, Any]:
    """The TMF645 CheckServiceQualification representation of a check, contact masked."""
    request, current = check.request, check.round
    reported = next((r for r in reversed(check.rounds) if r.reported_at), None)
    expiries = [r.expires_at for r in (current.reservations if current else []) if r.status == ReservationStatus.HELD]
    requester = request.requested_by
    resource = {
        "id": check.check_id,
        "href": href(check.check_id),
        "@type": "CheckServiceQualification",
        "description": request.description,
        "externalId": request.external_id,
        "checkServiceQualificationDate": check.created_at,
        "estimatedResponseDate": current.due_at if current else None,
        "effectiveQualificationDate": reported.reported_at if reported else None,
        "expirationDate": min(expiries) if expiries else None,
        "provideAlternative": True,
        "provideUnavailabilityReason": True,
        "state": TMF_STATE[check.status],
        "qualificationResult": check.tmf_result,
        "relatedParty": [
            {
                "@type": "RelatedParty",
                "id": request.customer_id,
                "name": request.customer_name,
                "role": "customer",
                "@referredType": "Organization",
            },
            {
                "@type": "RelatedParty",
                "id": requester.username,
                "name": requester.username,
                "role": "requester",
                "@referredType": "Individual",
            },
        ],
        "serviceQualificationItem": [_item(check, current, item) for item in check.items],
        # extensions
        "checkStatus": check.status,
        "feasibility": check.feasibility,
        "contact": masked_contact(request.contact),
        "onTime": check.on_time,
        "finishedAt": check.finished_at,
        "cancelReason": check.cancel_reason,
        "lastUpdate": last_update,
        "rounds": [
            {
                **rnd.model_dump(mode="json", by_alias=False),
                "onTime": rnd.on_time,
                "lines": [{**line.model_dump(mode="json"), "onTime": line.on_time} for line in rnd.lines],
            }
            for rnd in check.rounds
        ],
    }
    return tmf_json(resource)


async def rows_to_tmf(session: AsyncSession, rows: Sequence[ResourceCheckRow]) -> list[dict[str, Any]]:
    """The TMF645 representation of read-model rows, each reservation as it stands now, lastUpdate from the row."""
    checks = await with_current_reservations(session, [check_of(row) for row in rows])
    return [to_tmf(check, last_update=row.updated_at) for check, row in zip(checks, rows, strict=True)]


# ---- routes ------------------------------------------------------------------------------------------------

router = APIRouter(prefix=SQ_PATH, tags=["TMF645 service qualification"], route_class=TmfRoute)

Requester = Annotated[Actor, Depends(require_roles(Role.COORDINATOR, Role.DEPARTMENT, Role.SUPERVISOR))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=CREATED,
    summary="Request a resource check (checkServiceQualification)",
)
async def create_check(
    body: CheckServiceQualificationCreate,
    actor: Requester,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> CheckServiceQualification:
    """Register the check (the `id`) and start its workflow: the departments the rules name are asked at once."""
    check = await register(
        session=session, gateway=gateway, actor=actor, request=request_of(body), request_id=request_id, rename=tmf_name
    )
    response.headers["Location"] = href(check.check_id)
    return CheckServiceQualification.model_validate(to_tmf(check))


# The one table of CheckServiceQualification list filters (SQL on the read model); the spec's others answer 400.
CHECK_FILTERS = Filters(
    "checkServiceQualification",
    {
        "id": equals(col(ResourceCheckRow.check_id)),
        "state": equals(col(ResourceCheckRow.tmf_state), value_type=TaskState),
        "qualificationResult": equals(col(ResourceCheckRow.qualification_result), value_type=Qualification),
        "feasibility": equals(col(ResourceCheckRow.feasibility), value_type=Feasibility, description="three results"),
        "externalId": equals(col(ResourceCheckRow.external_id)),
        "relatedParty.id": equals(
            col(ResourceCheckRow.customer_id),
            col(ResourceCheckRow.created_by),
            description="the customer's id or the requester's username",
        ),
        "checkServiceQualificationDate": dated(col(ResourceCheckRow.created_at)),
        "estimatedResponseDate": dated(col(ResourceCheckRow.due_at)),
        # extensions
        "checkStatus": equals(col(ResourceCheckRow.status), value_type=CheckStatus, description="our status"),
        "onTime": equals(col(ResourceCheckRow.on_time), value_type=bool),
        "lastUpdate": dated(col(ResourceCheckRow.updated_at)),
    },
    spec_attributes=(
        "href",
        "description",
        "effectiveQualificationDate",
        "expectedQualificationDate",
        "expirationDate",
        "instantSyncQualification",
        "provideAlternative",
        "provideUnavailabilityReason",
        "relatedParty",
        "serviceQualificationItem",
        "@baseType",
        "@schemaLocation",
        "@type",
        "contact",  # never filterable: it would probe a customer's contact
    ),
)
CheckListing = Annotated[TmfList, Depends(CHECK_FILTERS.listing)]


@router.get("", summary="List resource checks", openapi_extra=CHECK_FILTERS.openapi(), responses=LISTED)
async def list_checks(actor: Reader, session: SessionDep, listing: CheckListing) -> list[CheckServiceQualification]:
    """Checks newest first from the read model, filtered by CHECK_FILTERS; X-Total-Count and X-Result-Count."""
    total, rows = await page_of(
        session,
        ResourceCheckRow,
        listing.conditions,
        *listing.order_by(col(ResourceCheckRow.created_at).desc(), col(ResourceCheckRow.check_id).desc()),
        offset=listing.offset,
        limit=listing.limit,
        count_cap=listing.count_cap,
    )
    page = listing.page(total, await rows_to_tmf(session, CHECKS.readable(rows)))
    return [CheckServiceQualification.model_validate(check) for check in page]


@router.get("/{id}", summary="One resource check")
async def get_check(id: str, actor: Reader, session: SessionDep, fields: Fields = None) -> CheckServiceQualification:
    """The check by id (404 when unknown)."""
    row = await load_row(session, id)
    return CheckServiceQualification.model_validate(project((await rows_to_tmf(session, [row]))[0], fields))
