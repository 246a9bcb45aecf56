"""Callback read model: the write of one callback, the reads the API shows, the circuit a schedule follows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from core.callbacks import Callback, SubjectState, SubjectType
from db.models import CallbackRow, CircuitLedgerRow, utcnow
from db.readmodel import upsert_newer


async def upsert_callback(session: AsyncSession, callback: Callback) -> None:
    """Write a callback; an older revision never overwrites a newer one (the caller commits)."""
    values = callback.model_dump(mode="python")
    values["subject_type"] = callback.subject_type.value
    values["status"] = callback.status.value
    values["updated_at"] = utcnow()
    await upsert_newer(session, CallbackRow, "callback_id", values)


async def callbacks_of(session: AsyncSession, workflow_id: str) -> list[CallbackRow]:
    """Every callback of one schedule, in order."""
    query = select(CallbackRow).where(col(CallbackRow.workflow_id) == workflow_id).order_by(col(CallbackRow.number))
    return list(await session.scalars(query))


async def active_circuit(session: AsyncSession, circuit_id: str) -> CircuitLedgerRow | None:
    """The ledger row of an activated circuit still in service."""
    row = await session.get(CircuitLedgerRow, circuit_id)
    return row if row is not None and row.status == "active" and row.completed_at is not None else None


async def subject_state(session: AsyncSession, subject_type: SubjectType, subject_id: str) -> SubjectState:
    """Whether the subject still wants callbacks: a circuit while it is active; a major customer until stopped."""
    if subject_type == SubjectType.CUSTOMER:
        return SubjectState.ACTIVE
    return SubjectState.ACTIVE if await active_circuit(session, subject_id) else SubjectState.ENDED
