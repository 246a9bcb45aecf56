"""E-mail over SMTP (aiosmtplib): the outbox's e-mail channel."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from infra.delivery import DeliveryFailed


class SmtpMailer:
    """Sends plain-text mail through one SMTP server; the outbox message id becomes the Message-ID."""

    def __init__(self, host: str, port: int, *, sender: str, timeout: float = 20.0) -> None:
        self._host, self._port, self._sender, self._timeout = host, port, sender, timeout

    async def send(self, *, to: str, subject: str, body: str, message_id: str) -> None:
        """Send one message; raises DeliveryFailed (5xx answers are permanent) without naming the address."""
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = to
        mail["Subject"] = subject
        mail["Message-ID"] = f"<{message_id}@kexiang>"
        mail.set_content(body)
        try:
            await aiosmtplib.send(mail, hostname=self._host, port=self._port, timeout=self._timeout)
        except aiosmtplib.SMTPRecipientsRefused:
            raise DeliveryFailed("SMTP recipient refused", code=550, permanent=True) from None
        except aiosmtplib.SMTPResponseException as err:
            raise DeliveryFailed(f"SMTP {err.code}", code=err.code, permanent=500 <= err.code < 600) from None
        except (aiosmtplib.SMTPException, OSError) as err:
            raise DeliveryFailed(f"SMTP unreachable: {type(err).__name__}") from None
