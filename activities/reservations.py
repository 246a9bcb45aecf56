"""Reservation activities: hold, claim and release, each one atomic conditional statement on the reservation row.

Each statement that changes the status appends the change to the row's history in the same statement, so a
retry (which changes nothing) adds nothing. A held reservation released by its expiry has `expired`; one an
order claimed never expires.
"""

from __future__ import annotations

from sqlalchemy import case, cast, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.reservations import (
    ClaimReservation,
    HoldReservation,
    ReleaseOrderReservations,
    ReleaseReservation,
    ReservationState,
    ReservationStatus,
)
from db.models import Reservation, utcnow
from db.reservations import event, reservation_state
from db.session import Database
from workflows.common import CLAIM_RESERVATION, HOLD_RESERVATION, RELEASE_ORDER_RESERVATIONS, RELEASE_RESERVATION

UNAVAILABLE = "ReservationUnavailable"
NOT_FOUND = "ReservationNotFound"


def _appended(entry: list[dict[str, object]]) -> object:
    """The history column with one entry appended (inside the conditional update)."""
    return col(Reservation.history).op("||")(cast(literal(entry, JSONB), JSONB))


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
        now = utcnow()
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
                    held_at=now,
                    history=event("held", at=now, reason=f"check {hold.check_id} item {hold.item_id}"),
                )
                .on_conflict_do_nothing(index_elements=["reservation_id"])
            )
            await session.commit()
            return reservation_state(await self._current(session, hold.reservation_id))

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
                .values(
                    status=ReservationStatus.CLAIMED.value,
                    claimed_by_order=claim.order_id,
                    claimed_at=now,
                    history=_appended(event("claimed", at=now, order_id=claim.order_id)),
                )
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
        return reservation_state(row)

    @activity.defn(name=RELEASE_RESERVATION)
    async def release_reservation(self, release: ReleaseReservation) -> ReservationState:
        """Release a reservation; with only_if_unclaimed a claimed one stays claimed. Returns the resulting state.

        Released by its expiry (`expiry`), a held reservation has expired rather than been released."""
        releasable = [ReservationStatus.HELD.value]
        if not release.only_if_unclaimed:
            releasable.append(ReservationStatus.CLAIMED.value)
        now = utcnow()
        expired = (col(Reservation.status) == ReservationStatus.HELD.value) & literal(release.expiry)
        async with self._db.session() as session:
            await session.execute(
                update(Reservation)
                .where(
                    col(Reservation.reservation_id) == release.reservation_id, col(Reservation.status).in_(releasable)
                )
                .values(
                    status=case((expired, ReservationStatus.EXPIRED.value), else_=ReservationStatus.RELEASED.value),
                    released_at=now,
                    release_reason=release.reason,
                    history=case(
                        (expired, _appended(event("expired", at=now, reason=release.reason))),
                        else_=_appended(event("released", at=now, reason=release.reason)),
                    ),
                )
            )
            await session.commit()
            return reservation_state(await self._current(session, release.reservation_id))

    @activity.defn(name=RELEASE_ORDER_RESERVATIONS)
    async def release_order_reservations(self, release: ReleaseOrderReservations) -> list[ReservationState]:
        """Release every reservation the order claimed (its cancel, its circuit's closure); returns every
        reservation the order ever claimed, as it now stands (a retry releases nothing twice)."""
        now = utcnow()
        mine = col(Reservation.claimed_by_order) == release.order_id
        async with self._db.session() as session:
            await session.execute(
                update(Reservation)
                .where(mine, col(Reservation.status) == ReservationStatus.CLAIMED.value)
                .values(
                    status=ReservationStatus.RELEASED.value,
                    released_at=now,
                    release_reason=release.reason,
                    history=_appended(event("released", at=now, order_id=release.order_id, reason=release.reason)),
                )
            )
            await session.commit()
            rows = await session.scalars(
                select(Reservation)
                .where(mine)
                .order_by(col(Reservation.reservation_id))
                .execution_options(populate_existing=True)
            )
            return [reservation_state(row) for row in rows]
