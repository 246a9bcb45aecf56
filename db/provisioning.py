"""Provisioning orders: order ids, the service-order read model, documents, the circuit ledger, rules versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.numbers import random_number
from core.provisioning import (
    TMF_STATE,
    CircuitClosure,
    DocumentRef,
    LedgerEntry,
    ProvisioningOrder,
    ProvisioningRules,
    default_provisioning_rules,
    order_state,
)
from db.models import CircuitLedgerRow, OrderDocument, ProvisioningRulesVersion, ServiceOrderRow, utcnow
from db.policies import latest_parsed
from db.readmodel import upsert_newer


def new_order_id(at: datetime) -> str:
    """SO + the center's YYYYMMDD + six random hex digits."""
    return random_number("SO", at)


async def latest_provisioning_rules(session: AsyncSession, name: str) -> ProvisioningRules:
    """The newest version of the named rules; the built-in defaults when none was published."""
    rules = await latest_parsed(session, ProvisioningRulesVersion, name, ProvisioningRules.model_validate)
    return rules or default_provisioning_rules()


def order_row_values(order: ProvisioningOrder) -> dict[str, Any]:
    """Read-model columns for an order state."""
    spec = order.spec
    return dict(
        order_id=order.order_id,
        workflow_id=order.workflow_id,
        status=order.status.value,
        tmf_state=TMF_STATE[order.status],
        circuit_type=spec.circuit_type.value,
        scope=order.scope.value,
        customer_id=spec.customer_id,
        bandwidth=spec.bandwidth,
        current_step=order.current,
        external_id=order.external_id,
        cancel_id=order.cancel.cancel_id if order.cancel else None,
        created_by=order.created_by,
        created_at=order.created_at,
        requested_completion=spec.requested_completion,
        completed_at=order.completed_at,
        on_time=order.on_time,
        cycle_seconds=order.cycle_seconds,
        revision=order.revision,
        detail=order.model_dump(mode="json"),
        updated_at=utcnow(),
    )


@dataclass(frozen=True)
class OrderItem:
    """Where a provisioning order sits in a TMF641 order of several items."""

    service_order_id: str
    position: int  # 1, 2, … in the order the create listed them
    item_id: str  # the TMF serviceOrderItem id


async def upsert_order(session: AsyncSession, order: ProvisioningOrder, item: OrderItem | None = None) -> None:
    """Write the order's state unless a newer revision is already stored (the caller commits).

    An item of a TMF641 order of several items (`item` on its first write; its row says so afterwards) also
    brings the whole order's aggregated state up to date on every item, one writer per order at a time.
    """
    values = order_row_values(order)
    service_order_id = (
        item.service_order_id
        if item
        else await session.scalar(
            select(col(ServiceOrderRow.service_order_id)).where(col(ServiceOrderRow.order_id) == order.order_id)
        )
    )
    if service_order_id is None:
        await upsert_newer(session, ServiceOrderRow, "order_id", values)
        return
    key = f"service_order:{service_order_id}"
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
    if item is not None:
        values |= dict(service_order_id=item.service_order_id, item_position=item.position, item_id=item.item_id)
    await upsert_newer(session, ServiceOrderRow, "order_id", values)
    states = await session.scalars(
        select(col(ServiceOrderRow.tmf_state)).where(col(ServiceOrderRow.service_order_id) == service_order_id)
    )
    await session.execute(
        update(ServiceOrderRow)
        .where(col(ServiceOrderRow.service_order_id) == service_order_id)
        .values(order_state=order_state(list(states)))
    )


async def add_documents(
    session: AsyncSession, order_id: str, step: str, uploaded_by: str, documents: tuple[DocumentRef, ...]
) -> None:
    """Record document metadata and hashes once each (the caller commits)."""
    for doc in documents:
        await session.execute(
            insert(OrderDocument)
            .values(order_id=order_id, step=step, uploaded_by=uploaded_by, **doc.model_dump())
            .on_conflict_do_nothing(index_elements=["order_id", "step", "kind", "sha256"])
        )


async def write_ledger(session: AsyncSession, entry: LedgerEntry) -> None:
    """Insert or update the circuit's ledger row (a completion, or the cancel of its order)."""
    values = entry.model_dump(mode="json") | {"updated_at": utcnow()}
    for column in ("ordered_at", "requested_completion", "completed_at", "cancelled_at"):
        values[column] = getattr(entry, column)
    values["documents"], values["steps"] = list(values["documents"]), list(values["steps"])
    stmt = insert(CircuitLedgerRow).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[CircuitLedgerRow.circuit_id],
            set_={k: stmt.excluded[k] for k in values if k != "circuit_id"},
        )
    )


async def close_circuit(session: AsyncSession, closure: CircuitClosure) -> bool:
    """Close an active circuit's ledger row for its closure order (again: no change); False when it is not active."""
    closed = await session.scalar(
        update(CircuitLedgerRow)
        .where(
            col(CircuitLedgerRow.circuit_id) == closure.circuit_id,
            (col(CircuitLedgerRow.status) == "active")
            | (col(CircuitLedgerRow.closure_order_id) == closure.closure_order_id),
        )
        .values(
            status="closed",
            closed_at=closure.closed_at,
            closure_order_id=closure.closure_order_id,
            updated_at=utcnow(),
        )
        .returning(col(CircuitLedgerRow.circuit_id))
    )
    return closed is not None
