"""What every outbox channel adapter raises when an attempt fails (infra/mail.py, infra/sms.py, infra/webhooks.py).

The reason never holds an address or a message text: it lands in the delivery log and in logs.
"""

from __future__ import annotations

import ssl
from functools import cache


@cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings of every outgoing HTTP call, built once: building them (the CA bundle loaded) cost more
    worker CPU than the call itself when each SMS made its own (py-spy, issue 18)."""
    return ssl.create_default_context()


class DeliveryFailed(Exception):
    """One failed attempt: a short reason, the receiver's response code if any, and whether retrying is futile."""

    def __init__(self, reason: str, *, code: int | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.code = code
        self.permanent = permanent
