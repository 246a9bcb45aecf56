"""Build the Temporal worker: one task queue, every workflow, the activities bound to the database."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from activities.platform import PlatformActivities
from activities.tickets import TicketActivities
from db.session import Database
from infra.settings import Settings
from workflows.registry import ALL_WORKFLOWS


def build_worker(client: Client, db: Database, settings: Settings, *, task_queue: str | None = None) -> Worker:
    """A worker running every workflow and activity kexiang has."""
    platform = PlatformActivities(
        db, default_calendar=settings.default_calendar, default_policy=settings.default_sla_policy
    )
    tickets = TicketActivities(db, survey_base_url=f"{settings.public_base_url}/api/survey")
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=ALL_WORKFLOWS,
        activities=[
            platform.load_policy_snapshot, platform.record_task_event,
            tickets.record_ticket, tickets.issue_survey, tickets.archive_ticket,
        ],
    )


def cache_bytecode(data_dir: str | Path) -> None:
    """Keep compiled bytecode under data_dir so the workflow sandbox does not recompile workflow modules per run.

    The sandbox re-imports a workflow's modules for every run it starts (and after every cache eviction). With
    PYTHONDONTWRITEBYTECODE (set in our image) or read-only sources nothing is cached, and each re-import
    compiled service_ticket.py and human_tasks.py from source: a sixth of the worker's CPU under load.
    """
    if sys.pycache_prefix is None:
        sys.pycache_prefix = str(Path(data_dir, "pycache").resolve())
    sys.dont_write_bytecode = False
