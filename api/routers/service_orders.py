"""TMF641 Service Ordering API v4: circuit-provisioning orders (create, get, list) and cancelServiceOrder.

Every error answers a TMF Error body naming the field or rule. The mapping between the TMF resource and our
order, with the characteristic and extension names, is documented in api/tmf641.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from sqlalchemy import func, select

from api.acts import IdempotencyKey
from api.deps import DbDep, GatewayDep, Reader, SessionDep, require_roles
from api.ordering import load_row, order_of, perform, register_order
from api.tmf import TmfRoute, project
from api.tmf641 import (
    CANCEL_PATH,
    ORDER_PATH,
    CancelServiceOrderCreate,
    ServiceOrderCreate,
    TmfOrderState,
    cancel_to_tmf,
    href,
    spec_of,
    to_tmf,
)
from core.provisioning import ORDER_ROLES, CircuitType, OrderStatus, Scope
from core.roles import Actor
from db.models import ServiceOrderRow
from db.provisioning import find_orders

router = APIRouter(prefix=ORDER_PATH, tags=["TMF641 service orders"], route_class=TmfRoute)
cancel_router = APIRouter(prefix=CANCEL_PATH, tags=["TMF641 service orders"], route_class=TmfRoute)

Orderer = Annotated[Actor, Depends(require_roles(*ORDER_ROLES))]
Fields = Annotated[str | None, Query(description="comma-separated attributes to return (id and href always)")]
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Order a circuit (start a provisioning order)")
async def create_service_order(
    body: ServiceOrderCreate,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """Start the order's workflow: it plans the steps, splits the deadline and opens the dispatch task."""
    order = await register_order(
        session=session,
        gateway=gateway,
        actor=actor,
        spec=spec_of(body),
        request_id=request_id,
        description=body.description,
        external_id=body.external_id,
    )
    response.headers["Location"] = href(order.order_id)
    return to_tmf(order)


@router.get("", summary="List service orders")
async def list_service_orders(
    actor: Reader,
    session: SessionDep,
    response: Response,
    fields: Fields = None,
    offset: Offset = 0,
    limit: Limit = 50,
    state: TmfOrderState | None = None,
    order_status: Annotated[OrderStatus | None, Query(alias="orderStatus", description="our status")] = None,
    circuit_type: Annotated[CircuitType | None, Query(alias="circuitType")] = None,
    scope: Scope | None = None,
    customer_id: Annotated[str | None, Query(alias="customerId")] = None,
    external_id: Annotated[str | None, Query(alias="externalId")] = None,
    current_step: Annotated[str | None, Query(alias="currentStep")] = None,
    order_after: Annotated[datetime | None, Query(alias="orderDate.gte")] = None,
    order_before: Annotated[datetime | None, Query(alias="orderDate.lt")] = None,
) -> list[dict[str, Any]]:
    """Orders newest first from the read model; X-Total-Count and X-Result-Count headers."""
    total, rows = await find_orders(
        session,
        offset=offset,
        limit=limit,
        created_after=order_after,
        created_before=order_before,
        tmf_state=state,
        status=order_status,
        circuit_type=circuit_type,
        scope=scope,
        customer_id=customer_id,
        external_id=external_id,
        current_step=current_step,
    )
    response.headers["X-Total-Count"], response.headers["X-Result-Count"] = str(total), str(len(rows))
    return [project(to_tmf(order_of(row), last_update=row.updated_at), fields) for row in rows]


@router.get("/{id}", summary="One service order")
async def get_service_order(id: str, actor: Reader, session: SessionDep, fields: Fields = None) -> dict[str, Any]:
    """The order by id (404 when unknown)."""
    row = await load_row(session, id)
    return project(to_tmf(order_of(row), last_update=row.updated_at), fields)


@cancel_router.post("", status_code=status.HTTP_201_CREATED, summary="Cancel a service order")
async def create_cancel_service_order(
    body: CancelServiceOrderCreate,
    actor: Orderer,
    session: SessionDep,
    gateway: GatewayDep,
    db: DbDep,
    response: Response,
    request_id: IdempotencyKey = None,
) -> dict[str, Any]:
    """The order goes assessingCancellation → pendingCancellation (reservation released, tasks closed) → cancelled."""
    row = await load_row(session, body.service_order.id)
    cancel_id = f"CSO-{uuid4().hex[:12].upper()}"
    order = await perform(
        session=session,
        gateway=gateway,
        db=db,
        actor=actor,
        row=row,
        request_id=request_id,
        act={"type": "cancel", "cancel_id": cancel_id, "reason": body.cancellation_reason},
    )
    if order.cancel is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "serviceOrder: the cancel did not take effect")
    response.headers["Location"] = f"{CANCEL_PATH}/{order.cancel.cancel_id}"
    return cancel_to_tmf(order)


@cancel_router.get("", summary="List cancel requests")
async def list_cancel_service_orders(
    actor: Reader,
    session: SessionDep,
    response: Response,
    fields: Fields = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[dict[str, Any]]:
    """Cancel requests, newest order first."""
    where = ServiceOrderRow.cancel_id.is_not(None)
    total = await session.scalar(select(func.count()).select_from(ServiceOrderRow).where(where)) or 0
    rows = await session.scalars(
        select(ServiceOrderRow).where(where).order_by(ServiceOrderRow.created_at.desc()).offset(offset).limit(limit)
    )
    items = [project(cancel_to_tmf(order_of(row)), fields) for row in rows]
    response.headers["X-Total-Count"], response.headers["X-Result-Count"] = str(total), str(len(items))
    return items


@cancel_router.get("/{id}", summary="One cancel request")
async def get_cancel_service_order(
    id: str, actor: Reader, session: SessionDep, fields: Fields = None
) -> dict[str, Any]:
    """A cancel request by id, with how far it got (404 when unknown)."""
    row = await session.scalar(select(ServiceOrderRow).where(ServiceOrderRow.cancel_id == id))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"cancelServiceOrder {id} does not exist")
    return project(cancel_to_tmf(order_of(row)), fields)
