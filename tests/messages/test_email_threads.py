"""E-mail through the center's real SMTP receiver becomes a message thread with the deadlines of the message SLA
(DOMAIN.md §6): an urgent e-mail received on a Saturday is due to be acknowledged within 2 h, a general one within
48 h, a missed acknowledgement breaches; a message quoting the customer's own ticket number attaches to it."""

from __future__ import annotations

from datetime import UTC, timedelta

import aiosmtplib
import pytest
from sqlalchemy import select

from core.messages import ACKNOWLEDGE, ANSWER
from db.models import AuditEntry, Notification, SlaBreach
from tests.messages.mail import send_mail, thread_of_mail, thread_row
from tests.support import eventually, next_weekday_at, skip_to, workflow_tasks
from tests.tickets.http_helpers import TT, full_intake, routed

SENDER = "zhang.kehu@example.com"
SATURDAY = 5


@pytest.fixture(autouse=True)
def _real_clock(inbound):
    """Each test stamps what it receives itself; none inherits the previous test's instant."""
    inbound.received_at = None
    yield
    inbound.received_at = None


async def _saturday_morning(env, inbound):
    """Move the test server (and the receiver's clock) to the coming Saturday, 10:00 at the center."""
    saturday = next_weekday_at(await env.get_current_time(), SATURDAY, 10).astimezone(UTC)
    await skip_to(env, saturday)
    inbound.received_at = await env.get_current_time()
    return inbound.received_at


async def test_an_urgent_email_received_on_saturday_is_due_within_two_hours(env, inbound, sync_session):
    received = await _saturday_morning(env, inbound)
    message_id = await send_mail(
        inbound.port, sender=SENDER, subject="专线中断 请尽快处理", body="专线中断", urgent=True
    )
    row = await thread_of_mail(sync_session, message_id)
    assert row.channel == "email" and row.urgency == "urgent" and row.status == "received"
    assert row.received_at == received
    assert row.acknowledge_due - row.received_at == timedelta(hours=2)
    assert row.detail["received_on_working_day"] is False
    handle = env.client.get_workflow_handle(row.workflow_id)
    [task] = await eventually(lambda: workflow_tasks(handle, ACKNOWLEDGE), what="the acknowledgement task")
    assert task.due_at == row.acknowledge_due and task.priority == 100  # green channel: first in every inbox

    def notices():
        with sync_session() as s:
            told = s.scalars(select(Notification).where(Notification.workflow_id == row.workflow_id)).all()
        return told if {n.kind for n in told} >= {"assigned", "urgent"} else None  # supervisors told at once

    told = await eventually(lambda: _now(notices()), what="the agents and supervisors told")
    assert all(SENDER not in n.message for n in told)


async def test_a_general_email_received_on_saturday_is_due_within_48_hours_and_a_missed_acknowledgement_breaches(
    env, inbound, sync_session
):
    await _saturday_morning(env, inbound)
    message_id = await send_mail(inbound.port, sender=SENDER, subject="账单咨询", body="请问本月账单为何增加")
    row = await thread_of_mail(sync_session, message_id)
    assert row.urgency == "general"
    assert row.acknowledge_due - row.received_at == timedelta(hours=48)
    assert row.answer_due >= row.acknowledge_due
    await skip_to(env, row.acknowledge_due + timedelta(minutes=1))

    def breach():
        with sync_session() as s:
            return s.scalars(
                select(SlaBreach).where(SlaBreach.workflow_id == row.workflow_id, SlaBreach.kind == ACKNOWLEDGE)
            ).one_or_none()

    missed = await eventually(lambda: _now(breach()), what="the missed acknowledgement's breach")
    assert missed.due_at == row.acknowledge_due and missed.responsible == "role agent"
    with sync_session() as s:
        escalated = s.scalars(
            select(AuditEntry).where(AuditEntry.workflow_id == row.workflow_id, AuditEntry.action == "task.escalate")
        ).all()
        assert escalated
        answer_breach = s.scalars(
            select(SlaBreach).where(SlaBreach.workflow_id == row.workflow_id, SlaBreach.kind == ANSWER)
        ).all()
    assert answer_breach == [] or row.answer_due <= row.acknowledge_due + timedelta(minutes=1)


async def test_an_email_quoting_the_customers_ticket_number_attaches_to_that_ticket(
    env, inbound, http, login, sync_session
):
    agent = await login("agent1")
    intake = full_intake(contact=SENDER)
    created = await http.post(TT, json=intake, headers=agent)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    await routed(http, agent, number)
    message_id = await send_mail(
        inbound.port, sender=SENDER.upper(), subject=f"关于工单 {number} 的进展", body="请问何时上门？"
    )
    row = await thread_of_mail(sync_session, message_id)
    assert row.ticket_no == number
    assert (row.customer_id, row.customer_name) == (intake["customerId"], intake["customerName"])
    # A stranger quoting the same number attaches nothing: the ticket is the customer's.
    stranger = await send_mail(inbound.port, sender="other@example.net", subject=f"工单 {number}", body="进展如何")
    other = await thread_of_mail(sync_session, stranger)
    assert other.ticket_no is None and other.customer_id is None
    listed = await http.get("/api/messages", params={"ticket_no": number}, headers=agent)
    assert [t["thread_id"] for t in listed.json()["items"]] == [row.thread_id]
    assert listed.json()["items"][0]["contact"] == "Z***@EXAMPLE.COM"


async def test_the_same_email_twice_is_one_thread_and_a_reply_joins_its_thread(env, inbound, sync_session):
    message_id = await send_mail(inbound.port, sender=SENDER, subject="发票", body="请开具发票")
    row = await thread_of_mail(sync_session, message_id)
    await send_mail(inbound.port, sender=SENDER, subject="发票", body="请开具发票", message_id=message_id)
    await send_mail(inbound.port, sender=SENDER, subject=f"Re: [{row.thread_id}] 您的留言", body="抬头：华信物流")

    def entries():
        current = thread_row(sync_session, message_id)
        return current.detail["entries"] if current and len(current.detail["entries"]) == 2 else None

    joined = await eventually(lambda: _now(entries()), what="the reply joining the thread")
    assert [e["text"] for e in joined] == ["请开具发票", "抬头：华信物流"]
    with sync_session() as s:
        creates = s.scalars(select(AuditEntry).where(AuditEntry.action == "message.create")).all()
    assert sum(1 for c in creates if c.subject_id == row.thread_id) == 1


async def test_mail_without_text_or_sender_is_refused_permanently(inbound):
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send_mail(inbound.port, sender=SENDER, subject="空", body="   ")
    assert refused.value.code == 550


async def _now(value):
    return value
