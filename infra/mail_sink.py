"""A real local SMTP server (aiosmtpd) that keeps what it receives in a Maildir: `make run` and the tests use it
in place of a mail relay, and `/sim/mail/messages` lists what it received.

`python -m infra.mail_sink --port 2525 --dir .data/mail`
"""

from __future__ import annotations

import argparse
import email
import email.policy
import logging
import mailbox
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # aiosmtpd is a dev dependency: the API lists mail without it
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # its INFO lines name senders and recipients
    from aiosmtpd.smtp import Envelope, Session


class _MaildirHandler:
    def __init__(self, directory: Path) -> None:
        for part in ("tmp", "new", "cur"):  # Maildir(create=True) leaves an existing directory as it is
            (directory / part).mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(directory, create=False)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        """Store the message as received."""
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        with self._lock:
            self._box.add(content)
        return "250 OK"


def start_mail_sink(directory: Path, *, port: int, host: str = "127.0.0.1") -> Controller:
    """Start the SMTP server on host:port in its own thread; `stop()` ends it."""
    from aiosmtpd.controller import Controller

    controller = Controller(_MaildirHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def received_mail(directory: Path) -> list[dict[str, Any]]:
    """Every message the sink received, oldest first: headers that matter and the text body."""
    if not directory.exists():
        return []
    box = mailbox.Maildir(directory, create=False)
    messages = sorted((box.get_message(key) for key in box.iterkeys()), key=lambda m: m.get_date())
    received = []
    for stored in messages:
        parsed = email.message_from_bytes(stored.as_bytes(), policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        received.append(
            {
                "message_id": parsed["Message-ID"],
                "from": parsed["From"],
                "to": parsed["To"],
                "subject": parsed["Subject"],
                "body": body.get_content() if body is not None else "",
            }
        )
    return received


def main() -> None:
    """Run the sink until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args()
    controller = start_mail_sink(args.dir, host=args.host, port=args.port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
