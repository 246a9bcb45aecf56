"""The kexiang worker process: `python worker.py`."""

from __future__ import annotations

import asyncio
import logging
import signal

from api.reports.service import ensure_report_scheduler
from audit.journal_anchor import ensure_anchoring
from db.session import Database
from infra.bytecode import cache_bytecode
from infra.logging import configure_logging
from infra.outbox_waker import relay_wakeups
from infra.settings import get_settings
from infra.temporal import connect
from infra.worker_factory import build_worker

log = logging.getLogger("kexiang.worker")


async def main() -> None:
    """Run the worker until SIGINT/SIGTERM, then drain and stop."""
    settings = get_settings()
    configure_logging()
    cache_bytecode(settings.data_dir)
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set")
    db = Database(
        settings.database_url, pool_size=settings.worker_database_pool_size, journal_keys=settings.journal_key_ring
    )
    client = await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(client, db, settings)
    log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_address)
    async with worker:
        # The journal's head goes to Temporal at intervals, so a rewritten chain is caught (audit/journal_anchor.py).
        await ensure_anchoring(
            client,
            workflow_id=settings.journal_anchor_workflow_id,
            task_queue=settings.temporal_task_queue,
            interval_minutes=settings.journal_anchor_minutes,
        )
        # Month and quarter ends start the reports they owe (workflows/reports.py).
        await ensure_report_scheduler(client, task_queue=settings.temporal_task_queue)
        # The outbox goes out: NOTIFY at commit -> a kick to the OutboxDispatcher (infra/outbox_waker.py).
        waker = asyncio.create_task(
            relay_wakeups(
                client,
                settings.database_url,
                workflow_id=settings.outbox_dispatcher_workflow_id,
                task_queue=settings.temporal_task_queue,
            )
        )
        await stop.wait()
        waker.cancel()
    await db.dispose()
    log.info("worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
