"""Local stand-ins for the outbox's channels (dev stack, tests), mounted by the API outside production:
`/sim/sms` is an SMS gateway that keeps what it is sent, `/sim/mail` lists what the local SMTP server
(infra/mail_sink.py) received. Listings show recipients masked, like every other view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field

from core.contacts import masked_contact
from infra.mail_sink import received_mail


class SmsIn(BaseModel):
    """One text message, as infra/sms.py sends it."""

    to: str = Field(max_length=32)
    text: str = Field(max_length=8000)
    messageId: str = Field(max_length=200)  # the gateway's field name


def create_sms_simulator() -> FastAPI:
    """A fresh SMS gateway; `app.state.messages` maps each message id to what it received (once per id)."""
    app = FastAPI(title="SMS gateway (simulator)", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.messages = {}

    @app.post("/messages", status_code=202)
    async def receive(sms: SmsIn, idempotency_key: str | None = Header(default=None)) -> dict[str, str]:
        """Accept a message once per id."""
        key = idempotency_key or sms.messageId
        app.state.messages.setdefault(key, sms.model_dump())
        return {"status": "accepted"}

    @app.get("/messages")
    async def received() -> list[dict[str, Any]]:
        """Every message received, oldest first, the number masked."""
        return [{**m, "to": masked_contact(m["to"])} for m in app.state.messages.values()]

    return app


def create_mailbox_view(directory: Path) -> FastAPI:
    """What the local SMTP server stored in `directory`, oldest first, recipients masked."""
    app = FastAPI(title="local mailbox", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/messages")
    async def received() -> list[dict[str, Any]]:
        """Every message received, oldest first."""
        return [{**m, "to": masked_contact(m["to"])} for m in received_mail(directory)]

    return app
