"""The baseline's table, activities and worker (its own task queue, inside the bench process)."""

from __future__ import annotations

from sqlalchemy import text
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from bench.baseline_workflow import (
    BASELINE_DECIDED,
    BASELINE_PARKED,
    BASELINE_TIMER_FIRED,
    BenchBaselineWorkflow,
    BenchTimerWorkflow,
    TimerFired,
)
from db.session import Database

# Its own schema: the application's tables (and the models-vs-migrations check) never see it.
_DDL = (
    "CREATE SCHEMA IF NOT EXISTS bench",
    "CREATE TABLE IF NOT EXISTS bench.baseline (workflow_id text PRIMARY KEY, status text NOT NULL, "
    "parked_at timestamptz NOT NULL DEFAULT now(), decided_at timestamptz)",
    "CREATE TABLE IF NOT EXISTS bench.timer_fired (workflow_id text PRIMARY KEY, due_at timestamptz NOT NULL, "
    "armed_at timestamptz NOT NULL, fired_at timestamptz NOT NULL, "
    "written_at timestamptz NOT NULL DEFAULT clock_timestamp())",
)


async def ensure_baseline_table(db: Database) -> None:
    """Create the baseline's table if it is missing."""
    async with db.engine.begin() as connection:
        for statement in _DDL:
            await connection.execute(text(statement))


class BaselineActivities:
    """The baseline's two writes, idempotent like kexiang's."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=BASELINE_PARKED)
    async def parked(self, workflow_id: str) -> None:
        """Insert the row once."""
        async with self._db.session() as session:
            await session.execute(
                text("INSERT INTO bench.baseline (workflow_id, status) VALUES (:id, 'parked') ON CONFLICT DO NOTHING"),
                {"id": workflow_id},
            )
            await session.commit()

    @activity.defn(name=BASELINE_DECIDED)
    async def decided(self, workflow_id: str) -> None:
        """Mark the row decided (a retry changes nothing more)."""
        async with self._db.session() as session:
            await session.execute(
                text(
                    "UPDATE bench.baseline SET status = 'decided', decided_at = now()"
                    " WHERE workflow_id = :id AND status = 'parked'"
                ),
                {"id": workflow_id},
            )
            await session.commit()

    @activity.defn(name=BASELINE_TIMER_FIRED)
    async def timer_fired(self, fired: TimerFired) -> None:
        """Record a baseline timer's firing once (written_at: when the row was written)."""
        async with self._db.session() as session:
            await session.execute(
                text(
                    "INSERT INTO bench.timer_fired (workflow_id, due_at, armed_at, fired_at)"
                    " VALUES (:id, :due, :armed, :fired) ON CONFLICT DO NOTHING"
                ),
                {"id": fired.workflow_id, "due": fired.due_at, "armed": fired.armed_at, "fired": fired.fired_at},
            )
            await session.commit()


def baseline_worker(client: Client, db: Database, task_queue: str) -> Worker:
    """A worker for the baseline workflows alone (the SDK's default slots and cache, as the product worker's)."""
    activities = BaselineActivities(db)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BenchBaselineWorkflow, BenchTimerWorkflow],
        activities=[activities.parked, activities.decided, activities.timer_fired],
    )
