"""Reservation activities: hold, claim and release, each one atomic conditional statement on the reservation row."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.reservations import (
    ClaimReservation,
    HoldReservation,
    ReleaseReservation,
    ReservationState,
    ReservationStatus,
)
from db.models import Reservation, utcnow
from db.session import Database
from workflows.common import CLAIM_RESERVATION, HOLD_RESERVATION, RELEASE_RESERVATION

UNAVAILABLE = "ReservationUnavailable"
NOT_FOUND = "ReservationNotFound"


def _state(row: Reservation) -> ReservationState:
    return ReservationState(
        reservation_id=row.reservation_id,
        status=ReservationStatus(row.status),
        claimed_by_order=row.claimed_by_order,
        expires_at=row.expires_at,
    )


class ReservationActivities:
    """Activities bound to the application database; every one may run twice without effect."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def _current(session: AsyncSession, reservation_id: str) -> Reservation:
        row = await session.get(Reservation, reservation_id, populate_existing=True)
        if row is None:
            raise ApplicationError(f"reservation {reservation_id} does not exist", type=NOT_FOUND, non_retryable=True)
        return row

    @activity.defn(name=HOLD_RESERVATION)
    async def hold_reservation(self, hold: HoldReservation) -> ReservationState:
        """Create the held reservation (a retry finds the row already there and returns it)."""
        async with self._db.session() as session:
            await session.execute(
                insert(Reservation)
                .values(
                    reservation_id=hold.reservation_id,
                    check_id=hold.check_id,
                    item_id=hold.item_id,
                    resources=hold.resources,
                    status=ReservationStatus.HELD.value,
                    expires_at=hold.expires_at,
                    held_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["reservation_id"])
            )
            await session.commit()
            return _state(await self._current(session, hold.reservation_id))

    @activity.defn(name=CLAIM_RESERVATION)
    async def claim_reservation(self, claim: ClaimReservation) -> ReservationState:
        """Claim a held, unexpired reservation for an order; refuse (non-retryable) when it is gone or taken."""
        now = utcnow()
        async with self._db.session() as session:
            claimed = await session.scalar(
                update(Reservation)
                .where(
                    col(Reservation.reservation_id) == claim.reservation_id,
                    col(Reservation.status) == ReservationStatus.HELD.value,
                    col(Reservation.expires_at) > now,
                )
                .values(status=ReservationStatus.CLAIMED.value, claimed_by_order=claim.order_id, claimed_at=now)
                .returning(col(Reservation.reservation_id))
            )
            await session.commit()
            row = await self._current(session, claim.reservation_id)
        if claimed is None and not (row.status == ReservationStatus.CLAIMED and row.claimed_by_order == claim.order_id):
            if row.status == ReservationStatus.CLAIMED:
                why = f"claimed by order {row.claimed_by_order}"
            elif row.status == ReservationStatus.RELEASED:
                why = f"released ({row.release_reason})"
            else:
                why = f"expired at {row.expires_at.isoformat()}"
            raise ApplicationError(
                f"reservation {claim.reservation_id} is not available to order {claim.order_id}: {why}",
                type=UNAVAILABLE,
                non_retryable=True,
            )
        return _state(row)

    @activity.defn(name=RELEASE_RESERVATION)
    async def release_reservation(self, release: ReleaseReservation) -> ReservationState:
        """Release a reservation; with only_if_unclaimed a claimed one stays claimed. Returns the resulting state."""
        releasable = [ReservationStatus.HELD.value]
        if not release.only_if_unclaimed:
            releasable.append(ReservationStatus.CLAIMED.value)
        async with self._db.session() as session:
            await session.execute(
                update(Reservation)
                .where(
                    col(Reservation.reservation_id) == release.reservation_id, col(Reservation.status).in_(releasable)
                )
                .values(status=ReservationStatus.RELEASED.value, released_at=utcnow(), release_reason=release.reason)
            )
            await session.commit()
            return _state(await self._current(session, release.reservation_id))
