"""Quiet hours: a non-urgent staff notification waits until a user's quiet hours end, an urgent one goes at once
(real SMTP, the dispatcher on the time-skipping clock)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from core.numbers import CENTER_ZONE
from core.outbox import is_urgent, quiet_hours_end
from core.records import NotificationRecord
from db.models import OutboxMessage
from db.outbox import enqueue_notification
from infra.mail_sink import received_mail
from tests.support import eventually, unique


def test_quiet_hours_end_within_a_day_and_across_midnight():
    at = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert quiet_hours_end(at, time(22), time(7), CENTER_ZONE) == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    early = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)  # 04:00 the next day in Shanghai
    assert quiet_hours_end(early, time(22), time(7), CENTER_ZONE) == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    assert quiet_hours_end(at, time(12), time(14), CENTER_ZONE) is None
    assert quiet_hours_end(datetime(2026, 12, 2, 4, 30, tzinfo=UTC), time(12), time(14), CENTER_ZONE) == datetime(
        2026, 12, 2, 6, 0, tzinfo=UTC
    )
    assert quiet_hours_end(at, None, None, CENTER_ZONE) is None
    assert is_urgent("escalate") and is_urgent("remind", breach=True) and is_urgent("remind", task_priority=100)
    assert not is_urgent("remind", task_priority=20) and not is_urgent("approval")


async def test_a_reminder_waits_out_quiet_hours_and_an_escalation_does_not(
    http, login, env, db, sync_session, mail_sink, dispatcher
):
    admin = await login("admin")
    username = unique("night").replace("-", ".")
    address = f"{username}@example.com"
    now = await env.get_current_time()
    local = now.astimezone(CENTER_ZONE)
    quiet = {
        "quiet_from": f"{(local - timedelta(hours=1)):%H:%M}",
        "quiet_until": f"{(local + timedelta(hours=2)):%H:%M}",
    }
    body = {"username": username, "full_name": "夜班主管", "password": "kexiang-demo-1", "roles": ["supervisor"]}
    assert (await http.post("/api/users", json=body, headers=admin)).status_code == 201
    half = await http.patch(f"/api/users/{username}", json={"quiet_from": "22:00"}, headers=admin)
    assert half.status_code == 422
    changed = await http.patch(
        f"/api/users/{username}", json={"email": address, "notify_by": ["email"], **quiet}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["quiet_from"].startswith(quiet["quiet_from"])
    workflow_id = unique("quiet")
    try:
        async with db.session() as session:
            for kind in ("remind", "escalate"):
                notice = NotificationRecord(
                    key=f"{workflow_id}:{kind}",
                    kind=kind,
                    message=f"{kind}: 工单 CS000 (75% of its time used)",
                    recipient_user=username,
                    workflow_id=workflow_id,
                    created_at=now,
                )
                await enqueue_notification(session, notice, urgent=is_urgent(kind))
            await session.commit()

        def mine(kind: str) -> list[dict]:
            return [
                m for m in received_mail(mail_sink[1]) if m["to"] == address and m["subject"] == f"[kexiang] {kind}"
            ]

        async def arrived(kind: str):
            return mine(kind) or None

        await eventually(lambda: arrived("escalate"), what="the escalation, at once")
        with sync_session() as s:
            held = s.scalars(select(OutboxMessage).where(OutboxMessage.subject == f"{workflow_id}~quiet")).one()
        end = held.next_attempt_at
        assert held.status == "pending" and mine("remind") == []
        assert end.astimezone(CENTER_ZONE).strftime("%H:%M") == quiet["quiet_until"]
        await env.sleep(end - await env.get_current_time() + timedelta(seconds=5))  # the quiet hours pass
        await eventually(lambda: arrived("remind"), what="the reminder once the quiet hours ended")
    finally:
        await http.patch(f"/api/users/{username}", json={"active": False}, headers=admin)
