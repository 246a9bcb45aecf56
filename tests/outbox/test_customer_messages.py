"""Customer messages actually leave: the resolution message with the survey link reaches a real SMTP server (an
e-mail contact) or the SMS gateway (a mobile contact), `sent_at` is set, and the delivery log shows the attempt."""

from __future__ import annotations

from sqlalchemy import select

from core.outbox import OutboxChannel
from db.models import CustomerMessage, OutboxAttempt, OutboxMessage, User
from db.outbox import enqueue
from infra.mail_sink import received_mail
from tests.support import eventually, unique
from tests.tickets.http_helpers import CONTACT, TT, act, full_intake, routed

EMAIL = "lin.kehu@example.com"


async def resolve(http, login, **intake) -> str:
    """A ticket registered by agent1, accepted, logged and resolved by engineer1; its number."""
    agent, engineer = await login("agent1"), await login("engineer1")
    created = await http.post(TT, json=full_intake(**intake), headers=agent)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    cap = (await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"]
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap})
    await act(http, engineer, number, {"type": "log_progress", "kind": "action", "text": "更换光模块", "is_plan": True})
    channel = intake.get("preferredChannel", "phone")
    resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": "定期巡检", "channel": channel}
    await act(http, engineer, number, {"type": "resolve", "resolution": resolution})
    return number


async def _now(value):
    return value


async def sent_message(sync_session, number: str, kind: str) -> CustomerMessage | None:
    """The ticket's message of this kind once it was delivered."""
    with sync_session() as s:
        row = s.scalars(
            select(CustomerMessage).where(CustomerMessage.ticket_no == number, CustomerMessage.kind == kind)
        ).one_or_none()
        return row if row is not None and row.sent_at is not None else None


def outbox_rows(sync_session, number: str) -> list[tuple[OutboxMessage, list[OutboxAttempt]]]:
    """The ticket's outbox messages with their delivery logs."""
    with sync_session() as s:
        messages = s.scalars(
            select(OutboxMessage).where(OutboxMessage.subject == number).order_by(OutboxMessage.id)
        ).all()
        return [
            (m, list(s.scalars(select(OutboxAttempt).where(OutboxAttempt.message_id == m.id)).all())) for m in messages
        ]


async def test_resolution_and_survey_link_reach_the_customer_by_email(http, login, sync_session, mail_sink, dispatcher):
    number = await resolve(http, login, contact=EMAIL, preferredChannel="email", channel={"id": "email"})

    def mails(kind: str) -> list[dict]:
        return [m for m in received_mail(mail_sink[1]) if f"{number} {kind}" in (m["subject"] or "")]

    registered = (await eventually(lambda: _now(mails("已受理")), what="the registration mail"))[0]
    assert registered["to"] == EMAIL and f"工单号 {number}" in registered["body"]
    mail = (await eventually(lambda: _now(mails("已处理")), what="the resolution mail"))[0]
    assert mail["to"] == EMAIL
    assert "Cause: 光模块老化" in mail["body"] and "/survey/" in mail["body"]
    stored = await eventually(lambda: sent_message(sync_session, number, "resolution"), what="sent_at set")
    assert stored.body.strip() == mail["body"].strip()  # the survey link went out once, as stored
    rows = outbox_rows(sync_session, number)
    assert [(m.channel, m.status, m.recipient) for m, _ in rows] == [("email", "delivered", f"customer:{number}")] * 2
    assert all(EMAIL not in str(m.payload) and [a.outcome for a in log] == ["delivered"] for m, log in rows)
    assert mail["message_id"] == f"<msg_{rows[-1][0].id}@kexiang>"


async def test_mobile_contact_gets_the_resolution_by_sms(http, login, sync_session, sms_gateway, dispatcher):
    number = await resolve(http, login)

    async def texted():
        return [m for m in sms_gateway[1].state.messages.values() if "光模块老化" in m["text"] and m["to"] == CONTACT]

    await eventually(lambda: sent_message(sync_session, number, "resolution"), what="sent_at set")
    assert await texted()
    message, log = outbox_rows(sync_session, number)[-1]
    assert message.channel == "sms" and [a.outcome for a in log] == ["delivered"]
    # the admins' view names the recipient by reference, never by number
    view = await http.get(f"/api/outbox/{message.id}", headers=await login("admin"))
    assert view.status_code == 200 and CONTACT not in view.text and view.json()["log"][0]["outcome"] == "delivered"


async def test_a_malformed_message_is_dead_at_once_and_the_rest_still_go(db, sync_session, sms_gateway, dispatcher):
    username = unique("broken")
    with sync_session() as s:
        s.add(
            User(
                username=username,
                full_name="broken address",
                password_hash="x",
                roles=["supervisor"],
                email="a@example.com\nBcc: someone@example.com",
                mobile="13900001111",
                notify_by=["email", "sms"],
                active=True,
            )
        )
        s.commit()
    subject = unique("staff")
    try:
        async with db.session() as session:
            for channel in (OutboxChannel.EMAIL, OutboxChannel.SMS):
                await enqueue(
                    session,
                    event=f"notification:test:{channel.value}",
                    subject=subject,
                    recipient=f"user:{username}",
                    channel=channel,
                    payload={"subject": "[kexiang] remind", "text": "提醒"},
                )
            await session.commit()

        async def settled():
            with sync_session() as s:
                rows = s.scalars(select(OutboxMessage).where(OutboxMessage.subject == subject)).all()
                return {r.channel: (r.status, r.attempts, r.last_error) for r in rows if r.status != "pending"}

        outcome = await eventually(lambda: _both(settled), what="both messages settled")
        assert outcome == {"email": ("dead", 1, "malformed message: ValueError"), "sms": ("delivered", 1, None)}
    finally:
        with sync_session() as s:
            s.scalars(select(User).where(User.username == username)).one().active = False
            s.commit()


async def _both(probe):
    found = await probe()
    return found if len(found) == 2 else None
