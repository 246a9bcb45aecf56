"""A worker killed (SIGKILL) while it sends an outbox message loses nothing: the next worker retries the delivery
with the same webhook-id, and the receiver, de-duplicating on it, accepts the event once.

This module runs no in-process worker: the workers are `worker.py` processes against the module's test server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest_asyncio
from sqlalchemy import select

from core.outbox import OutboxChannel
from db.models import EventHub, OutboxAttempt, OutboxMessage
from db.outbox import enqueue
from db.session import Database
from infra.settings import Settings
from infra.webhooks import new_secret, seal_secret
from tests.outbox.receiver import Receiver
from tests.support import eventually, serve

ROOT = Path(__file__).resolve().parents[2]


class HoldingReceiver(Receiver):
    """Takes the first event, then holds its answer until released, so the sender can be killed mid-send."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def before_answer(self) -> None:
        """Hold the first answer."""
        if not self.arrived.is_set():
            self.arrived.set()
            await self.release.wait()


@pytest_asyncio.fixture
async def worker_process(env, settings: Settings, tmp_path) -> AsyncIterator[Callable[[], subprocess.Popen]]:
    """Start `worker.py` processes polling this module's task queue on its test server; all killed afterwards."""
    started: list[subprocess.Popen] = []
    dispatcher_id = f"outbox-dispatcher-{uuid.uuid4().hex[:8]}"

    def start() -> subprocess.Popen:
        environ = dict(
            os.environ,
            KEXIANG_ENV="test",
            DATABASE_URL=settings.database_url or "",
            TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
            TEMPORAL_TASK_QUEUE=settings.temporal_task_queue,
            OUTBOX_DISPATCHER_WORKFLOW_ID=dispatcher_id,
            JOURNAL_ANCHOR_WORKFLOW_ID=f"journal-anchor-{uuid.uuid4().hex[:8]}",
            DATA_DIR=str(tmp_path),
        )
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=environ, stdout=log, stderr=log)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


async def test_a_worker_killed_mid_send_loses_nothing_and_sends_once(env, db: Database, sync_session, worker_process):
    receiver = HoldingReceiver()
    async with serve(receiver.app()) as url:
        receiver.secret = new_secret()
        with sync_session() as s:
            hub = EventHub(
                api="troubleTicket",
                callback=f"{url}/events",
                secret_sealed=seal_secret(Settings(kexiang_env="test").payload_key_ring, receiver.secret),
                created_by="test",
            )
            s.add(hub)
            s.commit()
            hub_id = hub.id
        try:
            first = worker_process()
            subject = f"CRASH-{uuid.uuid4().hex[:8]}"
            async with db.session() as session:
                await enqueue(
                    session,
                    event=f"{subject}-r1-TroubleTicketCreateEvent",
                    subject=subject,
                    recipient=f"hub:{hub_id}",
                    channel=OutboxChannel.WEBHOOK,
                    payload={"event": {"eventType": "TroubleTicketCreateEvent", "event": {"troubleTicket": {}}}},
                )
                await session.commit()
            # the send is under way (a worker process starting on a loaded machine can take most of a minute)
            await asyncio.wait_for(receiver.arrived.wait(), timeout=180)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
            receiver.release.set()  # the receiver took the event; its answer finds no one

            def message() -> OutboxMessage:
                with sync_session() as s:
                    return s.scalars(select(OutboxMessage).where(OutboxMessage.subject == subject)).one()

            assert message().status == "pending"  # the kill came before the outcome was written
            worker_process()

            async def delivered():  # the killed attempt misses its heartbeat (10 s), the activity is retried
                row = message()
                return row if row.status == "delivered" else None

            row = await eventually(delivered, timeout=180, what="the message delivered by the next worker")
            webhook_id = f"msg_{row.id}"
            assert [i for i, _ in receiver.attempts] == [webhook_id, webhook_id]  # sent twice, one id
            assert list(receiver.accepted) == [webhook_id] and receiver.unsigned == 0  # accepted once
            with sync_session() as s:
                log = s.scalars(select(OutboxAttempt).where(OutboxAttempt.message_id == row.id)).all()
            assert [a.outcome for a in log] == ["delivered"]
        finally:
            with sync_session() as s:
                s.get(EventHub, hub_id).deleted_at = s.get(EventHub, hub_id).created_at
                s.commit()
