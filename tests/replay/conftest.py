"""The replay scenarios' worker sends nothing off the machine's closed ports: the dispatcher scenarios deliver
whatever the other scenarios queued (their customers' SMS, staff notifications), and every attempt fails at once."""

from __future__ import annotations

import pytest

from infra.settings import Settings

CLOSED = "127.0.0.1"  # port 9 (discard) is not served here: a connection is refused, a transient failure


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The module's settings with the SMS gateway and the mail server on a port nothing listens on."""
    return settings.model_copy(
        update={"sms_gateway_url": f"http://{CLOSED}:9/sms", "smtp_host": CLOSED, "smtp_port": 9}
    )
