"""TMF641 ServiceOrder and CancelServiceOrder as we return them (`api/provisioning/tmf641.py` builds them).

Every attribute but `id`, `href` and `@type` is optional: a `fields=` projection returns only the attributes asked
for. A full resource carries every attribute below (null when unknown).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from api.tmf.shared import RelatedParty, ServiceCharacteristic, TmfEntity, TmfResource, VersionRef, response_part
from core.provisioning import OrderStatus, Review, Scope, Step
from core.reservations import ReservationState

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
CancelState = Literal["accepted", "inProgress", "done", "terminatedWithError"]

if TYPE_CHECKING:
    OrderStepView = Step
    OrderReviewView = Review
    OrderReservationView = ReservationState
else:
    OrderStepView = response_part(Step, "OrderStep", prefix="Order")
    OrderReviewView = response_part(Review, "OrderReview", prefix="Order")
    OrderReservationView = response_part(ReservationState, "OrderReservation", prefix="Order", camel=False)


class OrderedService(TmfResource):
    """The circuit: its id once built, its type, its characteristics (circuitType, aEnd, zEnd, bandwidth, …)."""

    id: str | None = None
    service_type: str | None = None
    service_characteristic: list[ServiceCharacteristic] | None = None


class ServiceOrderItem(TmfResource):
    """One item of the order: what to do to which service, and how far it got."""

    id: str
    action: Literal["add", "modify", "delete", "noChange"] | None = None
    state: TmfOrderState | None = None
    service: OrderedService | None = None


class ServiceOrderItemRef(TmfResource):
    """TMF ServiceOrderItemRef: the item a milestone or alert is about."""

    item_id: str | None = None
    service_order_id: str | None = None


class ServiceOrderMilestone(TmfResource):
    """A step finished, a review approved, completion reported."""

    id: str | None = None
    name: str | None = None
    message: str | None = None
    milestone_date: datetime | None = None
    status: str | None = None
    service_order_item: list[ServiceOrderItemRef] | None = None


class ServiceOrderJeopardyAlert(TmfResource):
    """A step past its warning threshold (warning) or its deadline (breach); `exception` names the step."""

    id: str | None = None
    name: str | None = None
    jeopardy_type: Literal["warning", "breach"] | None = None
    message: str | None = None
    alert_date: datetime | None = None
    exception: str | None = None
    service_order_item: list[ServiceOrderItemRef] | None = None


class OrderTimeliness(TmfResource):
    """Whether the order finished by its deadline, and how long it took."""

    on_time: bool | None = None
    cycle_seconds: float | None = None


class ServiceOrder(TmfEntity):
    """TMF641 ServiceOrder: a circuit-provisioning order (`id` is the order id), TMF attributes then extensions."""

    category: str | None = None
    description: str | None = None
    external_id: str | None = None
    state: TmfOrderState | None = None
    order_date: datetime | None = None
    start_date: datetime | None = None
    requested_start_date: datetime | None = None
    requested_completion_date: datetime | None = None
    expected_completion_date: datetime | None = None
    completion_date: datetime | None = None
    cancellation_date: datetime | None = None
    cancellation_reason: str | None = None
    last_update: datetime | None = None
    service_order_item: list[ServiceOrderItem] | None = None
    milestone: list[ServiceOrderMilestone] | None = None
    jeopardy_alert: list[ServiceOrderJeopardyAlert] | None = None
    related_party: list[RelatedParty] | None = Field(default=None, description="the coordinator who ordered")
    # extensions
    order_status: OrderStatus | None = Field(default=None, description="our status")
    customer_id: str | None = None
    scope: Scope | None = None
    current_step: str | None = Field(default=None, description="the step waiting for someone")
    steps: list[OrderStepView] | None = Field(default=None, description="department, due, done, documents, rework")
    reviews: list[OrderReviewView] | None = None
    circuit_id: str | None = None
    dispatch_receipt: str | None = None
    timeliness: OrderTimeliness | None = None
    rules: VersionRef | None = None
    calendar: VersionRef | None = None
    error: str | None = Field(default=None, description="why the order failed")
    plan_basis: str | None = Field(default=None, description="why procurement/construction are (not) planned")
    resource_check: dict[str, Any] | None = Field(default=None, description="what the order's resource check found")
    cutover: dict[str, Any] | None = Field(default=None, description="the cut-over notice and its state")
    redo: list[str] | None = Field(default=None, description="after a return: the dependent steps still to redo")
    reservation: OrderReservationView | None = Field(
        default=None, description="the reservation the order claimed, as of the order's last change"
    )


class ServiceOrderRef(TmfResource):
    """TMF ServiceOrderRef."""

    id: str
    href: str | None = None


class CancelServiceOrder(TmfEntity):
    """TMF641 CancelServiceOrder: a cancel request and how far it got."""

    state: CancelState | None = None
    cancellation_reason: str | None = None
    requested_cancellation_date: datetime | None = None
    effective_cancellation_date: datetime | None = None
    service_order: ServiceOrderRef | None = None
