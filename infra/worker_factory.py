"""Build the Temporal worker: one task queue, every workflow, the activities bound to the database."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import Worker

from activities.guard import ActivityFailureInterceptor
from activities.journal_anchor import JournalAnchorActivities
from activities.platform import PlatformActivities
from activities.presales import PresalesActivities
from activities.provisioning import ProvisioningActivities
from activities.reservations import ReservationActivities
from activities.resource_checks import ResourceCheckActivities
from activities.tickets import TicketActivities
from db.session import Database
from infra.group_dispatch import HttpGroupDispatch
from infra.settings import Settings
from workflows.registry import ALL_WORKFLOWS

# A workflow task raising one of these failed on its data (an overflow, a value that does not validate): retrying
# the task cannot help, so the update it ran in is refused, or the run fails visibly, instead of retrying forever.
DATA_FAILURES: tuple[type[BaseException], ...] = (ArithmeticError, ValueError)


def build_worker(
    client: Client,
    db: Database,
    settings: Settings,
    *,
    task_queue: str | None = None,
    workflows: Sequence[type] = ALL_WORKFLOWS,
) -> Worker:
    """A worker running every activity kexiang has and its workflows (tests may swap in others)."""
    platform = PlatformActivities(
        db, default_calendar=settings.default_calendar, default_policy=settings.default_sla_policy
    )
    tickets = TicketActivities(db, survey_base_url=f"{settings.public_base_url}/api/survey")
    reservations = ReservationActivities(db)
    dispatch = HttpGroupDispatch(settings.dispatch_url, token=settings.group_dispatch_token)
    provisioning = ProvisioningActivities(db, dispatch)
    checks = ResourceCheckActivities(db)
    presales = PresalesActivities(db)
    anchor = JournalAnchorActivities(db)
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=workflows,
        workflow_failure_exception_types=DATA_FAILURES,
        interceptors=[ActivityFailureInterceptor(db)],
        activities=[
            platform.load_policy_snapshot,
            platform.record_task_event,
            tickets.record_ticket,
            tickets.issue_survey,
            tickets.archive_ticket,
            reservations.hold_reservation,
            reservations.claim_reservation,
            reservations.release_reservation,
            provisioning.load_provisioning_rules,
            provisioning.record_order,
            provisioning.report_completion,
            provisioning.write_ledger,
            checks.record_resource_check,
            presales.record_demand,
            presales.load_check_summary,
            anchor.journal_head,
        ],
    )
