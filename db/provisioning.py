"""Provisioning orders: order ids, the service-order read model, documents, the circuit ledger, rules versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
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
)
from db.models import CircuitLedgerRow, OrderDocument, ProvisioningRulesVersion, ServiceOrderRow, utcnow
from db.readmodel import upsert_newer


def new_order_id(at: datetime) -> str:
    """SO + the center's YYYYMMDD + six random hex digits."""
    return random_number("SO", at)


async def latest_provisioning_rules(session: AsyncSession, name: str) -> ProvisioningRules:
    """The newest version of the named rules; the built-in defaults when none was published."""
    row = await session.scalar(
        select(ProvisioningRulesVersion)
        .where(col(ProvisioningRulesVersion.name) == name)
        .order_by(col(ProvisioningRulesVersion.version).desc())
        .limit(1)
    )
    return ProvisioningRules.model_validate(row.spec) if row else default_provisioning_rules()


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


async def upsert_order(session: AsyncSession, order: ProvisioningOrder) -> None:
    """Write the order's state unless a newer revision is already stored (the caller commits)."""
    await upsert_newer(session, ServiceOrderRow, "order_id", order_row_values(order))


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
