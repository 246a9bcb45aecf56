"""TMF641 Service Ordering ⇄ our circuit-provisioning order: the one mapping, both ways.

Resource (`/tmf-api/serviceOrdering/v4/serviceOrder/{id}`, `id` = order id, e.g. SO20261125A1B2C3): one order
builds (or closes) one circuit, so `serviceOrderItem` holds one item, `action` `add` (or `delete`). The circuit
rides in the item's `service.serviceCharacteristic[]` by name:

| characteristic | ours |
| --- | --- |
| `circuitType` | `core.circuits.CircuitType` (mpls_vpn, ddn, …; `mpls-vpn` etc. accepted as aliases) |
| `aEnd`, `zEnd` | `{province, city, site}`; different provinces make the order cross-province |
| `bandwidth` | e.g. `100M` |
| `resourceCheckId`, `reservationId` | the resource check and reservation the order uses (optional) |
| `needsProcurement`, `needsConstruction` | steps the order adds (optional); the check's own answers always count |
| `cutover` | `{step, windowStart, windowEnd}`: the step is a cut-over (割接); customers are told ahead |

The plan follows the resource check (`resourceCheckId`): an answer saying new construction (or procurement)
plans that step. `needsConstruction: true` adds a step the check did not ask for; `false` for a step the check
asked for is refused with 400 (dropping it takes a re-check). An order without a check says so in `planBasis`.

Service closure (拆机): one item with `action` `delete` and `service.id` the circuit's ledger id (CIR-…); the
circuit comes from the ledger, the order plans the closure steps (data removal, resource recovery, billing stop
notice, completion) and on completion closes the circuit's ledger row (status `closed`, kept).

`requestedCompletionDate` (with offset, in the future) is required, `requestedStartDate` optional (not in the past,
before completion; either date wrong is a 400 naming it); `externalId`, `description` are kept. A `reservationId`
is validated at create (it exists, is held, belongs to the `resourceCheckId` if given, the same customer and
service: 400/409 naming it, and nothing starts) and claimed as the order is accepted, for the order's whole life;
a `resourceCheckId` must name an accepted, feasible check of the customer. The claimed reservation shows in the
`reservation` extension (as the order last changed it; `/api/reservations/{id}` has it now).
`state` and every item's `state` follow `core.provisioning.TMF_STATE`; `milestone[]` (a step finished, review
approved, completion reported) and `jeopardyAlert[]` (a step past its warning threshold or its deadline) are
kept current. Extensions: `orderStatus` (ours), `scope`, `currentStep`, `steps[]` (department, due, done,
documents, on time, rework, dependants), `reviews[]`, `circuitId`, `timeliness` `{onTime, cycleSeconds}`,
`planBasis` (why procurement/construction are planned), `resourceCheck` (what the check found), `cutover`
(window, notices, earliest start), `redo` (the dependants still to redo after a return).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy import literal, select
from sqlmodel import col

from api.acts import Acting, IdempotencyKey
from api.deps import DbDep, GatewayDep, Reader, SessionDep, require_roles
from api.errors import field_errors
from api.provisioning.service import closure_spec, load_row, order_of, perform, register_order
from api.tmf.shared import Fields, Filters, TmfList, TmfRoute, dated, equals, project, tmf_json
from core.bounds import AwareInstant
from core.circuits import CircuitTypeName
from core.provisioning import ORDER_ROLES, TMF_STATE, CircuitSpec, OrderStatus, ProvisioningOrder, Scope
from core.roles import Actor
from db.models import ServiceOrderRow
from db.readmodel import page_of

ORDER_PATH = "/tmf-api/serviceOrdering/v4/serviceOrder"
CATEGORY = "circuitProvisioning"  # every order builds one circuit
CANCEL_PATH = "/tmf-api/serviceOrdering/v4/cancelServiceOrder"
TmfOrderState = Literal[
    "acknowledged",
    "rejected",
    "pending",
    "held",
    "inProgress",
    "cancelled",
    "completed",
    "failed",
    "partial",
    "assessingCancellation",
    "pendingCancellation",
]
_CHARACTERISTICS = {
    "circuitType": "circuit_type",
    "aEnd": "a_end",
    "zEnd": "z_end",
    "bandwidth": "bandwidth",
    "resourceCheckId": "resource_check_id",
    "reservationId": "reservation_id",
    "needsProcurement": "needs_procurement",
    "needsConstruction": "needs_construction",
    "cutover": "cutover",
}


def href(order_id: str) -> str:
    """The order's address."""
    return f"{ORDER_PATH}/{order_id}"


class _Tmf(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Characteristic(_Tmf):
    """TMF Characteristic: a name and a value."""

    name: str
    value: Any = None


class ServiceRef(_Tmf):
    """TMF ServiceRefOrValue: the circuit, described by its characteristics."""

    id: str | None = Field(default=None, max_length=40, description="the circuit a delete item closes")
    service_characteristic: list[Characteristic] = Field(default_factory=list, alias="serviceCharacteristic")


class OrderItemCreate(_Tmf):
    """TMF ServiceOrderItem on create."""

    id: str = Field(min_length=1, max_length=16)
    action: Literal["add", "modify", "delete", "noChange"]
    service: ServiceRef


class ServiceOrderCreate(_Tmf):
    """TMF641 ServiceOrder_Create: serviceOrderItem is mandatory; we also need requestedCompletionDate."""

    service_order_item: list[OrderItemCreate] = Field(alias="serviceOrderItem", min_length=1)
    requested_completion_date: AwareInstant = Field(alias="requestedCompletionDate")
    requested_start_date: AwareInstant | None = Field(default=None, alias="requestedStartDate")
    description: str | None = Field(default=None, max_length=2000)
    external_id: str | None = Field(default=None, alias="externalId", max_length=100)
    customer_id: str | None = Field(default=None, alias="customerId", max_length=64)


class OrderRef(_Tmf):
    """TMF ServiceOrderRef."""

    id: str = Field(min_length=1, max_length=32)


class CancelServiceOrderCreate(_Tmf):
    """TMF641 CancelServiceOrder_Create: the order and why."""

    service_order: OrderRef = Field(alias="serviceOrder")
    cancellation_reason: str = Field(alias="cancellationReason", min_length=1, max_length=2000)


def spec_of(body: ServiceOrderCreate) -> CircuitSpec:
    """The circuit a create asks for; 400 naming the attribute when it does not describe one."""
    if len(body.service_order_item) != 1:
        raise HTTPException(400, "serviceOrderItem: exactly one item (one circuit per order)")
    item = body.service_order_item[0]
    if item.action != "add":
        raise HTTPException(400, "serviceOrderItem.action: add (a new circuit) or delete (a closure, with service.id)")
    values: dict[str, Any] = {
        "requested_completion": body.requested_completion_date,
        "requested_start": body.requested_start_date,
        "customer_id": body.customer_id,
    }
    for characteristic in item.service.service_characteristic:
        if characteristic.name not in _CHARACTERISTICS:
            raise HTTPException(
                400, f"serviceCharacteristic: unknown {characteristic.name!r} (one of {', '.join(_CHARACTERISTICS)})"
            )
        values[_CHARACTERISTICS[characteristic.name]] = characteristic.value
    try:
        return CircuitSpec(**values)
    except ValidationError as err:
        names = {v: k for k, v in _CHARACTERISTICS.items()} | {
            "requested_completion": "requestedCompletionDate",
            "requested_start": "requestedStartDate",
        }
        raise HTTPException(400, field_errors(err.errors(), lambda f: names.get(f, to_camel(f)))) from None


def _camel(data: dict[str, Any]) -> dict[str, Any]:
    return {to_camel(k): v for k, v in data.items()}


def to_tmf(order: ProvisioningOrder, *, last_update: datetime | None = None) -> dict[str, Any]:
    """The TMF641 ServiceOrder representation of an order (circuit ends carry no contact data)."""
    spec, state = order.spec, TMF_STATE[order.status]
    started = next((s.done_at for s in order.steps if s.step == "dispatch"), None)
    characteristics = [
        {"name": name, "value": value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value}
        for name, field in _CHARACTERISTICS.items()
        if (value := getattr(spec, field)) is not None
    ]
    cancel = order.cancel
    resource = {
        "id": order.order_id,
        "href": href(order.order_id),
        "@type": "ServiceOrder",
        "category": CATEGORY,
        "description": order.description,
        "externalId": order.external_id,
        "state": state,
        "orderDate": order.created_at,
        "startDate": started,
        "requestedCompletionDate": spec.requested_completion,
        "requestedStartDate": spec.requested_start,
        "expectedCompletionDate": order.steps[-1].due_at if order.steps else spec.requested_completion,
        "completionDate": order.completed_at,
        "cancellationDate": cancel.effective_at if cancel else None,
        "cancellationReason": cancel.reason if cancel else None,
        "lastUpdate": last_update,
        "serviceOrderItem": [
            {
                "@type": "ServiceOrderItem",
                "id": order.item_id,
                "action": spec.action,
                "state": state,
                "service": {
                    "@type": "Service",
                    "id": order.circuit_id or spec.circuit_id,
                    "serviceType": spec.circuit_type,
                    "serviceCharacteristic": characteristics,
                },
            }
        ],
        "milestone": [
            {
                "@type": "ServiceOrderMilestone",
                "id": m.id,
                "name": m.name,
                "message": m.message,
                "milestoneDate": m.date,
                "status": "completed",
                "serviceOrderItem": [{"itemId": order.item_id, "serviceOrderId": order.order_id}],
            }
            for m in order.milestones
        ],
        "jeopardyAlert": [
            {
                "@type": "ServiceOrderJeopardyAlert",
                "id": a.id,
                "name": a.name,
                "jeopardyType": a.jeopardy_type,
                "message": a.message,
                "alertDate": a.date,
                "exception": a.step,
                "serviceOrderItem": [{"itemId": order.item_id, "serviceOrderId": order.order_id}],
            }
            for a in order.jeopardy_alerts
        ],
        "relatedParty": [
            {
                "@type": "RelatedParty",
                "id": order.created_by,
                "name": order.created_by,
                "role": "coordinator",
                "@referredType": "Individual",
            }
        ],
        # extensions
        "orderStatus": order.status,
        "customerId": spec.customer_id,
        "scope": order.scope,
        "currentStep": order.current,
        "steps": [_camel(s.model_dump(exclude={"doers"})) for s in order.steps],
        "reviews": [_camel(r.model_dump()) for r in order.reviews],
        "circuitId": order.circuit_id,
        "planBasis": order.plan_basis,
        "resourceCheck": _camel(spec.check.model_dump()) if spec.check else None,
        "cutover": _camel(order.cutover.model_dump()) if order.cutover else None,
        "redo": order.redo,
        "dispatchReceipt": order.dispatch_receipt,
        "timeliness": {"onTime": order.on_time, "cycleSeconds": order.cycle_seconds},
        "rules": {"name": order.rules_name, "version": order.rules_version},
        "calendar": {"name": order.calendar_name, "version": order.calendar_version},
        "error": order.error,
        "reservation": order.reservation.model_dump(mode="json") if order.reservation else None,
    }
    return tmf_json(resource)


def cancel_to_tmf(order: ProvisioningOrder) -> dict[str, Any]:
    """The TMF641 CancelServiceOrder representation of an order's cancel request."""
    cancel = order.cancel
    assert cancel is not None
    return tmf_json(
        {
            "id": cancel.cancel_id,
            "href": f"{CANCEL_PATH}/{cancel.cancel_id}",
            "@type": "CancelServiceOrder",
            "state": cancel.state,
            "cancellationReason": cancel.reason,
            "requestedCancellationDate": cancel.requested_at,
            "effectiveCancellationDate": cancel.effective_at,
            "serviceOrder": {"@type": "ServiceOrderRef", "id": order.order_id, "href": href(order.order_id)},
        }
    )


def row_to_tmf(row: ServiceOrderRow) -> dict[str, Any]:
    """The TMF641 representation of a read-model row, lastUpdate from the row."""
    return to_tmf(order_of(row), last_update=row.updated_at)


# ---- routes ------------------------------------------------------------------------------------------------

router = APIRouter(prefix=ORDER_PATH, tags=["TMF641 service orders"], route_class=TmfRoute)
cancel_router = APIRouter(prefix=CANCEL_PATH, tags=["TMF641 service orders"], route_class=TmfRoute)

Orderer = Annotated[Actor, Depends(require_roles(*ORDER_ROLES))]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Order a circuit (start a provisioning order)")
async def create_service_order(
    body: ServiceOrderCreate,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """Start the order's workflow: it plans the steps, splits the deadline and opens the dispatch task."""
    items = body.service_order_item
    if len(items) == 1 and items[0].action == "delete":
        spec = await closure_spec(
            session,
            items[0].service.id,
            body.requested_completion_date,
            field="serviceOrderItem.service.id",
            request_id=request_id,
        )
    else:
        spec = spec_of(body)
    order = await register_order(
        session=session,
        gateway=gateway,
        actor=actor,
        spec=spec,
        request_id=request_id,
        description=body.description,
        external_id=body.external_id,
    )
    response.headers["Location"] = href(order.order_id)
    return to_tmf(order)


# The one table of ServiceOrder list filters (SQL on the read model); the spec's other attributes answer 400.
ORDER_FILTERS = Filters(
    "serviceOrder",
    {
        "id": equals(col(ServiceOrderRow.order_id)),
        "state": equals(col(ServiceOrderRow.tmf_state), value_type=TmfOrderState),
        "category": equals(literal(CATEGORY), description=f"always {CATEGORY}"),
        "externalId": equals(col(ServiceOrderRow.external_id)),
        "orderDate": dated(col(ServiceOrderRow.created_at)),
        "requestedCompletionDate": dated(col(ServiceOrderRow.requested_completion)),
        "completionDate": dated(col(ServiceOrderRow.completed_at)),
        "lastUpdate": dated(col(ServiceOrderRow.updated_at)),
        "serviceOrderItem.service.serviceType": equals(col(ServiceOrderRow.circuit_type), value_type=CircuitTypeName),
        # extensions
        "orderStatus": equals(col(ServiceOrderRow.status), value_type=OrderStatus, description="our status"),
        "circuitType": equals(col(ServiceOrderRow.circuit_type), value_type=CircuitTypeName),
        "scope": equals(col(ServiceOrderRow.scope), value_type=Scope),
        "customerId": equals(col(ServiceOrderRow.customer_id)),
        "currentStep": equals(col(ServiceOrderRow.current_step)),
    },
    spec_attributes=(
        "href",
        "cancellationDate",
        "cancellationReason",
        "description",
        "expectedCompletionDate",
        "notificationContact",
        "priority",
        "requestedStartDate",
        "startDate",
        "errorMessage",
        "externalReference",
        "jeopardyAlert",
        "milestone",
        "note",
        "orderRelationship",
        "relatedParty",
        "serviceOrderItem",
        "@baseType",
        "@schemaLocation",
        "@type",
    ),
)
CANCEL_FILTERS = Filters(
    "cancelServiceOrder",
    {
        "id": equals(col(ServiceOrderRow.cancel_id)),
        "state": equals(col(ServiceOrderRow.detail)["cancel"]["state"].astext),
        "serviceOrder.id": equals(col(ServiceOrderRow.order_id)),
    },
    spec_attributes=(
        "href",
        "cancellationReason",
        "completionMessage",
        "effectiveCancellationDate",
        "requestedCancellationDate",
        "errorMessage",
        "serviceOrder",
        "@baseType",
        "@schemaLocation",
        "@type",
    ),
)
OrderListing = Annotated[TmfList, Depends(ORDER_FILTERS.listing)]
CancelListing = Annotated[TmfList, Depends(CANCEL_FILTERS.listing)]


@router.get("", summary="List service orders", openapi_extra=ORDER_FILTERS.openapi())
async def list_service_orders(actor: Reader, session: SessionDep, listing: OrderListing) -> list[dict[str, Any]]:
    """Orders newest first from the read model, filtered by ORDER_FILTERS; X-Total-Count and X-Result-Count."""
    total, rows = await page_of(
        session,
        ServiceOrderRow,
        listing.conditions,
        *listing.order_by(col(ServiceOrderRow.created_at).desc(), col(ServiceOrderRow.order_id).desc()),
        offset=listing.offset,
        limit=listing.limit,
    )
    return listing.page(total, [row_to_tmf(row) for row in rows])


@router.get("/{id}", summary="One service order")
async def get_service_order(id: str, actor: Reader, session: SessionDep, fields: Fields = None) -> dict[str, Any]:
    """The order by id (404 when unknown)."""
    row = await load_row(session, id)
    return project(row_to_tmf(row), fields)


@cancel_router.post("", status_code=status.HTTP_201_CREATED, summary="Cancel a service order")
async def create_cancel_service_order(
    body: CancelServiceOrderCreate,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """The order goes assessingCancellation → pendingCancellation (reservation released, tasks closed) → cancelled."""
    row = await load_row(session, body.service_order.id)
    cancel_id = f"CSO-{uuid4().hex[:12].upper()}"
    acting = Acting(actor, session, gateway, db, request_id)
    order = await perform(acting, row, {"type": "cancel", "cancel_id": cancel_id, "reason": body.cancellation_reason})
    if order.cancel is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "serviceOrder: the cancel did not take effect")
    response.headers["Location"] = f"{CANCEL_PATH}/{order.cancel.cancel_id}"
    return cancel_to_tmf(order)


@cancel_router.get("", summary="List cancel requests", openapi_extra=CANCEL_FILTERS.openapi())
async def list_cancel_service_orders(
    actor: Reader,
    session: SessionDep,
    listing: CancelListing,
) -> list[dict[str, Any]]:
    """Cancel requests, newest order first, filtered by CANCEL_FILTERS."""
    cancelled = [col(ServiceOrderRow.cancel_id).is_not(None), *listing.conditions]
    total, rows = await page_of(
        session,
        ServiceOrderRow,
        cancelled,
        *listing.order_by(col(ServiceOrderRow.created_at).desc(), col(ServiceOrderRow.order_id).desc()),
        offset=listing.offset,
        limit=listing.limit,
    )
    return listing.page(total, [cancel_to_tmf(order_of(row)) for row in rows])


@cancel_router.get("/{id}", summary="One cancel request")
async def get_cancel_service_order(
    id: str, actor: Reader, session: SessionDep, fields: Fields = None
) -> dict[str, Any]:
    """A cancel request by id, with how far it got (404 when unknown)."""
    row = await session.scalar(select(ServiceOrderRow).where(col(ServiceOrderRow.cancel_id) == id))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"cancelServiceOrder {id} does not exist")
    return project(cancel_to_tmf(order_of(row)), fields)
