"""The SMS channel posts every message over one pooled client per worker, closed when the worker stops."""

from __future__ import annotations

import asyncio

from api.channel_simulators import create_sms_simulator
from infra.sms import HttpSmsGateway
from tests.support import serve


async def test_one_client_carries_every_message_until_the_worker_stops() -> None:
    app = create_sms_simulator()
    async with serve(app) as url:
        gateway = HttpSmsGateway(f"{url}/messages", token="t")
        await gateway.send(to="+8613800000001", text="one", message_id="sms-1")
        client = gateway._client
        await gateway.send(to="+8613800000002", text="two", message_id="sms-2")
        assert client is not None and gateway._client is client  # no client (TLS set-up, connection) per message
        assert [m["text"] for m in app.state.messages.values()] == ["one", "two"]

        await gateway.aclose()  # the worker stops
        assert client.is_closed and gateway._client is None
        await gateway.send(to="+8613800000003", text="three", message_id="sms-3")  # a later send: a new client
        assert gateway._client is not None and gateway._client is not client

        # Another event loop (a test's own, a restarted worker's) gets a client of its own; this loop's is kept.
        ours = gateway._client
        await asyncio.to_thread(asyncio.run, gateway.send(to="+8613800000004", text="four", message_id="sms-4"))
        assert gateway._client is not ours and "sms-4" in app.state.messages
        await gateway.aclose()  # the other loop's client is let go, not closed from here
        assert gateway._client is None
        await ours.aclose()
