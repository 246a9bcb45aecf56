"""TMF641 Service Ordering ⇄ our circuit-provisioning order: the one mapping, both ways.

Resource (`/tmf-api/serviceOrdering/v4/serviceOrder/{id}`, `id` = order id, e.g. SO20261125A1B2C3): one order
builds one circuit, so `serviceOrderItem` holds exactly one item with `action` `add`. The circuit rides in the
item's `service.serviceCharacteristic[]` by name:

| characteristic | ours |
| --- | --- |
| `circuitType` | digital_circuit, atm, ddn, frame_relay, mpls_vpn, other |
| `aEnd`, `zEnd` | `{province, city, site}`; different provinces make the order cross-province |
| `bandwidth` | e.g. `100M` |
| `resourceCheckId`, `reservationId` | the resource check and reservation the order uses (optional) |
| `needsProcurement`, `needsConstruction` | what the resource check said (optional, default false) |

`requestedCompletionDate` (with offset, in the future) is required; `externalId`, `description` are kept.
`state` and every item's `state` follow `core.provisioning.TMF_STATE`; `milestone[]` (a step finished, review
approved, completion reported) and `jeopardyAlert[]` (a step past its warning threshold or its deadline) are
kept current. Extensions: `orderStatus` (ours), `scope`, `currentStep`, `steps[]` (department, due, done,
documents, on time, rework), `reviews[]`, `circuitId`, `timeliness` `{onTime, cycleSeconds}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import HTTPException
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import to_jsonable_python

from api.errors import field_errors
from core.provisioning import TMF_STATE, CircuitSpec, ProvisioningOrder

ORDER_PATH = "/tmf-api/serviceOrdering/v4/serviceOrder"
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

    service_characteristic: list[Characteristic] = Field(default_factory=list, alias="serviceCharacteristic")


class OrderItemCreate(_Tmf):
    """TMF ServiceOrderItem on create."""

    id: str = Field(min_length=1, max_length=16)
    action: Literal["add", "modify", "delete", "noChange"]
    service: ServiceRef


class ServiceOrderCreate(_Tmf):
    """TMF641 ServiceOrder_Create: serviceOrderItem is mandatory; we also need requestedCompletionDate."""

    service_order_item: list[OrderItemCreate] = Field(alias="serviceOrderItem", min_length=1)
    requested_completion_date: AwareDatetime = Field(alias="requestedCompletionDate")
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
        raise HTTPException(400, "serviceOrderItem.action: only add (a new circuit) is supported")
    values: dict[str, Any] = {"requested_completion": body.requested_completion_date, "customer_id": body.customer_id}
    for characteristic in item.service.service_characteristic:
        if characteristic.name not in _CHARACTERISTICS:
            raise HTTPException(
                400, f"serviceCharacteristic: unknown {characteristic.name!r} (one of {', '.join(_CHARACTERISTICS)})"
            )
        values[_CHARACTERISTICS[characteristic.name]] = characteristic.value
    try:
        return CircuitSpec(**values)
    except ValidationError as err:
        names = {v: k for k, v in _CHARACTERISTICS.items()} | {"requested_completion": "requestedCompletionDate"}
        raise HTTPException(400, field_errors(err.errors(), lambda f: names.get(f, to_camel(f)))) from None


def _camel(data: dict[str, Any]) -> dict[str, Any]:
    return {to_camel(k): v for k, v in data.items()}


def to_tmf(order: ProvisioningOrder, *, last_update: datetime | None = None) -> dict[str, Any]:
    """The TMF641 ServiceOrder representation of an order (circuit ends carry no contact data)."""
    spec, state = order.spec, TMF_STATE[order.status]
    started = next((s.done_at for s in order.steps if s.step == "dispatch"), None)
    characteristics = [
        {"name": name, "value": getattr(spec, field)}
        for name, field in _CHARACTERISTICS.items()
        if getattr(spec, field) is not None
    ]
    cancel = order.cancel
    resource = {
        "id": order.order_id,
        "href": href(order.order_id),
        "@type": "ServiceOrder",
        "category": "circuitProvisioning",
        "description": order.description,
        "externalId": order.external_id,
        "state": state,
        "orderDate": order.created_at,
        "startDate": started,
        "requestedCompletionDate": spec.requested_completion,
        "expectedCompletionDate": order.steps[-1].due_at if order.steps else spec.requested_completion,
        "completionDate": order.completed_at,
        "cancellationDate": cancel.effective_at if cancel else None,
        "cancellationReason": cancel.reason if cancel else None,
        "lastUpdate": last_update,
        "serviceOrderItem": [
            {
                "@type": "ServiceOrderItem",
                "id": order.item_id,
                "action": "add",
                "state": state,
                "service": {
                    "@type": "Service",
                    "id": order.circuit_id,
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
        "dispatchReceipt": order.dispatch_receipt,
        "timeliness": {"onTime": order.on_time, "cycleSeconds": order.cycle_seconds},
        "rules": {"name": order.rules_name, "version": order.rules_version},
        "calendar": {"name": order.calendar_name, "version": order.calendar_version},
        "error": order.error,
    }
    return to_jsonable_python(resource)


def cancel_to_tmf(order: ProvisioningOrder) -> dict[str, Any]:
    """The TMF641 CancelServiceOrder representation of an order's cancel request."""
    cancel = order.cancel
    assert cancel is not None
    return to_jsonable_python(
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
