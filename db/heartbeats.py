"""Worker heartbeats: each worker process rewrites its row every few seconds; the API reads the freshest age.

Both sides use the database's clock (`now()`), so clock skew between the API and worker hosts does not matter.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from db.models import WorkerHeartbeat

# Rows of workers that died without saying goodbye are pruned after this long.
_PRUNE_AFTER = "1 hour"


async def beat(session: AsyncSession, *, worker_id: str, namespace: str, task_queue: str, host: str, pid: int) -> None:
    """Record that this worker is alive now (insert or refresh its row) and prune long-dead workers."""
    now = func.now()
    values = dict(
        worker_id=worker_id, namespace=namespace, task_queue=task_queue, host=host, pid=pid, started_at=now, beat_at=now
    )
    statement = insert(WorkerHeartbeat).values(**values)
    await session.execute(statement.on_conflict_do_update(index_elements=["worker_id"], set_={"beat_at": now}))
    await session.execute(
        delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < func.now() - text(f"interval '{_PRUNE_AFTER}'"))
    )
    await session.commit()


async def forget(session: AsyncSession, worker_id: str) -> None:
    """A worker that stops cleanly removes its row: it is reported gone at once."""
    await session.execute(delete(WorkerHeartbeat).where(col(WorkerHeartbeat.worker_id) == worker_id))
    await session.commit()


async def freshest_age(session: AsyncSession, *, namespace: str, task_queue: str) -> float | None:
    """Seconds since the newest heartbeat of any worker on this task queue; None when no worker ever beat."""
    age: float | None = await session.scalar(
        select(func.extract("epoch", func.now() - func.max(col(WorkerHeartbeat.beat_at)))).where(
            col(WorkerHeartbeat.namespace) == namespace, col(WorkerHeartbeat.task_queue) == task_queue
        )
    )
    return None if age is None else float(age)
