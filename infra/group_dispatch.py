"""The group dispatch system (集团调度系统), where completed circuits are reported (报竣): the adapter interface and
its HTTP client. `api/dispatch_simulator.py` is the local stand-in the dev stack and the tests serve."""

from __future__ import annotations

from typing import Protocol

import httpx

from core.provisioning import CompletionReport
from infra.delivery import tls_context


class GroupDispatch(Protocol):
    """Where completion reports go; `report` returns the dispatch system's receipt and is idempotent on report.key."""

    async def report(self, report: CompletionReport) -> str:
        """Deliver one completion report."""
        ...


class HttpGroupDispatch:
    """POSTs completion reports as JSON to `{base_url}/completions`; the report key doubles as the Idempotency-Key."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 20.0) -> None:
        self._url = base_url.rstrip("/") + "/completions"
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout

    async def report(self, report: CompletionReport) -> str:
        """Deliver the report; any non-2xx answer raises (the activity retries)."""
        async with httpx.AsyncClient(timeout=self._timeout, verify=tls_context()) as client:
            response = await client.post(
                self._url, json=report.model_dump(mode="json"), headers={**self._headers, "Idempotency-Key": report.key}
            )
            response.raise_for_status()
            return str(response.json()["receipt"])
