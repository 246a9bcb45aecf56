"""Reservation queries: the row as a state, the current states behind a check's copies, an order's claim check."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.reservations import ClaimRefusal, ReservationEvent, ReservationState, ReservationStatus, claim_refusal
from core.resource_checks import ResourceCheck, serves
from db.models import Reservation, ResourceCheckRow, utcnow
from db.readmodel import page_of


def event(kind: str, *, at: datetime, order_id: str | None = None, reason: str | None = None) -> list[dict[str, Any]]:
    """One history entry, as the JSONB array an update appends."""
    return [ReservationEvent(at=at, event=kind, order_id=order_id, reason=reason).model_dump(mode="json")]


def reservation_state(row: Reservation) -> ReservationState:
    """A reservation row as the contract workflows and views share."""
    return ReservationState(
        reservation_id=row.reservation_id,
        status=ReservationStatus(row.status),
        claimed_by_order=row.claimed_by_order,
        expires_at=row.expires_at,
        check_id=row.check_id,
        item_id=row.item_id,
        claimed_at=row.claimed_at,
        released_at=row.released_at,
        release_reason=row.release_reason,
        history=tuple(ReservationEvent.model_validate(e) for e in row.history or ()),
    )


class ReservationView(ReservationState):
    """A reservation as its resource shows it: the state, what is held and since when."""

    resources: dict[str, Any] = Field(default_factory=dict)
    held_at: datetime


def reservation_view(row: Reservation) -> ReservationView:
    """The reservation resource of a row."""
    return ReservationView(**reservation_state(row).model_dump(), resources=row.resources, held_at=row.held_at)


async def current_states(session: AsyncSession, ids: Iterable[str]) -> dict[str, ReservationState]:
    """The rows' states of these reservations (unknown ids are left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Reservation).where(col(Reservation.reservation_id).in_(wanted)))
    return {row.reservation_id: reservation_state(row) for row in rows}


async def with_current_reservations(session: AsyncSession, checks: list[ResourceCheck]) -> list[ResourceCheck]:
    """The checks with every round's reservation copy replaced by the row's state: a check shows what the
    reservation is now (claimed by an order, released by its cancel, expired), not what it was at its last save."""
    states = await current_states(
        session, (r.reservation_id for check in checks for rnd in check.rounds for r in rnd.reservations)
    )
    if not states:
        return checks
    for check in checks:
        for rnd in check.rounds:
            rnd.reservations = [states.get(r.reservation_id, r) for r in rnd.reservations]
    return checks


async def one_reservation(session: AsyncSession, reservation_id: str) -> ReservationView | None:
    """The reservation resource, None when unknown."""
    row = await session.get(Reservation, reservation_id)
    return reservation_view(row) if row is not None else None


async def list_reservations(
    session: AsyncSession, where: list[ColumnElement[bool]], *, offset: int, limit: int
) -> tuple[int, list[ReservationView]]:
    """A page of reservations, newest hold first."""
    total, rows = await page_of(
        session,
        Reservation,
        where,
        col(Reservation.held_at).desc(),
        col(Reservation.reservation_id).desc(),
        offset=offset,
        limit=limit,
    )
    return total, [reservation_view(row) for row in rows]


async def order_claim_refusal(
    session: AsyncSession,
    *,
    reservation_id: str,
    resource_check_id: str | None,
    customer_id: str | None,
    circuit_type: str,
) -> ClaimRefusal | None:
    """Why an order being created may not claim this reservation: unknown, not held (claimed, released,
    expired), or held by another check, for another customer or another service. None when it may."""
    row = await session.get(Reservation, reservation_id)
    if row is None:
        return ClaimRefusal(False, f"reservation {reservation_id} does not exist")
    check_row = await session.get(ResourceCheckRow, row.check_id)
    check = ResourceCheck.model_validate(check_row.detail) if check_row is not None else None
    item = next((i for i in check.items if i.item_id == row.item_id), None) if check else None
    return claim_refusal(
        reservation_state(row),
        now=utcnow(),
        check_customer=check.request.customer_id if check else None,
        order_customer=customer_id,
        resource_check_id=resource_check_id,
        same_service=item is None or serves(item, circuit_type),
    )
