"""The outbox's waker: relays PostgreSQL NOTIFYs (sent at commit by db.outbox.enqueue) to the OutboxDispatcher as
a `kick` signal, starting the dispatcher if it is not running. It kicks once on start too, so what was queued while
no waker listened goes out; a wake-up lost to an outage is caught by the dispatcher's idle look."""

from __future__ import annotations

import asyncio
import logging

import psycopg
from sqlalchemy.engine import make_url
from temporalio.client import Client

from core.outbox import KICK_SIGNAL, NOTIFY_CHANNEL, DispatcherState
from workflows.outbox import OutboxDispatcherWorkflow

log = logging.getLogger("kexiang.outbox")
_RECONNECT_SECONDS = 5.0
_COALESCE_SECONDS = 0.2  # a burst of enqueues becomes one kick


async def kick_dispatcher(
    client: Client, *, workflow_id: str, task_queue: str, state: DispatcherState | None = None
) -> None:
    """Signal the dispatcher to look now, starting it (with `state`) when none runs."""
    await client.start_workflow(
        OutboxDispatcherWorkflow.run,
        state or DispatcherState(),
        id=workflow_id,
        task_queue=task_queue,
        start_signal=KICK_SIGNAL,
    )


async def relay_wakeups(
    client: Client, database_url: str, *, workflow_id: str, task_queue: str, state: DispatcherState | None = None
) -> None:
    """LISTEN on the outbox channel and kick the dispatcher after each burst of notifications, until cancelled."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                await kick_dispatcher(client, workflow_id=workflow_id, task_queue=task_queue, state=state)
                while True:
                    async for _ in conn.notifies(stop_after=1):  # wait for one
                        pass
                    async for _ in conn.notifies(timeout=_COALESCE_SECONDS):  # and take the rest of its burst
                        pass
                    await kick_dispatcher(client, workflow_id=workflow_id, task_queue=task_queue, state=state)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the database or Temporal is away: the dispatcher's idle look covers the gap
            log.warning("outbox waker: %s; listening again in %.0fs", type(err).__name__, _RECONNECT_SECONDS)
            await asyncio.sleep(_RECONNECT_SECONDS)
