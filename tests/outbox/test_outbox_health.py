"""Outbox health: /readyz reports whether the dispatcher runs and how many messages are overdue; the admins'
summary shows a stuck channel (messages overdue) and a failing one (its latest attempt failed)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from api.console.session import SESSION_COOKIE, new_session
from db.models import OutboxMessage, utcnow
from tests.outbox.test_webhooks import listener, new_ticket  # noqa: F401 - the listener fixture
from tests.support import eventually, unique

SUMMARY = "/api/outbox/summary"


async def test_readyz_without_a_dispatcher_and_a_stuck_channel(http, login, sync_session):
    admin = await login("admin")
    subject = unique("stuck")
    with sync_session() as s:  # a message that should have gone ten minutes ago
        stuck = OutboxMessage(
            key=f"test|{subject}|user:nobody",
            event="test",
            subject=subject,
            recipient="user:nobody",
            channel="sms",
            payload={},
            next_attempt_at=utcnow() - timedelta(minutes=10),
        )
        s.add(stuck)
        s.commit()
    try:
        ready = await http.get("/readyz")
        body = ready.json()
        assert ready.status_code == 200 and body["ready"] is True  # the API still serves
        assert body["dispatcher"] is False and body["outbox_overdue"] >= 1 and body["status"] == "degraded"
        assert any("dispatcher is not running" in w for w in body["warnings"])
        sms = (await http.get(SUMMARY, headers=admin)).json()["sms"]
        assert sms["state"] == "stuck" and sms["overdue"] >= 1
        assert (await http.get(SUMMARY, headers=await login("supervisor1"))).status_code == 403
    finally:
        with sync_session() as s:
            s.execute(delete(OutboxMessage).where(OutboxMessage.subject == subject))
            s.commit()


async def test_a_running_dispatcher_and_a_failing_channel(http, login, env, listener, dispatcher):  # noqa: F811
    async def running():
        body = (await http.get("/readyz")).json()
        return body if body["dispatcher"] else None

    await eventually(running, what="readyz reporting the dispatcher")
    receiver = await listener("eventType=TroubleTicketCreateEvent")
    receiver.always_fail = True
    await new_ticket(http, login)
    admin = await login("admin")

    async def failing():
        webhook = (await http.get(SUMMARY, headers=admin)).json().get("webhook")
        return webhook if webhook and webhook["state"] == "failing" else None

    webhook = await eventually(failing, what="the webhook channel failing")
    assert webhook["last_error"] == "listener answered 500" and webhook["last_outcome"] == "failed"
    receiver.always_fail = False

    async def recovered():
        current = (await http.get(SUMMARY, headers=admin)).json()["webhook"]
        if current["state"] == "ok":
            return current
        await env.sleep(timedelta(seconds=40))  # past the backoff
        return None

    assert (await eventually(recovered, what="the channel ok again"))["last_outcome"] == "delivered"


async def test_the_console_shows_each_channel_and_the_dead_letters(http, settings, sync_session):
    subject = unique("dead")
    with sync_session() as s:
        s.add(
            OutboxMessage(
                key=f"test|{subject}|user:nobody",
                event="test",
                subject=subject,
                recipient="user:nobody",
                channel="email",
                payload={},
                status="dead",
                attempts=6,
                last_error="user has no address for email",
            )
        )
        s.commit()
    try:
        admin_cookie, _ = new_session(settings, "admin")
        page = await http.get("/console/admin/outbox", headers={"Cookie": f"{SESSION_COOKIE}={admin_cookie}"})
        assert page.status_code == 200, page.text
        assert 'data-channel="email"' in page.text and "死信" in page.text  # zh-CN by default
        assert subject in page.text and "user has no address for email" in page.text
        agent_cookie, _ = new_session(settings, "agent1")
        refused = await http.get("/console/admin/outbox", headers={"Cookie": f"{SESSION_COOKIE}={agent_cookie}"})
        assert refused.status_code == 403
    finally:
        with sync_session() as s:
            s.execute(delete(OutboxMessage).where(OutboxMessage.subject == subject))
            s.commit()
