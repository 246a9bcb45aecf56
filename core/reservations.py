"""Resource reservations: contracts shared by resource checks (which hold) and provisioning orders (which claim).

The database row is the arbiter: hold, claim and release are atomic conditional updates, so a claim
and an expiry never both win.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReservationStatus(StrEnum):
    """Life of a reservation: held until claimed by an order or released (expiry, cancel)."""

    HELD = "held"
    CLAIMED = "claimed"
    RELEASED = "released"


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
    """Give the resources back; with `only_if_unclaimed` a claimed reservation is left alone (expiry)."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    only_if_unclaimed: bool = False


class ReservationState(BaseModel):
    """A reservation as the database holds it after an act."""

    model_config = ConfigDict(frozen=True)

    reservation_id: str
    status: ReservationStatus
    claimed_by_order: str | None = None
    expires_at: datetime
