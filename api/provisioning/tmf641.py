"""TMF641 Service Ordering ⇄ our circuit-provisioning order: the one mapping, both ways.

Resource (`/tmf-api/serviceOrdering/v4/serviceOrder/{id}`, `id` = order id, e.g. SO20261125A1B2C3): each
`serviceOrderItem` is one circuit and one provisioning order (`ProvisioningOrder` workflow). An order of one item
is that provisioning order; an order of several items runs one provisioning order per item, `<id>-1`, `<id>-2` …
in the order listed (each with its own steps at `/api/provisioning-orders/<id>-<n>`), and its `state` aggregates
the items' states by TMF641's rules (`core.provisioning.order_state`: all alike → that state; all ended →
`partial` when some completed; otherwise `inProgress`); every `serviceOrderItem[].state` is its own item's, and the
per-item extensions (`provisioningOrderId`, `orderStatus`, `currentStep`, `steps[]`, `circuitId` …) ride in its
item (`scope` stays on the order too: cross-province when any item is). A filter on an item's attribute
(`serviceOrderItem.service.serviceType`, `circuitType`, `orderStatus`, `currentStep`) matches when any item does.
A cancel cancels every item still cancellable. `action` is `add` (a new circuit) or `delete` (the service closure
of the circuit `service.id`, planned by the provisioning workflow). The circuit rides in the item's
`service.serviceCharacteristic[]` by name:

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

Service closure (拆机): an item with `action` `delete` and `service.id` the circuit's ledger id (CIR-…); the
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
from functools import partial
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from api.acts import Acting, IdempotencyKey, already_done
from api.deps import DbDep, GatewayDep, Reader, SessionDep, require_roles
from api.errors import field_errors
from api.provisioning.service import ORDERS, closure_spec, order_of, perform, register_order
from api.provisioning.tmf641_models import CancelServiceOrder, ServiceOrder, TmfOrderState
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
    project,
    tmf_errors,
    tmf_json,
)
from core.bounds import AwareInstant
from core.circuits import CircuitTypeName
from core.provisioning import (
    CANCELLABLE,
    ORDER_ROLES,
    TMF_STATE,
    CircuitSpec,
    OrderStatus,
    ProvisioningOrder,
    Scope,
    order_state,
)
from core.roles import Actor
from db.models import ServiceOrderRow, utcnow
from db.provisioning import OrderItem, new_order_id
from db.readmodel import page_of

ORDER_PATH = "/tmf-api/serviceOrdering/v4/serviceOrder"
CATEGORY = "circuitProvisioning"  # every item builds (or closes) one circuit
MAX_ITEMS = 20
CANCEL_PATH = "/tmf-api/serviceOrdering/v4/cancelServiceOrder"
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

    id: str | None = Field(default=None, max_length=40, description="delete: the circuit to close")
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


async def specs_of(
    session: SessionDep, body: ServiceOrderCreate, request_id: str | None
) -> list[tuple[OrderItemCreate, CircuitSpec]]:
    """Each item with the circuit it builds (or closes); 400 naming the attribute when one does not describe it."""
    items = body.service_order_item
    if len(items) > MAX_ITEMS:
        raise HTTPException(400, f"serviceOrderItem: at most {MAX_ITEMS} items per order")
    if duplicate := next((i.id for n, i in enumerate(items) if i.id in {j.id for j in items[:n]}), None):
        raise HTTPException(400, f"serviceOrderItem.id: {duplicate!r} is given twice (each item needs its own id)")
    specs = []
    for n, item in enumerate(items):
        where = f"serviceOrderItem[{n}]: " if len(items) > 1 else ""
        if item.action == "delete":
            key = request_id if len(items) == 1 else request_id and f"{request_id}#{n + 1}"
            specs.append((item, await _closure_of(session, body, item, where, key)))
        else:
            specs.append((item, _spec_of(body, item, where)))
    return specs


async def _closure_of(
    session: SessionDep, body: ServiceOrderCreate, item: OrderItemCreate, where: str, request_id: str | None
) -> CircuitSpec:
    """A delete item: the service closure of the circuit `service.id` (its ledger id)."""
    field = f"{where}serviceOrderItem.service.id"
    return await closure_spec(
        session, item.service.id, body.requested_completion_date, field=field, request_id=request_id
    )


def _spec_of(body: ServiceOrderCreate, item: OrderItemCreate, where: str) -> CircuitSpec:
    """An add item: the new circuit its characteristics describe."""
    if item.action != "add":
        raise HTTPException(400, f"{where}serviceOrderItem.action: add (a new circuit) or delete (a service closure)")
    values: dict[str, Any] = {
        "requested_completion": body.requested_completion_date,
        "requested_start": body.requested_start_date,
        "customer_id": body.customer_id,
    }
    for characteristic in item.service.service_characteristic:
        if characteristic.name not in _CHARACTERISTICS:
            raise HTTPException(
                400,
                f"{where}serviceCharacteristic: unknown {characteristic.name!r} (one of {', '.join(_CHARACTERISTICS)})",
            )
        values[_CHARACTERISTICS[characteristic.name]] = characteristic.value
    try:
        return CircuitSpec(**values)
    except ValidationError as err:
        names = {v: k for k, v in _CHARACTERISTICS.items()} | {
            "requested_completion": "requestedCompletionDate",
            "requested_start": "requestedStartDate",
        }
        message = field_errors(err.errors(), lambda f: names.get(f, camel(f)))
        raise HTTPException(400, "; ".join(where + part for part in message.split("; "))) from None


def to_tmf(
    order: ProvisioningOrder,
    *,
    last_update: datetime | None = None,
    item_id: str | None = None,
    service_order_id: str | None = None,
) -> dict[str, Any]:
    """The TMF641 ServiceOrder representation of an order (circuit ends carry no contact data); an item of an
    order of several items names its TMF item id and order in its references."""
    spec, state = order.spec, TMF_STATE[order.status]
    item_id, service_order_id = item_id or order.item_id, service_order_id or order.order_id
    item_ref = [{"itemId": item_id, "serviceOrderId": service_order_id}]
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
                "id": item_id,
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
                "serviceOrderItem": item_ref,
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
                "serviceOrderItem": item_ref,
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
        "steps": [camel_keys(s.model_dump(exclude={"doers"})) for s in order.steps],
        "reviews": [camel_keys(r.model_dump()) for r in order.reviews],
        "circuitId": order.circuit_id,
        "planBasis": order.plan_basis,
        "resourceCheck": camel_keys(spec.check.model_dump()) if spec.check else None,
        "cutover": camel_keys(order.cutover.model_dump()) if order.cutover else None,
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
    """The TMF641 representation of a read-model row, lastUpdate from the row (an item names its order)."""
    return to_tmf(order_of(row), last_update=row.updated_at, item_id=row.item_id, service_order_id=row.service_order_id)


# ---- orders of several items: one row (provisioning order) per item ----------------------------------------

# The TMF order a row belongs to, and that order's state (its own for a one-item order).
TMF_ID = func.coalesce(col(ServiceOrderRow.service_order_id), col(ServiceOrderRow.order_id))
ORDER_STATE = func.coalesce(col(ServiceOrderRow.order_state), col(ServiceOrderRow.tmf_state))
# An order of several items spans provinces when any of its items does ("cross_province" sorts first).
_SIBLING = aliased(ServiceOrderRow)
ORDER_SCOPE = case(
    (col(ServiceOrderRow.service_order_id).is_(None), col(ServiceOrderRow.scope)),
    else_=select(func.min(_SIBLING.scope))
    .where(col(_SIBLING.service_order_id) == col(ServiceOrderRow.service_order_id))
    .scalar_subquery(),
)
# One row per TMF order in lists: the order's own row, or its first item's.
_LEAD = or_(col(ServiceOrderRow.item_position).is_(None), col(ServiceOrderRow.item_position) == 1)
# The group cancel's id on an item's cancel (`<cancel id>-<position>`).
CANCEL_ID = case(
    (col(ServiceOrderRow.service_order_id).is_(None), col(ServiceOrderRow.cancel_id)),
    else_=func.regexp_replace(col(ServiceOrderRow.cancel_id), "-[0-9]+$", ""),
)
_PER_ITEM = (
    "orderStatus",
    "currentStep",
    "steps",
    "reviews",
    "circuitId",
    "planBasis",
    "resourceCheck",
    "cutover",
    "redo",
    "dispatchReceipt",
    "timeliness",
    "rules",
    "calendar",
    "error",
)
_ENDED = ("completed", "failed", "cancelled")
_CANCELLABLE = {s.value for s in CANCELLABLE}


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _extreme(parts: list[dict[str, Any]], key: str, pick: Any) -> Any:
    values = [p[key] for p in parts if p.get(key)]
    return pick(values, key=_instant) if values else None


def group_to_tmf(service_order_id: str, rows: list[ServiceOrderRow]) -> dict[str, Any]:
    """The TMF641 representation of an order of several items: its items' states aggregated, each item its own."""
    parts = [row_to_tmf(row) for row in rows]
    items = [
        part["serviceOrderItem"][0]
        | {"provisioningOrderId": row.order_id}
        | {k: part[k] for k in (*_PER_ITEM, "scope")}
        for row, part in zip(rows, parts, strict=True)
    ]
    ended = all(p["state"] in _ENDED for p in parts)
    resource = {k: v for k, v in parts[0].items() if k not in _PER_ITEM}
    resource |= {
        "id": service_order_id,
        "href": href(service_order_id),
        "state": order_state([p["state"] for p in parts]),
        "scope": min(p["scope"] for p in parts),  # as ORDER_SCOPE: cross-province when any item is
        "orderDate": _extreme(parts, "orderDate", min),
        "startDate": _extreme(parts, "startDate", min),
        "expectedCompletionDate": _extreme(parts, "expectedCompletionDate", max),
        "completionDate": _extreme(parts, "completionDate", max) if ended else None,
        "cancellationDate": _extreme(parts, "cancellationDate", max),
        "cancellationReason": next((p["cancellationReason"] for p in parts if p.get("cancellationReason")), None),
        "lastUpdate": _extreme(parts, "lastUpdate", max),
        "serviceOrderItem": items,
        "milestone": [m for p in parts for m in p["milestone"]],
        "jeopardyAlert": [a for p in parts for a in p["jeopardyAlert"]],
    }
    return resource


def rows_to_tmf(rows: list[ServiceOrderRow]) -> dict[str, Any]:
    """The TMF641 representation of an order from its rows (one, or one per item)."""
    service_order_id = rows[0].service_order_id
    return row_to_tmf(rows[0]) if service_order_id is None else group_to_tmf(service_order_id, rows)


async def order_rows(session: SessionDep, order_id: str) -> list[ServiceOrderRow]:
    """The rows of a TMF order (its own, or its items' in order); 404 when there is no such order."""
    rows = list(
        await session.scalars(
            select(ServiceOrderRow)
            .where(
                or_(
                    and_(col(ServiceOrderRow.order_id) == order_id, col(ServiceOrderRow.service_order_id).is_(None)),
                    col(ServiceOrderRow.service_order_id) == order_id,
                )
            )
            .order_by(col(ServiceOrderRow.item_position))
        )
    )
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"service order {order_id} does not exist")
    return rows


async def _with_items(session: SessionDep, leads: list[ServiceOrderRow]) -> list[list[ServiceOrderRow]]:
    """Each listed order's rows: its own, or all its items' (one query); an order with an unreadable row is left out."""
    groups = [r.service_order_id for r in leads if r.service_order_id is not None]
    items: dict[str, list[ServiceOrderRow]] = {}
    if groups:
        found = await session.scalars(
            select(ServiceOrderRow)
            .where(col(ServiceOrderRow.service_order_id).in_(groups))
            .order_by(col(ServiceOrderRow.item_position))
        )
        for row in found:
            items.setdefault(row.service_order_id or "", []).append(row)
    listed = [items[r.service_order_id] if r.service_order_id else [r] for r in leads]
    return [group for group in listed if len(ORDERS.readable(group)) == len(group)]


# ---- routes ------------------------------------------------------------------------------------------------

router = APIRouter(prefix=ORDER_PATH, tags=["TMF641 service orders"], route_class=TmfRoute)
cancel_router = APIRouter(prefix=CANCEL_PATH, tags=["TMF641 service orders"], route_class=TmfRoute)

Orderer = Annotated[Actor, Depends(require_roles(*ORDER_ROLES))]


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses=CREATED, summary="Order circuits (a provisioning order per item)"
)
async def create_service_order(
    body: ServiceOrderCreate,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> ServiceOrder:
    """Start each item's workflow: it plans the steps, splits the deadline and opens the dispatch task.

    Several items are registered one by one (item n under the Idempotency-Key `<key>#n`): a retry with the same
    key registers only the items an interrupted create did not.
    """
    items = await specs_of(session, body, request_id)
    register = partial(
        register_order,
        session=session,
        gateway=gateway,
        actor=actor,
        description=body.description,
        external_id=body.external_id,
    )
    if len(items) == 1:
        order = await register(spec=items[0][1], request_id=request_id)
        response.headers["Location"] = href(order.order_id)
        return ServiceOrder.model_validate(to_tmf(order))
    service_order_id = new_order_id(utcnow())
    for position, (item, spec) in enumerate(items, start=1):
        key = f"{request_id}#{position}" if request_id else None
        link = OrderItem(service_order_id=service_order_id, position=position, item_id=item.id)
        order = await register(spec=spec, request_id=key, item=link)
        if position == 1 and order.order_id != f"{service_order_id}-1":  # a retry: the order registered before
            service_order_id = order.order_id.rsplit("-", 1)[0]
    response.headers["Location"] = href(service_order_id)
    return ServiceOrder.model_validate(rows_to_tmf(await order_rows(session, service_order_id)))


# The one table of ServiceOrder list filters (SQL on the read model); the spec's other attributes answer 400.
ORDER_FILTERS = Filters(
    "serviceOrder",
    {
        "id": equals(TMF_ID),
        "state": equals(ORDER_STATE, value_type=TmfOrderState, description="the order's (aggregated) state"),
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
        "scope": equals(ORDER_SCOPE, value_type=Scope, description="cross_province when any item is"),
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
        "id": equals(CANCEL_ID),
        "state": equals(col(ServiceOrderRow.detail)["cancel"]["state"].astext),
        "serviceOrder.id": equals(TMF_ID),
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


@router.get("", summary="List service orders", openapi_extra=ORDER_FILTERS.openapi(), responses=LISTED)
async def list_service_orders(actor: Reader, session: SessionDep, listing: OrderListing) -> list[ServiceOrder]:
    """Orders newest first from the read model, filtered by ORDER_FILTERS; X-Total-Count and X-Result-Count.

    An order of several items is listed once; a filter on an item's attribute matches when any item matches.
    """
    conditions = [_LEAD]
    if listing.conditions:
        conditions.append(TMF_ID.in_(select(TMF_ID).where(and_(*listing.conditions))))
    total, rows = await page_of(
        session,
        ServiceOrderRow,
        conditions,
        *listing.order_by(col(ServiceOrderRow.created_at).desc(), TMF_ID.desc()),
        offset=listing.offset,
        limit=listing.limit,
        count_cap=listing.count_cap,
    )
    page = listing.page(total, [rows_to_tmf(order) for order in await _with_items(session, rows)])
    return [ServiceOrder.model_validate(o) for o in page]


@router.get("/{id}", summary="One service order")
async def get_service_order(id: str, actor: Reader, session: SessionDep, fields: Fields = None) -> ServiceOrder:
    """The order by id (404 when unknown)."""
    return ServiceOrder.model_validate(project(rows_to_tmf(await order_rows(session, id)), fields))


@cancel_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**CREATED, **tmf_errors(404)},
    summary="Cancel a service order",
)
async def create_cancel_service_order(
    body: CancelServiceOrderCreate,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> CancelServiceOrder:
    """The order goes assessingCancellation → pendingCancellation (reservation released, tasks closed) → cancelled.

    An order of several items cancels every item still cancellable (item n's cancel `<cancel id>-<n>`, under the
    Idempotency-Key `<key>#n`); items already completed stay completed, and the order ends `partial`.
    """
    rows = await order_rows(session, body.service_order.id)
    cancel_id = f"CSO-{uuid4().hex[:12].upper()}"
    act = {"type": "cancel", "reason": body.cancellation_reason}
    if rows[0].service_order_id is None:
        acting = Acting(actor, session, gateway, db, request_id)
        order = await perform(acting, rows[0], act | {"cancel_id": cancel_id})
        if order.cancel is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "serviceOrder: the cancel did not take effect")
        response.headers["Location"] = f"{CANCEL_PATH}/{order.cancel.cancel_id}"
        return CancelServiceOrder.model_validate(cancel_to_tmf(order))
    keys = {row.order_id: f"{request_id}#{row.item_position}" if request_id else None for row in rows}
    cancellable = [row for row in rows if row.status in _CANCELLABLE]
    replayed = [row for row in rows if (key := keys[row.order_id]) and await already_done(session, key)]
    if not cancellable and not replayed:
        states = ", ".join(sorted({row.status for row in rows}))
        raise HTTPException(status.HTTP_409_CONFLICT, f"serviceOrder: no item can be cancelled (items are {states})")
    for row in cancellable:
        acting = Acting(actor, session, gateway, db, keys[row.order_id])
        await perform(acting, row, act | {"cancel_id": f"{cancel_id}-{row.item_position}"})
    rows = await order_rows(session, body.service_order.id)
    cancelled = next((row.cancel_id for row in rows if row.cancel_id), None)
    if cancelled is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "serviceOrder: the cancel did not take effect")
    base = cancelled.rsplit("-", 1)[0]
    response.headers["Location"] = f"{CANCEL_PATH}/{base}"
    return CancelServiceOrder.model_validate(group_cancel_to_tmf(base, rows))


def group_cancel_to_tmf(cancel_id: str, rows: list[ServiceOrderRow]) -> dict[str, Any]:
    """The CancelServiceOrder of an order of several items: its items' cancels together."""
    cancels = [
        cancel
        for row in rows
        if row.cancel_id and row.cancel_id.startswith(f"{cancel_id}-") and (cancel := order_of(row).cancel) is not None
    ]
    states = {c.state for c in cancels}
    state = (
        states.pop() if len(states) == 1 else "terminatedWithError" if "terminatedWithError" in states else "inProgress"
    )
    effective = [c.effective_at for c in cancels]
    service_order_id = rows[0].service_order_id or rows[0].order_id
    return tmf_json(
        {
            "id": cancel_id,
            "href": f"{CANCEL_PATH}/{cancel_id}",
            "@type": "CancelServiceOrder",
            "state": state,
            "cancellationReason": cancels[0].reason if cancels else None,
            "requestedCancellationDate": min((c.requested_at for c in cancels), default=None),
            "effectiveCancellationDate": max(effective) if effective and None not in effective else None,  # type: ignore[type-var]
            "serviceOrder": {"@type": "ServiceOrderRef", "id": service_order_id, "href": href(service_order_id)},
        }
    )


def _cancel_of(rows: list[ServiceOrderRow]) -> dict[str, Any]:
    """The cancel request of an order from its rows."""
    if rows[0].service_order_id is None:
        return cancel_to_tmf(order_of(rows[0]))
    cancelled = next(row.cancel_id for row in rows if row.cancel_id)
    return group_cancel_to_tmf(cancelled.rsplit("-", 1)[0], rows)


_OTHER = aliased(ServiceOrderRow)
# One row per cancel request in lists: the order's own row, or its first cancelled item's.
_LEAD_CANCEL = or_(
    col(ServiceOrderRow.service_order_id).is_(None),
    col(ServiceOrderRow.item_position)
    == select(func.min(_OTHER.item_position))
    .where(col(_OTHER.service_order_id) == col(ServiceOrderRow.service_order_id), col(_OTHER.cancel_id).is_not(None))
    .scalar_subquery(),
)


@cancel_router.get("", summary="List cancel requests", openapi_extra=CANCEL_FILTERS.openapi(), responses=LISTED)
async def list_cancel_service_orders(
    actor: Reader,
    session: SessionDep,
    listing: CancelListing,
) -> list[CancelServiceOrder]:
    """Cancel requests, newest order first, filtered by CANCEL_FILTERS (an order of several items's once)."""
    cancelled = [col(ServiceOrderRow.cancel_id).is_not(None), _LEAD_CANCEL, *listing.conditions]
    total, rows = await page_of(
        session,
        ServiceOrderRow,
        cancelled,
        *listing.order_by(col(ServiceOrderRow.created_at).desc(), col(ServiceOrderRow.order_id).desc()),
        offset=listing.offset,
        limit=listing.limit,
        count_cap=listing.count_cap,
    )
    page = listing.page(total, [_cancel_of(order) for order in await _with_items(session, rows)])
    return [CancelServiceOrder.model_validate(cancel) for cancel in page]


@cancel_router.get("/{id}", summary="One cancel request")
async def get_cancel_service_order(
    id: str, actor: Reader, session: SessionDep, fields: Fields = None
) -> CancelServiceOrder:
    """A cancel request by id, with how far it got (404 when unknown)."""
    row = await session.scalar(
        select(ServiceOrderRow).where(
            or_(
                and_(col(ServiceOrderRow.cancel_id) == id, col(ServiceOrderRow.service_order_id).is_(None)),
                col(ServiceOrderRow.cancel_id).startswith(f"{id}-", autoescape=True),
            )
        )
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"cancelServiceOrder {id} does not exist")
    rows = await order_rows(session, row.service_order_id) if row.service_order_id else [row]
    cancel = _cancel_of(rows) if row.service_order_id is None else group_cancel_to_tmf(id, rows)
    return CancelServiceOrder.model_validate(project(cancel, fields))
