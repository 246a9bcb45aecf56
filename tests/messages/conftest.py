"""The message-thread tests' channels: the center's inbound SMTP receiver on this module's loop (registering through
this module's test server), and the outbound ones of the outbox tests (a real SMTP sink, the SMS gateway, the
dispatcher's waker) so replies to customers actually leave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from api.gateway import TemporalGateway
from api.messages.inbound import intake
from db.session import Database
from infra.mail_inbound import start_inbound_mail
from infra.settings import Settings
from tests.outbox.conftest import dispatcher, mail_sink, settings, sms_gateway  # noqa: F401 - fixtures used here
from tests.support import free_port


@dataclass
class Inbound:
    """Where the receiver listens, and the instant it stamps on what it receives (None: the real clock)."""

    port: int
    received_at: datetime | None = field(default=None)

    def now(self) -> datetime:
        """The receiver's clock."""
        return self.received_at or datetime.now(UTC)


@pytest_asyncio.fixture(scope="module")
async def inbound(
    env: WorkflowEnvironment,
    db: Database,
    settings: Settings,  # noqa: F811 - the module's settings (the fixture imported above)
    worker: None,
) -> AsyncIterator[Inbound]:
    """The inbound SMTP receiver on a loopback port, as `python -m infra.mail_inbound` runs it."""
    gateway = TemporalGateway(
        env.client,
        db,
        task_queue=settings.temporal_task_queue,
        rpc_timeout=settings.temporal_rpc_timeout_seconds,
        worker_stale_seconds=settings.worker_stale_seconds,
    )
    receiver = Inbound(port=free_port())
    server = await start_inbound_mail(intake(db, gateway, settings), port=receiver.port, clock=receiver.now)
    yield receiver
    server.close()
    await server.wait_closed()
    await gateway.close()
