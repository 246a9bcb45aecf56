"""Reservations as a resource of their own (TMF652-style): state, the check and order they belong to, history.

`GET /api/reservations/{id}` is one reservation as the database holds it now (the row decides every claim and
release); `GET /api/reservations` lists them, newest hold first, by check, order or status. Holding, claiming and
releasing happen only through the check and order workflows.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import ColumnElement
from sqlmodel import col

from api.deps import Reader, SessionDep
from api.schemas import Offset, Page
from core.reservations import ReservationStatus
from db.models import Reservation
from db.reservations import ReservationView, list_reservations, one_reservation

router = APIRouter(prefix="/api/reservations", tags=["reservations"])


@router.get("", response_model=Page[ReservationView], summary="List reservations")
async def reservations(
    actor: Reader,
    session: SessionDep,
    check_id: Annotated[str | None, Query(max_length=64, description="held by this resource check")] = None,
    order_id: Annotated[str | None, Query(max_length=64, description="claimed by this order")] = None,
    status_: Annotated[ReservationStatus | None, Query(alias="status")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ReservationView]:
    """Reservations newest hold first, filtered by check, claiming order and status."""
    where: list[ColumnElement[bool]] = []
    if check_id:
        where.append(col(Reservation.check_id) == check_id)
    if order_id:
        where.append(col(Reservation.claimed_by_order) == order_id)
    if status_:
        where.append(col(Reservation.status) == status_.value)
    total, items = await list_reservations(session, where, offset=offset, limit=limit)
    return Page(items=items, total=total, offset=offset, limit=limit)


@router.get("/{reservation_id}", response_model=ReservationView, summary="One reservation with its history")
async def reservation(reservation_id: str, actor: Reader, session: SessionDep) -> ReservationView:
    """The reservation now: held (until `expires_at`), claimed by an order, released (why) or expired."""
    found = await one_reservation(session, reservation_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"reservation {reservation_id} does not exist")
    return found
