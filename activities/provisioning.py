"""Provisioning-order activities: rules, the order read model with its documents, the completion report, the ledger."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.platform import write_held_change
from api.tmf.events import publish_order_change
from core.numbers import CENTER_ZONE
from core.outbox import is_urgent
from core.provisioning import (
    CircuitClosure,
    CompletionReport,
    LedgerEntry,
    OrderChange,
    OrderSave,
    ProvisioningRules,
)
from core.records import NotificationRecord, WriteEcho
from db import audit as audit_journal
from db.customer_messages import queue_cutover_notice
from db.models import Notification
from db.outbox import enqueue_notification
from db.provisioning import add_documents, close_circuit, latest_provisioning_rules, upsert_order, write_ledger
from db.session import Database
from infra.group_dispatch import GroupDispatch
from workflows.common import (
    CLOSE_CIRCUIT,
    LOAD_PROVISIONING_RULES,
    RECORD_ORDER,
    RECORD_ORDER_CHANGE,
    REPORT_COMPLETION,
    WRITE_LEDGER,
)

CUTOVER_CUSTOMER_NOTICE = "cutover_notice_customer"  # the workflow's notice to the customer's contacts


def _cutover_fields(save: OrderSave) -> dict[str, str]:
    """The cut-over template's fields: the order, the step's title and the window in the center's time."""
    cutover = save.order.cutover
    assert cutover is not None
    step = save.order.step(cutover.step).title if save.order.has_step(cutover.step) else cutover.step
    return {
        "order_id": save.order.order_id,
        "step": step,
        "window_start": f"{cutover.window_start.astimezone(CENTER_ZONE):%Y-%m-%d %H:%M}",
        "window_end": f"{cutover.window_end.astimezone(CENTER_ZONE):%Y-%m-%d %H:%M}",
    }


async def _tell_of_jeopardy(session: AsyncSession, save: OrderSave) -> None:
    """Each jeopardy alert of the order, once: to the coordinator who runs it (console, and their channels, at once)."""
    order = save.order
    for alert in order.jeopardy_alerts:
        notice = NotificationRecord(
            key=f"{order.workflow_id}:jeopardy:{alert.id}",
            kind="jeopardy",
            message=f"{order.order_id} {alert.jeopardy_type}: {alert.message}"[:1000],
            recipient_user=order.created_by,
            workflow_id=order.workflow_id,
            created_at=alert.date,
        )
        written = await session.scalar(
            insert(Notification)
            .values(**notice.model_dump())
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(Notification.id))
        )
        if written is not None:
            await enqueue_notification(session, notice, urgent=True)


async def _write_order(session: AsyncSession, save: OrderSave, *, journal: bool = True) -> None:
    """The order (newer revisions only), its TMF641 events, new documents, notices and (unless the caller appends it
    last itself: `journal=False`) the act's audit row, last."""
    await publish_order_change(session, save.order)  # TMF641 listeners, from the row before the write
    await upsert_order(session, save.order)
    if save.documents:
        await add_documents(
            session, save.order.order_id, save.document_step or "", save.uploaded_by or "", save.documents
        )
    for notice in save.notifications:
        await session.execute(
            insert(Notification).values(**notice.model_dump()).on_conflict_do_nothing(index_elements=["key"])
        )
        await enqueue_notification(session, notice, urgent=is_urgent(notice.kind))
        if notice.kind == CUTOVER_CUSTOMER_NOTICE and save.order.cutover is not None:
            await queue_cutover_notice(
                session, notice, check_id=save.order.spec.resource_check_id, fields=_cutover_fields(save)
            )
    await _tell_of_jeopardy(session, save)
    if journal and save.audit is not None:
        await audit_journal.append(session, save.audit)


class ProvisioningActivities:
    """Activities bound to the application database and the group dispatch system; every write is idempotent."""

    def __init__(self, db: Database, dispatch: GroupDispatch) -> None:
        self._db = db
        self._dispatch = dispatch

    @activity.defn(name=LOAD_PROVISIONING_RULES)
    async def load_provisioning_rules(self, name: str) -> ProvisioningRules:
        """The latest version of the named provisioning rules (the defaults when none was published)."""
        async with self._db.session() as session:
            return await latest_provisioning_rules(session, name)

    @activity.defn(name=RECORD_ORDER)
    async def record_order(self, save: OrderSave) -> OrderSave:
        """Write the order (newer revisions only), its new documents, the act's audit row and notices at once."""
        async with self._db.session() as session:
            await _write_order(session, save)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history

    @activity.defn(name=RECORD_ORDER_CHANGE)
    async def record_order_change(self, change: OrderChange) -> WriteEcho:
        """Write an act's task changes, the order with what came with it, then the audit rows, in one transaction;
        echo what the auditor's timeline reads, not the whole order."""
        return await write_held_change(self._db, change, lambda session: _write_order(session, change, journal=False))

    @activity.defn(name=REPORT_COMPLETION)
    async def report_completion(self, report: CompletionReport) -> str:
        """Report the completed circuit (报竣) to the group dispatch system; returns its receipt."""
        return await self._dispatch.report(report)

    @activity.defn(name=WRITE_LEDGER)
    async def write_ledger(self, entry: LedgerEntry) -> None:
        """Write the circuit's ledger row."""
        async with self._db.session() as session:
            await write_ledger(session, entry)
            await session.commit()

    @activity.defn(name=CLOSE_CIRCUIT)
    async def close_circuit(self, closure: CircuitClosure) -> None:
        """Close the circuit's ledger row (status closed, kept); a circuit that is not active fails the closure."""
        async with self._db.session() as session:
            closed = await close_circuit(session, closure)
            await session.commit()
        if not closed:
            raise ApplicationError(
                f"circuit {closure.circuit_id} is not active in the ledger", type="CircuitNotActive", non_retryable=True
            )
