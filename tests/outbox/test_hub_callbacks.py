"""Listener callbacks are screened (server-side request forgery): only http(s) to a host, no credentials, and no
loopback, private or link-local address unless the deployment allows them — at registration and at delivery."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.outbox import OutboxActivities
from core.outbox import DeliveryRequest, OutboxChannel, OutboxStatus
from db.models import EventHub, OutboxMessage
from db.outbox import enqueue
from infra.mail import SmtpMailer
from infra.settings import Settings
from infra.sms import HttpSmsGateway
from infra.webhooks import CallbackRefused, new_secret, screen_callback, seal_secret
from tests.support import unique

HUB = "/tmf-api/troubleTicket/v4/hub"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/events",
        "http://localhost/events",
        "http://10.1.2.3/events",
        "http://192.168.0.10/events",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/events",
        "http://[::ffff:127.0.0.1]/events",
        "http://0.0.0.0/events",
    ],
)
async def test_private_and_loopback_callbacks_are_refused_unless_allowed(url):
    with pytest.raises(CallbackRefused, match="private or loopback"):
        await screen_callback(url, allow_private=False)
    await screen_callback(url, allow_private=True)


async def test_only_plain_http_urls_to_a_public_host_pass():
    await screen_callback("https://93.184.215.14/hooks/kexiang", allow_private=False)
    for url, reason in (
        ("ftp://93.184.215.14/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("https://user:pw@93.184.215.14/x", "credentials"),
        ("http://host.invalid/x", "does not resolve"),
    ):
        with pytest.raises(CallbackRefused, match=reason):
            await screen_callback(url, allow_private=False)
    assert Settings(kexiang_env="test").private_callbacks_allowed
    assert not Settings(kexiang_env="test", hub_allow_private_callbacks=False).private_callbacks_allowed


async def test_registration_refuses_a_callback_with_credentials_and_changes_nothing(http, login, sync_session):
    admin = await login("admin")
    with sync_session() as s:
        before = len(s.scalars(select(EventHub.id)).all())
    answer = await http.post(HUB, json={"callback": "http://kx:secret@127.0.0.1:9/events"}, headers=admin)
    assert answer.status_code == 400 and "credentials" in answer.text
    answer = await http.post(HUB, json={"callback": "gopher://127.0.0.1:70/"}, headers=admin)
    assert answer.status_code in (400, 422)
    with sync_session() as s:
        assert len(s.scalars(select(EventHub.id)).all()) == before


async def test_a_callback_re_pointed_at_a_private_address_is_not_called(db, sync_session):
    """A worker that does not allow private callbacks refuses, at delivery, a hub stored with one: a dead letter."""
    with sync_session() as s:
        hub = EventHub(
            api="troubleTicket",
            callback="http://127.0.0.1:9/events",
            secret_sealed=seal_secret(Settings(kexiang_env="test").payload_key_ring, new_secret()),
            created_by="test",
        )
        s.add(hub)
        s.commit()
        hub_id = hub.id
    subject = unique("ssrf")
    try:
        async with db.session() as session:
            await enqueue(
                session,
                event=f"{subject}-r1-TroubleTicketCreateEvent",
                subject=subject,
                recipient=f"hub:{hub_id}",
                channel=OutboxChannel.WEBHOOK,
                payload={"event": {"eventType": "TroubleTicketCreateEvent"}},
            )
            await session.commit()
        with sync_session() as s:
            message_id = s.scalars(select(OutboxMessage.id).where(OutboxMessage.subject == subject)).one()
        activities = OutboxActivities(
            db,
            mailer=SmtpMailer("127.0.0.1", 9, sender="kx@localhost"),
            sms=HttpSmsGateway("http://127.0.0.1:9/sms"),
            key_ring=Settings(kexiang_env="test").payload_key_ring,
            allow_private_callbacks=False,
        )
        outcome = await ActivityEnvironment().run(
            activities.deliver, DeliveryRequest(message_id=message_id, now=datetime.now(UTC))
        )
        assert outcome.status == OutboxStatus.DEAD
        with sync_session() as s:
            assert "private or loopback" in (s.get(OutboxMessage, message_id).last_error or "")
    finally:
        with sync_session() as s:
            s.get(EventHub, hub_id).deleted_at = s.get(EventHub, hub_id).created_at
            s.commit()
