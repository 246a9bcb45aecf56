"""Reservation activities against the real database: idempotent, and a claim and an expiry never both win."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.reservations import ReservationActivities
from core.reservations import ClaimReservation, HoldReservation, ReleaseReservation, ReservationStatus
from db.models import Reservation, utcnow

RUN = ActivityEnvironment().run


def _hold(minutes: float = 60) -> HoldReservation:
    return HoldReservation(
        reservation_id=f"rsv-{uuid.uuid4().hex[:10]}",
        check_id="SQ-test",
        item_id="1",
        resources={"fixed-network": {"port": "OLT-3/1/4"}},
        expires_at=utcnow() + timedelta(minutes=minutes),
    )


@pytest.fixture
def acts(db) -> ReservationActivities:
    return ReservationActivities(db)


async def test_hold_and_claim_are_idempotent(acts, sync_session):
    """Holding or claiming twice writes one row and gives the same state; the same order may claim again."""
    hold = _hold()
    first = await RUN(acts.hold_reservation, hold)
    again = await RUN(acts.hold_reservation, hold)
    assert first == again and first.status == ReservationStatus.HELD
    claim = ClaimReservation(reservation_id=hold.reservation_id, order_id="PO-1")
    claimed = await RUN(acts.claim_reservation, claim)
    assert (claimed.status, claimed.claimed_by_order) == (ReservationStatus.CLAIMED, "PO-1")
    assert await RUN(acts.claim_reservation, claim) == claimed
    with sync_session() as s:
        row = s.get(Reservation, hold.reservation_id)
        assert row.resources == {"fixed-network": {"port": "OLT-3/1/4"}} and row.claimed_at is not None


async def test_claim_refused_when_taken_released_or_expired(acts):
    """Another order, a released or an expired reservation: a non-retryable ReservationUnavailable naming why."""
    taken = _hold()
    await RUN(acts.hold_reservation, taken)
    await RUN(acts.claim_reservation, ClaimReservation(reservation_id=taken.reservation_id, order_id="PO-1"))
    released = _hold()
    await RUN(acts.hold_reservation, released)
    await RUN(
        acts.release_reservation, ReleaseReservation(reservation_id=released.reservation_id, reason="check cancelled")
    )
    expired = _hold(minutes=-1)
    await RUN(acts.hold_reservation, expired)
    for hold, why in ((taken, "claimed by order PO-1"), (released, "released (check cancelled)"), (expired, "expired")):
        with pytest.raises(ApplicationError) as refused:
            await RUN(acts.claim_reservation, ClaimReservation(reservation_id=hold.reservation_id, order_id="PO-2"))
        assert refused.value.type == "ReservationUnavailable" and refused.value.non_retryable
        assert why in str(refused.value)


async def test_release_respects_claims_only_when_asked(acts):
    """Expiry (only_if_unclaimed) leaves a claimed reservation alone; a cancel releases it; repeats do nothing."""
    hold = _hold()
    await RUN(acts.hold_reservation, hold)
    await RUN(acts.claim_reservation, ClaimReservation(reservation_id=hold.reservation_id, order_id="PO-9"))
    expiry = ReleaseReservation(reservation_id=hold.reservation_id, reason="expired", only_if_unclaimed=True)
    kept = await RUN(acts.release_reservation, expiry)
    assert (kept.status, kept.claimed_by_order) == (ReservationStatus.CLAIMED, "PO-9")
    cancel = ReleaseReservation(reservation_id=hold.reservation_id, reason="order cancelled")
    assert (await RUN(acts.release_reservation, cancel)).status == ReservationStatus.RELEASED
    assert (await RUN(acts.release_reservation, cancel)).status == ReservationStatus.RELEASED
    with pytest.raises(ApplicationError) as missing:
        await RUN(acts.release_reservation, ReleaseReservation(reservation_id="rsv-none", reason="x"))
    assert missing.value.type == "ReservationNotFound"


async def test_claim_and_expiry_race_has_one_winner(acts):
    """A claim and an expiry-release fired together: exactly one wins, and the row agrees with the winner."""
    for _ in range(8):
        hold = _hold()
        await RUN(acts.hold_reservation, hold)
        claim = RUN(acts.claim_reservation, ClaimReservation(reservation_id=hold.reservation_id, order_id="PO-R"))
        expiry = RUN(
            acts.release_reservation,
            ReleaseReservation(reservation_id=hold.reservation_id, reason="expired", only_if_unclaimed=True),
        )
        claimed, released = await asyncio.gather(claim, expiry, return_exceptions=True)
        if isinstance(claimed, ApplicationError):
            assert claimed.type == "ReservationUnavailable" and released.status == ReservationStatus.RELEASED
        else:
            assert claimed.status == ReservationStatus.CLAIMED
            assert released.status == ReservationStatus.CLAIMED and released.claimed_by_order == "PO-R"
