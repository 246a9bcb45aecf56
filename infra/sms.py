"""SMS through an HTTP gateway: the outbox's SMS channel, one small adapter (operators' SMS platforms differ).

The gateway takes `POST {url}` with JSON `{"to", "text", "messageId"}` and an Idempotency-Key header; any 2xx
is accepted. `api/sms_simulator.py` is the in-app gateway the dev stack and the tests use.
"""

from __future__ import annotations

import httpx

from infra.delivery import DeliveryFailed, tls_context


class HttpSmsGateway:
    """POSTs one text message per call to the gateway."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 20.0) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout

    async def send(self, *, to: str, text: str, message_id: str) -> None:
        """Send one SMS; raises DeliveryFailed on a non-2xx answer or no answer, without naming the number."""
        try:
            async with httpx.AsyncClient(timeout=self._timeout, verify=tls_context()) as client:
                response = await client.post(
                    self._url,
                    json={"to": to, "text": text, "messageId": message_id},
                    headers={**self._headers, "Idempotency-Key": message_id},
                )
        except httpx.HTTPError as err:
            raise DeliveryFailed(f"SMS gateway unreachable: {type(err).__name__}") from None
        if not response.is_success:
            raise DeliveryFailed(f"SMS gateway answered {response.status_code}", code=response.status_code)
