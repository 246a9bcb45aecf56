"""Provisioning-order operations shared by the TMF641 API and the plain act routes: register, load, act."""

from __future__ import annotations

from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, start_journaled
from api.gateway import TemporalGateway
from api.subjects import SubjectKind
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
from db.models import ServiceOrderRow, utcnow
from db.provisioning import OrderItem, new_order_id, upsert_order
from workflows.common import BUSINESS_REF, ORDER_KIND, SLA_DUE_AT

CREATE_ACTION = "order.create"
_CLOSED = {s.value for s in CLOSED}

ORDERS: SubjectKind[ServiceOrderRow, ProvisioningOrder] = SubjectKind(
    noun="service order",
    subject_type="service_order",
    action_prefix="order",
    table=ServiceOrderRow,
    key=lambda row: row.order_id,
    state=ProvisioningOrder,
    acts=TypeAdapter(OrderAct),
    result_type=OrderOutcome,
    closed=lambda row: f"service order {row.order_id} is {row.status}" if row.status in _CLOSED else None,
)
load_row, order_of, perform = ORDERS.load_row, ORDERS.state_of, ORDERS.perform


async def register_order(
    *,
    session: AsyncSession,
    gateway: TemporalGateway,
    actor: Actor,
    spec: CircuitSpec,
    request_id: str | None,
    description: str | None = None,
    external_id: str | None = None,
    item: OrderItem | None = None,
) -> ProvisioningOrder:
    """Write the order's first read-model row, start its workflow and journal the create; all or nothing.

    An item of a TMF641 order of several items is a provisioning order of its own, `<order id>-<position>`.
    """
    request_id = request_id or str(uuid4())
    now = utcnow()
    if spec.requested_completion <= now:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "requested_completion: must be in the future")
    order_id = f"{item.service_order_id}-{item.position}" if item else new_order_id(now)
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
        subject=Subject(type=ORDERS.subject_type, id=order_id, workflow_id=order.workflow_id),
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
        write_row=lambda: upsert_order(session, order, item),
    )
    return order_of(await load_row(session, known)) if known else order
