"""SMS through an HTTP gateway: the outbox's SMS channel, one small adapter (operators' SMS platforms differ).

The gateway takes `POST {url}` with JSON `{"to", "text", "messageId"}` and an Idempotency-Key header; any 2xx
is accepted. `api/channel_simulators.py` has the in-app gateway the dev stack and the tests use.
"""

from __future__ import annotations

import asyncio

import httpx

from infra.delivery import DeliveryFailed, tls_context


class HttpSmsGateway:
    """POSTs one text message per call to the gateway, over one pooled client per worker (made at the first send,
    closed with `aclose` when the worker stops): a client per message paid its set-up and a new connection each."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 20.0) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(self, *, to: str, text: str, message_id: str) -> None:
        """Send one SMS; raises DeliveryFailed on a non-2xx answer or no answer, without naming the number."""
        try:
            response = await self._shared_client().post(
                self._url,
                json={"to": to, "text": text, "messageId": message_id},
                headers={**self._headers, "Idempotency-Key": message_id},
            )
        except httpx.HTTPError as err:
            raise DeliveryFailed(f"SMS gateway unreachable: {type(err).__name__}") from None
        if not response.is_success:
            raise DeliveryFailed(f"SMS gateway answered {response.status_code}", code=response.status_code)

    async def aclose(self) -> None:
        """Close the shared client (the worker stops); a later send makes a new one. A client of another event loop
        is let go unclosed: its connections can only be closed on their own loop."""
        client, loop, self._client, self._loop = self._client, self._loop, None, None
        if client is not None and loop is asyncio.get_running_loop():
            await client.aclose()

    def _shared_client(self) -> httpx.AsyncClient:
        """The client of the running event loop: its pooled connections belong to the loop they were opened on, so
        a send on another loop (a test's, a restarted worker's) gets a client of its own."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(timeout=self._timeout, verify=tls_context())
            self._loop = loop
        return self._client
