"""Resource reservations: contracts shared by resource checks (which hold) and provisioning orders (which claim).

A reservation's life: a check holds it (`held`) until its validity runs out; an order claims it when the order
is accepted (`claimed`: kept for the order's whole life, it never expires); a re-check, a check cancel, an
order cancel or the circuit's closure releases it (`released`, with why); held past its validity and still
unclaimed, it `expired`. Every change is one event in its history.

The database row is the arbiter: hold, claim and release are atomic conditional updates, so a claim
and an expiry never both win.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field


class ReservationStatus(StrEnum):
    """Life of a reservation: held until claimed by an order, released (re-check, cancel, closure) or expired."""

    HELD = "held"
    CLAIMED = "claimed"
    RELEASED = "released"
    EXPIRED = "expired"


ENDED = (ReservationStatus.RELEASED, ReservationStatus.EXPIRED)


class ReservationEvent(BaseModel):
    """One change in a reservation's life: held, claimed by an order, released (why) or expired."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    event: Literal["held", "claimed", "released", "expired"]
    order_id: str | None = None
    reason: str | None = None


class HoldReservation(BaseModel):
    """Hold confirmed resources of one check item until `expires_at`."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str = Field(min_length=1, max_length=200)
    check_id: str = Field(min_length=1, max_length=64)
    item_id: str = Field(min_length=1, max_length=64)
    resources: dict[str, Any] = Field(default_factory=dict)
    expires_at: datetime


class ClaimReservation(BaseModel):
    """A provisioning order takes over a held, unexpired reservation."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str = Field(min_length=1, max_length=200)
    order_id: str = Field(min_length=1, max_length=64)


class ReleaseReservation(BaseModel):
    """Give the resources back; with `only_if_unclaimed` a claimed reservation is left alone; `expiry` when the
    validity ran out (a held one then ends `expired`)."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    only_if_unclaimed: bool = False
    expiry: bool = False


class ReleaseOrderReservations(BaseModel):
    """Release every reservation an order claimed (its cancel, or the closure of its circuit), with why."""

    model_config = ConfigDict(frozen=True)

    order_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


class ReservationState(BaseModel):
    """A reservation as the database holds it after an act (the row is the truth; copies show it as of then)."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str
    status: ReservationStatus
    claimed_by_order: str | None = None
    expires_at: datetime
    check_id: str | None = None
    item_id: str | None = None
    claimed_at: datetime | None = None
    released_at: datetime | None = None
    release_reason: str | None = None
    history: tuple[ReservationEvent, ...] = ()


class ClaimRefusal(NamedTuple):
    """Why an order may not claim a reservation; `unavailable` when it is no longer held (claimed, released,
    expired), otherwise it is not this order's to claim (another check, customer or service)."""

    unavailable: bool
    message: str


def claim_refusal(
    state: ReservationState,
    *,
    now: datetime,
    check_customer: str | None,
    order_customer: str | None,
    resource_check_id: str | None,
    same_service: bool,
) -> ClaimRefusal | None:
    """Why an order being accepted may not claim this reservation (None when it may): state, check, customer,
    service."""
    rid = state.reservation_id
    if state.status == ReservationStatus.CLAIMED:
        return ClaimRefusal(True, f"reservation {rid} is already claimed by order {state.claimed_by_order}")
    if state.status == ReservationStatus.RELEASED:
        return ClaimRefusal(True, f"reservation {rid} was released ({state.release_reason})")
    if state.status == ReservationStatus.EXPIRED or state.expires_at <= now:
        return ClaimRefusal(True, f"reservation {rid} expired at {state.expires_at.isoformat()}")
    if resource_check_id and state.check_id != resource_check_id:
        return ClaimRefusal(
            False, f"reservation {rid} belongs to resource check {state.check_id}, not {resource_check_id}"
        )
    if check_customer is not None and order_customer and check_customer != order_customer:
        return ClaimRefusal(False, f"reservation {rid} is held for another customer")
    if not same_service:
        return ClaimRefusal(False, f"reservation {rid} was checked for another service")
    return None
