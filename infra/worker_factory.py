"""Build the Temporal worker: one task queue, every workflow, the activities bound to the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker

from activities.callbacks import CallbackActivities
from activities.guard import ActivityFailureInterceptor
from activities.incidents import IncidentActivities
from activities.journal_anchor import JournalAnchorActivities
from activities.messages import MessageActivities
from activities.outbox import OutboxActivities
from activities.platform import PlatformActivities
from activities.presales import PresalesActivities
from activities.provisioning import ProvisioningActivities
from activities.quality import QualityActivities
from activities.reports import ReportActivities
from activities.reservations import ReservationActivities
from activities.resource_checks import ResourceCheckActivities
from activities.tickets import TicketActivities
from db import heartbeats
from db.session import Database
from infra.group_dispatch import HttpGroupDispatch
from infra.mail import SmtpMailer
from infra.sandbox import workflow_runner
from infra.settings import Settings
from infra.sms import HttpSmsGateway
from workflows.registry import ALL_WORKFLOWS

# A workflow task raising one of these failed on its data (an overflow, a value that does not validate): retrying
# the task cannot help, so the update it ran in is refused, or the run fails visibly, instead of retrying forever.
DATA_FAILURES: tuple[type[BaseException], ...] = (ArithmeticError, ValueError)
log = logging.getLogger("kexiang.worker")
_ANNOUNCE_WAIT_SECONDS = 10.0


class HeartbeatWorker(Worker):
    """A Temporal worker that, while it runs, writes a heartbeat row every few seconds (db/heartbeats.py).

    The API reads those rows to tell within seconds that no worker is left (`/readyz`, fast 503s); Temporal's
    own poller list only ages out after a minute. A clean stop removes the row at once.
    """

    def __init__(
        self,
        client: Client,
        *,
        db: Database,
        interval: float,
        on_stop: Sequence[Callable[[], Awaitable[None]]] = (),
        **options: Any,
    ) -> None:
        super().__init__(client, **options)
        self._on_stop = tuple(on_stop)  # what the worker's activities share (HTTP clients), closed when it stops
        self._db = db.side_pool()  # busy activities holding every pooled connection must not silence the heartbeat
        self._interval = interval
        self._namespace = client.namespace
        self._queue = options["task_queue"]
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._announced = asyncio.Event()

    async def __aenter__(self) -> HeartbeatWorker:
        """Start the worker and return once its first heartbeat is written (or after a few seconds without one)."""
        await super().__aenter__()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._announced.wait(), timeout=_ANNOUNCE_WAIT_SECONDS)
        return self

    async def run(self) -> None:
        """Run the worker with its heartbeat beside it; the heartbeat stops (and its row goes) when the worker does."""
        beating = asyncio.create_task(self._beat_while_running())
        try:
            await super().run()
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            with contextlib.suppress(Exception):
                async with self._db.session() as session:
                    await heartbeats.forget(session, self.worker_id)
            await self._db.dispose()
            for close in self._on_stop:
                with contextlib.suppress(Exception):
                    await close()

    async def _beat_while_running(self) -> None:
        while not self.is_running:  # the first beat as soon as the worker polls: readiness follows at once
            await asyncio.sleep(0.05)
        while True:
            if self.is_running:
                try:
                    async with self._db.session() as session:
                        await heartbeats.beat(
                            session,
                            worker_id=self.worker_id,
                            namespace=self._namespace,
                            task_queue=self._queue,
                            host=socket.gethostname(),
                            pid=os.getpid(),
                        )
                    self._announced.set()
                except Exception as err:  # the database is down: the API cannot use it either; keep trying
                    log.warning("worker heartbeat not written: %s", err)
            await asyncio.sleep(self._interval)


def build_worker(
    client: Client,
    db: Database,
    settings: Settings,
    *,
    task_queue: str | None = None,
    workflows: Sequence[type] = ALL_WORKFLOWS,
) -> HeartbeatWorker:
    """A worker running every activity kexiang has and its workflows (tests may swap in others), announcing itself
    by heartbeat."""
    platform = PlatformActivities(
        db, default_calendar=settings.default_calendar, default_policy=settings.default_sla_policy
    )
    tickets = TicketActivities(db, survey_base_url=f"{settings.public_base_url}/survey")
    reservations = ReservationActivities(db)
    dispatch = HttpGroupDispatch(settings.dispatch_url, token=settings.group_dispatch_token)
    provisioning = ProvisioningActivities(db, dispatch)
    checks = ResourceCheckActivities(db)
    presales = PresalesActivities(db)
    anchor = JournalAnchorActivities(db)
    quality = QualityActivities(db)
    messages = MessageActivities(db)
    incidents = IncidentActivities(db, client)
    report_work = ReportActivities(db)
    callbacks = CallbackActivities(db, client, settings)
    sms = HttpSmsGateway(settings.sms_url, token=settings.sms_gateway_token)
    outbox = OutboxActivities(
        db,
        mailer=SmtpMailer(settings.smtp_host, settings.smtp_port, sender=settings.smtp_sender),
        sms=sms,
        key_ring=settings.payload_key_ring,
        allow_private_callbacks=settings.private_callbacks_allowed,
    )
    return HeartbeatWorker(
        client,
        db=db,
        interval=settings.worker_heartbeat_seconds,
        on_stop=[sms.aclose],
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=workflows,
        workflow_runner=workflow_runner(),
        workflow_failure_exception_types=DATA_FAILURES,
        interceptors=[ActivityFailureInterceptor(db)],
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_local_activities=settings.worker_max_concurrent_local_activities,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.worker_workflow_task_pollers),
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(settings.worker_activity_task_pollers),
        activities=[
            platform.load_policy_snapshot,
            platform.record_task_event,
            tickets.record_ticket,
            tickets.record_ticket_change,
            tickets.issue_survey,
            tickets.archive_ticket,
            reservations.hold_reservation,
            reservations.claim_reservation,
            reservations.release_reservation,
            reservations.release_order_reservations,
            provisioning.load_provisioning_rules,
            provisioning.record_order,
            provisioning.record_order_change,
            provisioning.report_completion,
            provisioning.write_ledger,
            provisioning.close_circuit,
            checks.record_resource_check,
            checks.record_check_change,
            presales.record_demand,
            presales.load_check_summary,
            quality.load_quality_plan,
            quality.record_inspection,
            anchor.journal_head,
            outbox.due,
            outbox.deliver,
            outbox.deliver_round,
            messages.record_message_thread,
            incidents.load_incident_policy,
            incidents.record_incident,
            incidents.detect_incident,
            incidents.resolve_incident_tickets,
            report_work.load_report_policy,
            report_work.record_report,
            report_work.draft_quarterly_report,
            report_work.publish_quarterly_report,
            callbacks.record_callback,
            callbacks.load_callback_subject,
            callbacks.raise_callback_ticket,
        ],
    )
