"""The outbox tests' channels: a real SMTP server (aiosmtpd) keeping mail in a Maildir, the SMS gateway simulator,
and the dispatcher's waker relaying the outbox's NOTIFYs to this module's test server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.channel_simulators import create_sms_simulator
from infra.mail_sink import start_mail_sink
from infra.outbox_waker import relay_wakeups
from infra.settings import Settings
from tests.support import free_port, serve


@pytest.fixture(scope="module")
def mail_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A real SMTP server on a loopback port: (port, Maildir directory)."""
    directory = tmp_path_factory.mktemp("mail")
    port = free_port()
    controller = start_mail_sink(directory, port=port)
    yield port, directory
    controller.stop()


@pytest_asyncio.fixture(scope="module")
async def sms_gateway() -> AsyncIterator[tuple[str, FastAPI]]:
    """The SMS gateway simulator on its own port: (URL the worker posts to, app with `state.messages`)."""
    app = create_sms_simulator()
    async with serve(app) as url:
        yield f"{url}/messages", app


@pytest.fixture(scope="module")
def settings(settings: Settings, mail_sink: tuple[int, Path], sms_gateway: tuple[str, FastAPI]) -> Settings:
    """The module's settings with the channels pointed at the local SMTP server and SMS gateway."""
    return settings.model_copy(
        update={
            "smtp_port": mail_sink[0],
            "mail_sink_dir": str(mail_sink[1]),
            "sms_gateway_url": sms_gateway[0],
            "outbox_dispatcher_workflow_id": f"outbox-dispatcher-{uuid.uuid4().hex[:8]}",
        }
    )


@pytest_asyncio.fixture(scope="module")
async def dispatcher(env: WorkflowEnvironment, settings: Settings, worker: None) -> AsyncIterator[str]:
    """The waker, as the worker process runs it; yields the dispatcher's workflow id (started by the first kick)."""
    assert settings.database_url
    relay = asyncio.create_task(
        relay_wakeups(
            env.client,
            settings.database_url,
            workflow_id=settings.outbox_dispatcher_workflow_id,
            task_queue=settings.temporal_task_queue,
        )
    )
    yield settings.outbox_dispatcher_workflow_id
    relay.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await relay
