"""Provisioning-order operations shared by the TMF641 API and the plain act routes: register, load, act."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, deliver, start_journaled
from api.errors import field_errors
from api.gateway import TemporalGateway
from core.provisioning import (
    CLOSED,
    CircuitSpec,
    OrderAct,
    OrderInput,
    OrderOutcome,
    ProvisioningOrder,
    workflow_id_for,
)
from core.roles import Actor
from core.tasks import RefusalCode, TaskRefused
from db.models import ServiceOrderRow, utcnow
from db.provisioning import new_order_id, upsert_order
from db.session import Database
from workflows.common import BUSINESS_REF, ORDER_KIND, SLA_DUE_AT

ORDER_ACT: TypeAdapter[Any] = TypeAdapter(OrderAct)
CREATE_ACTION = "order.create"


async def load_row(session: AsyncSession, order_id: str) -> ServiceOrderRow:
    """The order's read-model row; 404 when there is no such order."""
    row = await session.get(ServiceOrderRow, order_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"service order {order_id} does not exist")
    return row


def order_of(row: ServiceOrderRow) -> ProvisioningOrder:
    """The order state a read-model row holds."""
    return ProvisioningOrder.model_validate(row.detail)


async def register_order(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    actor: Actor,
    spec: CircuitSpec,
    request_id: str | None,
    description: str | None = None,
    external_id: str | None = None,
) -> ProvisioningOrder:
    """Write the order's first read-model row, start its workflow and journal the create; all or nothing."""
    request_id = request_id or str(uuid4())
    now = utcnow()
    if spec.requested_completion <= now:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "requested_completion: must be in the future")
    order_id = new_order_id(now)
    order = ProvisioningOrder(
        order_id=order_id,
        workflow_id=workflow_id_for(order_id),
        spec=spec,
        description=description,
        external_id=external_id,
        scope=spec.scope,
        created_by=actor.username,
        created_at=now,
    )
    known = await start_journaled(
        session=session,
        gateway=gateway,
        actor=actor,
        request_id=request_id,
        action=CREATE_ACTION,
        subject=Subject(type="service_order", id=order_id, workflow_id=order.workflow_id),
        workflow="ProvisioningOrder",
        arg=OrderInput(
            order_id=order_id,
            spec=spec,
            created_by=actor,
            request_id=request_id,
            description=description,
            external_id=external_id,
        ),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(ORDER_KIND, "provisioning"),
                SearchAttributePair(BUSINESS_REF, order_id),
                SearchAttributePair(SLA_DUE_AT, spec.requested_completion),
            ]
        ),
        write_row=lambda: upsert_order(session, order),
    )
    return order_of(await load_row(session, known)) if known else order


async def perform(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    db: Database,
    actor: Actor,
    row: ServiceOrderRow,
    act: dict[str, Any],
    request_id: str | None,
) -> ProvisioningOrder:
    """Send one act (an OrderAct payload without request id and actor) to the order's workflow; the order after it."""
    request_id = request_id or str(uuid4())
    try:
        message = ORDER_ACT.validate_python({**act, "request_id": request_id, "actor": actor})
    except ValidationError as err:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, field_errors(err.errors(), skip=1)) from None

    def still_open() -> None:
        if row.status in {s.value for s in CLOSED}:
            raise TaskRefused(RefusalCode.CONFLICT, f"service order {row.order_id} is {row.status}")

    await deliver(
        gateway=gateway,
        db=db,
        session=session,
        actor=actor,
        action=f"order.{message.type}",
        update="act",
        subject=Subject(type="service_order", id=row.order_id, workflow_id=row.workflow_id),
        build=lambda _: message,
        result_type=OrderOutcome,
        request_id=request_id,
        precheck=still_open,
    )
    await session.refresh(row)  # the workflow wrote the read model before answering
    return order_of(row)
