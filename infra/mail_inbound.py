"""The center's inbound mail: a real SMTP receiver (aiosmtpd) whose every accepted e-mail becomes a message thread
(or joins the open thread it answers). `make run` starts it (infra/devstack.py); the tests start it on their loop.

`python -m infra.mail_inbound --port 2526`

Only the parsing and the SMTP conversation live here; `take` (api/messages/inbound.py) registers the message. A
message is answered 250 once it is registered, 550 when it can never be (malformed, refused), 451 when it cannot be
now (the database or Temporal is away): the sending server tries again later, and the Message-ID makes the retry
land on the same thread. Logs name neither senders nor texts.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import email.utils
import hashlib
import logging
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's INFO lines name senders and recipients
log = logging.getLogger("kexiang.mail_inbound")
MAX_MESSAGE_BYTES = 1024 * 1024
_TAG = re.compile(r"<[^>]+>")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


@dataclass(frozen=True)
class InboundMail:
    """An e-mail as the center received it."""

    sender: str
    subject: str
    body: str
    message_id: str
    headers: dict[str, str]  # lower-cased names: importance, priority, x-priority
    received_at: datetime


class MailRejected(Exception):
    """The message cannot be registered: `permanent` answers 550 (never retry), otherwise 451 (retry later)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


Take = Callable[[InboundMail], Awaitable[str]]


def parse_mail(content: bytes, envelope_sender: str | None, received_at: datetime) -> InboundMail:
    """The sender (From, else the envelope), subject, text body and Message-ID of a raw message; MailRejected
    (permanent) when it has no usable sender or text."""
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    sender = email.utils.parseaddr(str(message.get("From", "")))[1] or (envelope_sender or "")
    if not _ADDRESS.fullmatch(sender):
        raise MailRejected("5.1.7 no usable sender address", permanent=True)
    body = _text_of(message).strip()
    if not body:
        raise MailRejected("5.6.0 the message has no text", permanent=True)
    message_id = str(message.get("Message-ID", "")).strip()
    if not message_id:  # the same content sent twice is one message
        message_id = "<" + hashlib.sha256(content).hexdigest() + "@kexiang.inbound>"
    headers = {name.lower(): str(message.get(name, "")) for name in ("Importance", "Priority", "X-Priority")}
    subject = " ".join(str(message.get("Subject", "")).split())
    return InboundMail(
        sender=sender,
        subject=subject[:500],
        body=body[:20000],
        message_id=message_id[:300],
        headers=headers,
        received_at=received_at,
    )


def _text_of(message: EmailMessage) -> str:
    """The plain-text part, else the HTML part without its tags."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = str(part.get_content())
    except (LookupError, UnicodeError):
        return ""
    return _TAG.sub(" ", text) if part.get_content_subtype() == "html" else text


class InboundHandler:
    """aiosmtpd handler: every message's DATA is parsed and handed to `take`."""

    def __init__(self, take: Take, *, clock: Callable[[], datetime] | None = None) -> None:
        self._take = take
        self._clock = clock or (lambda: datetime.now(UTC))

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Register the message; the reply code tells the sender whether to try again."""
        received_at = self._clock()
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        try:
            mail = parse_mail(content, envelope.mail_from, received_at)
            thread_id = await self._take(mail)
        except MailRejected as rejected:
            log.info("inbound mail rejected (%s): %s", "permanent" if rejected.permanent else "retry", rejected.reason)
            return f"550 {rejected.reason}" if rejected.permanent else f"451 {rejected.reason}"
        except Exception as err:  # anything else is ours to fix: the sender retries meanwhile
            # No traceback: a database error's text may quote the message's values (the sender's address).
            log.error("inbound mail not registered: %s", type(err).__name__)
            return "451 4.3.0 temporarily unable to take the message"
        return f"250 OK message {thread_id}"


async def start_inbound_mail(
    take: Take, *, port: int, host: str = "127.0.0.1", clock: Callable[[], datetime] | None = None
) -> asyncio.Server:
    """Serve SMTP on host:port on the running event loop (so `take` shares its database and Temporal client)."""
    handler = InboundHandler(take, clock=clock)
    loop = asyncio.get_running_loop()
    factory: Any = partial(SMTP, handler, hostname="kexiang.inbound", data_size_limit=MAX_MESSAGE_BYTES)
    return await loop.create_server(factory, host=host, port=port)


async def _serve(host: str, port: int) -> None:
    from api.messages.inbound import serving_intake
    from infra.logging import configure_logging
    from infra.settings import get_settings

    configure_logging()
    async with serving_intake(get_settings()) as take:
        server = await start_inbound_mail(take, host=host, port=port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info("inbound mail on %s:%d", host, port)
        await stop.wait()
        server.close()
        await server.wait_closed()


def main() -> None:
    """Receive mail until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2526)
    args = parser.parse_args()
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
