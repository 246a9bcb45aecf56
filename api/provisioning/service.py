"""Provisioning-order operations shared by the TMF641 API and the plain act routes: register, load, act."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from fastapi import HTTPException, status
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from api.acts import Subject, registered_subject, start_journaled
from api.gateway import TemporalGateway
from api.subjects import SubjectKind
from core.provisioning import (
    CLOSED,
    CircuitEnd,
    CircuitSpec,
    OrderAct,
    OrderInput,
    OrderOutcome,
    ProvisioningOrder,
    findings_of,
    merge_check,
    plan_basis,
    plan_steps,
    workflow_id_for,
)
from core.resource_checks import ResourceCheck
from core.roles import Actor
from db.models import CircuitLedgerRow, ResourceCheckRow, ServiceOrderRow, utcnow
from db.provisioning import OrderItem, latest_provisioning_rules, new_order_id, upsert_order
from db.reservations import current_states, order_claim_refusal
from db.resource_checks import order_check_refusal
from workflows.common import BUSINESS_REF, ORDER_KIND, SLA_DUE_AT

CREATE_ACTION = "order.create"
START_SLACK = timedelta(minutes=5)  # a start "now" sent from a client whose clock runs a little behind
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


def check_order_dates(spec: CircuitSpec, now: datetime) -> None:
    """400 naming the field for an impossible date: completion not in the future, start before now or after it."""
    if spec.requested_completion <= now:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "requestedCompletionDate: must be in the future")
    start = spec.requested_start
    if start is not None and start < now - START_SLACK:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "requestedStartDate: must not be in the past")
    if start is not None and start >= spec.requested_completion:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "requestedStartDate: must be before requestedCompletionDate")


async def check_order_reservation(session: AsyncSession, spec: CircuitSpec) -> CircuitSpec:
    """Validate the check and reservation the order names before anything starts (4xx naming the field); an order
    naming only a reservation follows that reservation's check."""
    if spec.resource_check_id and (
        refused := await order_check_refusal(session, spec.resource_check_id, spec.customer_id)
    ):
        raise HTTPException(refused[0], f"resourceCheckId: {refused[1]}")
    if not spec.reservation_id:
        return spec
    refusal = await order_claim_refusal(
        session,
        reservation_id=spec.reservation_id,
        resource_check_id=spec.resource_check_id,
        customer_id=spec.customer_id,
        circuit_type=spec.circuit_type.value,
    )
    if refusal is not None:
        code = status.HTTP_409_CONFLICT if refusal.unavailable else status.HTTP_400_BAD_REQUEST
        raise HTTPException(code, f"reservationId: {refusal.message}")
    if spec.resource_check_id is None:
        state = (await current_states(session, [spec.reservation_id]))[spec.reservation_id]
        if state.check_id and await session.get(ResourceCheckRow, state.check_id) is not None:
            spec = spec.model_copy(update={"resource_check_id": state.check_id})
    return spec


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
    fresh_key = request_id is None  # no Idempotency-Key: the id made here is new
    request_id = request_id or str(uuid4())
    now = utcnow()
    check_order_dates(spec, now)
    spec = await planned_spec(session, await check_order_reservation(session, spec), now)
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
        plan_basis=plan_basis(spec),
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
        fresh_key=fresh_key,
    )
    return order_of(await load_row(session, known)) if known else order


async def planned_spec(session: AsyncSession, spec: CircuitSpec, now: datetime) -> CircuitSpec:
    """The spec the plan follows: the resource check's steps merged in, the cut-over step checked (400 naming it)."""
    row = await session.get(ResourceCheckRow, spec.resource_check_id) if spec.resource_check_id else None
    if row is not None and spec.action == "add":  # check_order_reservation has refused a check an order may not follow
        try:
            spec = merge_check(spec, findings_of(ResourceCheck.model_validate(row.detail)))
        except ValueError as err:
            raise HTTPException(400, str(err)) from None
    if spec.cutover is not None:
        planned = [r.step for r in plan_steps(await latest_provisioning_rules(session, "default"), spec)][1:-1]
        if spec.cutover.step not in planned:
            raise HTTPException(400, f"cutover.step: one of {', '.join(planned)}")
        if spec.cutover.window_start <= now:
            raise HTTPException(400, "cutover.windowStart: must be in the future")
    return spec


async def closure_spec(
    session: AsyncSession,
    circuit_id: str | None,
    requested_completion: datetime,
    *,
    field: str,
    request_id: str | None = None,
) -> CircuitSpec:
    """A service closure of an active circuit in the ledger: the circuit as built, its customer and reservation.

    A retry of the create that started the closure in flight (same Idempotency-Key) passes, to get its order back.
    """
    if not circuit_id:
        raise HTTPException(400, f"{field}: the circuit to close (its ledger id)")
    circuit = await session.get(CircuitLedgerRow, circuit_id)
    if circuit is None:
        raise HTTPException(400, f"{field}: circuit {circuit_id} is not in the circuit ledger")
    if circuit.status != "active":
        raise HTTPException(status.HTTP_409_CONFLICT, f"{field}: circuit {circuit_id} is {circuit.status}")
    closing = await session.scalar(
        select(col(ServiceOrderRow.order_id)).where(
            col(ServiceOrderRow.detail)["spec"]["circuit_id"].astext == circuit_id,
            col(ServiceOrderRow.status).not_in(_CLOSED),
        )
    )
    retried = closing is not None and request_id and await registered_subject(session, request_id, CREATE_ACTION)
    if closing is not None and retried != closing:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{field}: circuit {circuit_id} is being closed by {closing}")
    built = await session.get(ServiceOrderRow, circuit.order_id)
    original = order_of(built).spec if built is not None else None
    return CircuitSpec(
        action="delete",
        circuit_id=circuit_id,
        circuit_type=circuit.circuit_type,
        a_end=CircuitEnd.model_validate(circuit.a_end),
        z_end=CircuitEnd.model_validate(circuit.z_end),
        bandwidth=circuit.bandwidth,
        requested_completion=requested_completion,
        customer_id=original.customer_id if original else None,
        circuit_order_id=circuit.order_id,
    )
