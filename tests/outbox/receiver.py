"""A real webhook receiver for the tests: verifies Standard Webhooks signatures, de-duplicates on webhook-id, and
answers 500 to the first attempts it is told to fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    """What the receiver saw: every attempt (webhook-id, answer), the events it accepted once each, bad signatures."""

    secret: str | None = None
    fail_first: int = 0  # answer 500 to this many attempts before accepting any
    always_fail: bool = False
    attempts: list[tuple[str, int]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsigned: int = 0

    def app(self) -> FastAPI:
        """The receiving app: POST /events."""
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/events")
        async def receive(request: Request) -> Response:
            body = await request.body()
            assert self.secret is not None
            try:
                event = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.unsigned += 1
                return Response(status_code=401)
            webhook_id = request.headers["webhook-id"]
            if self.always_fail or len(self.attempts) < self.fail_first:
                self.attempts.append((webhook_id, 500))
                return Response(status_code=500)
            self.attempts.append((webhook_id, 204))
            self.accepted.setdefault(webhook_id, event)  # at-least-once in, exactly once here
            await self.before_answer()
            return Response(status_code=204)

        return app

    async def before_answer(self) -> None:
        """Called once an event is accepted, before the answer goes out."""
