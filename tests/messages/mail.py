"""Sending e-mail to the center's inbound receiver over real SMTP, and reading the threads it opened."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import select

from db.models import MessageThreadRow
from tests.support import eventually


async def send_mail(
    port: int, *, sender: str, subject: str, body: str, urgent: bool = False, message_id: str | None = None
) -> str:
    """Send one e-mail to the receiver; its Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "service@kexiang.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@customer.example>"
    if urgent:
        message["Importance"] = "high"
    message.set_content(body)
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port)
    return str(message["Message-ID"])


def thread_row(sync_session, message_id: str) -> MessageThreadRow | None:
    """The thread an e-mail opened, once its workflow wrote it (the policy pinned)."""
    with sync_session() as s:
        row = s.scalars(select(MessageThreadRow).where(MessageThreadRow.message_id == message_id)).one_or_none()
        return row if row is not None and row.revision > 0 else None


async def thread_of_mail(sync_session, message_id: str) -> MessageThreadRow:
    """Wait for the thread an e-mail opened."""
    return await eventually(lambda: _row(sync_session, message_id), what=f"the thread of {message_id}")


async def _row(sync_session, message_id: str) -> MessageThreadRow | None:
    return thread_row(sync_session, message_id)
