"""Staff notifications leave by the channels a user chose: a supervisor with e-mail on gets the urgent ticket's
alert, the 75 % reminder and the breach escalation in a real mailbox, contact details masked; the console rows stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.models import Notification
from infra.mail_sink import received_mail
from tests.support import eventually, unique
from tests.tickets.http_helpers import CONTACT, TT, full_intake, routed


async def test_a_supervisor_gets_reminders_and_breaches_by_email(http, login, env, mail_sink, dispatcher, sync_session):
    admin = await login("admin")
    username = unique("sup").replace("-", ".")
    address = f"{username}@example.com"
    created = await http.post(
        "/api/users",
        json={"username": username, "full_name": "值班主管", "password": "kexiang-demo-1", "roles": ["supervisor"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    changed = await http.patch(f"/api/users/{username}", json={"email": address, "notify_by": ["email"]}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == f"{username[0]}***@example.com" and changed.json()["notify_by"] == ["email"]
    assert (await http.patch(f"/api/users/{username}", json={"notify_by": ["fax"]}, headers=admin)).status_code == 422
    try:
        agent = await login("agent1")
        description = f"核心专线全断，客户回拨 {CONTACT}"
        number = (
            await http.post(TT, json=full_intake(priority="urgent", description=description), headers=agent)
        ).json()["id"]
        await routed(http, agent, number)

        def mine() -> list[dict]:
            return [m for m in received_mail(mail_sink[1]) if m["to"] == address]

        async def kinds_arrived():
            got = {m["subject"] for m in mine()}
            if {"[kexiang] remind", "[kexiang] escalate"} <= got:
                return got
            await env.sleep(timedelta(minutes=20))  # through the 2 h first-response budget, rung by rung
            return None

        subjects = await eventually(kinds_arrived, timeout=90, what="reminder and escalation mails")
        assert subjects
        bodies = {(m["subject"], m["body"].strip()) for m in mine()}
        assert any(kind == "[kexiang] remind" and "(75% of its time used)" in text for kind, text in bodies)
        assert any(kind == "[kexiang] escalate" and "(overdue)" in text for kind, text in bodies)  # the breach
        assert all(CONTACT not in m["body"] for m in mine())
        with sync_session() as s:
            console = s.scalars(select(Notification).where(Notification.workflow_id == f"ticket-{number}")).all()
        assert {n.kind for n in console} >= {"remind", "escalate"}
    finally:
        await http.patch(f"/api/users/{username}", json={"active": False}, headers=admin)
