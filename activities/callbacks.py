"""Callback activities: the read-model write, the subject check, and the ticket a callback's needs raise."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.client import Client

from api.gateway import TemporalGateway
from api.tickets.service import register
from core.callbacks import CallbackInput, CallbackSave, CallbackTicket, SubjectState
from core.sla import Priority
from core.tickets import Category, Channel, Intake
from db import audit as audit_journal
from db.callbacks import subject_state, upsert_callback
from db.session import Database
from infra.settings import Settings
from workflows.common import LOAD_CALLBACK_SUBJECT, RAISE_CALLBACK_TICKET, RECORD_CALLBACK


class CallbackActivities:
    """Bound to the application database and, for raising tickets, to Temporal through the API's gateway."""

    def __init__(self, db: Database, client: Client, settings: Settings) -> None:
        self._db = db
        self._client = client
        self._settings = settings

    @activity.defn(name=RECORD_CALLBACK)
    async def record_callback(self, save: CallbackSave) -> CallbackSave:
        """Write the callback and its audit row in one transaction; a retry writes nothing twice."""
        async with self._db.session() as session:
            await upsert_callback(session, save.callback)
            if save.audit is not None:
                await audit_journal.append(session, save.audit)
            await session.commit()
        return save  # what was written: a local activity's input is not in the history

    @activity.defn(name=LOAD_CALLBACK_SUBJECT)
    async def load_callback_subject(self, start: CallbackInput) -> SubjectState:
        """Whether the schedule's subject still wants callbacks (a closed circuit does not)."""
        async with self._db.session() as session:
            return await subject_state(session, start.subject_type, start.subject_id)

    @activity.defn(name=RAISE_CALLBACK_TICKET)
    async def raise_callback_ticket(self, raised: CallbackTicket) -> str:
        """Register the need as a new ticket through the ticket service (its request id makes a retry a no-op)."""
        settings = self._settings
        gateway = TemporalGateway(
            self._client,
            self._db,
            task_queue=activity.info().task_queue,
            rpc_timeout=settings.temporal_rpc_timeout_seconds,
            worker_stale_seconds=settings.worker_stale_seconds,
        )
        what = f"{raised.subject_type.value} {raised.subject_id}"
        intake = Intake(
            customer_id=raised.customer_id,
            channel=Channel.PHONE,
            occurred_at=(raised.at - timedelta(seconds=raised.at.second, microseconds=raised.at.microsecond)),
            scenario=f"scheduled callback {raised.callback_id} ({what})",
            description=raised.needs,
            categories=(Category.OTHER,),
            priority=Priority.MEDIUM,
            name=f"Needs raised in a callback ({what})",
        )
        try:
            async with self._db.session() as session:
                registration = await register(
                    session=session, gateway=gateway, actor=raised.actor, intake=intake, request_id=raised.request_id
                )
        finally:
            await gateway.close()
        return registration.ticket.ticket_no
