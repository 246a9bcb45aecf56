"""Customer messages come from the templates an admin publishes (a versioned document): registration, resolution with
the survey link, the second follow-up contact; a customer who can only be phoned becomes a call task for the agent,
which never carries the survey link."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.message_templates import DEFAULT_TEMPLATES, MessageTemplates, placeholders, render, render_call
from db.models import CustomerMessage, Notification, OutboxMessage
from infra.mail_sink import received_mail
from tests.outbox.test_customer_messages import resolve
from tests.support import eventually

TEMPLATES = "/api/message-templates/customer"
EMAIL = "wang.kehu@example.com"
LANDLINE = "010-87654321"


async def _now(value):
    return value


def test_every_default_template_renders_its_fields_and_a_call_never_reads_the_link():
    fields = {"ticket_no": "CS202612020001", "cause": "光模块老化", "solution": "更换", "advice": "巡检"}
    fields |= {"survey_link": "https://kx.example/survey/SECRET", "rating": "dissatisfied", "order_id": "SO1"}
    fields |= {"step": "割接", "window_start": "2026-12-05 01:00", "window_end": "2026-12-05 05:00"}
    fields |= {"thread_id": "MT202612020001", "text": "已为您升级至 100M。"}
    for kind, template in DEFAULT_TEMPLATES.items():
        text = render(template.text, fields)
        assert "{" not in text and all(fields[name] in text for name in placeholders(template.text)), kind
        assert "SECRET" not in render_call(template, fields)
    with pytest.raises(ValueError, match="unknown placeholder"):
        MessageTemplates(name="customer", templates={"registration": {"subject": "s", "text": "{contact}"}})
    with pytest.raises(ValueError, match="survey link"):
        MessageTemplates(name="customer", templates={"resolution": {"subject": "s", "text": "{cause}"}})
    with pytest.raises(ValueError, match="the reply"):
        MessageTemplates(name="customer", templates={"thread_reply": {"subject": "[{thread_id}]", "text": "您好"}})
    with pytest.raises(ValueError, match="thread number"):
        MessageTemplates(name="customer", templates={"thread_reply": {"subject": "您的留言", "text": "{text}"}})
    with pytest.raises(ValueError, match="text only"):
        MessageTemplates(
            name="customer", templates={"resolution": {"subject": "{survey_link}", "text": "{survey_link}"}}
        )
    with pytest.raises(ValueError, match="literal brace"):
        placeholders("工单 {ticket_no")


async def test_admins_publish_versions_and_bad_ones_are_refused(http, login):
    admin = await login("admin")
    before = (await http.get(TEMPLATES, headers=admin)).status_code
    bad = {"templates": {"registration": {"subject": "s", "text": "客户 {customer_name}"}}}
    refused = await http.post(TEMPLATES, json=bad, headers=admin)
    assert refused.status_code == 422 and "unknown placeholder {customer_name}" in refused.json()["detail"]
    assert (await http.get(TEMPLATES, headers=admin)).status_code == before  # nothing stored
    other = await http.post("/api/message-templates/other", json={"templates": {}}, headers=admin)
    assert other.status_code == 422
    agent = await login("agent1")
    assert (await http.post(TEMPLATES, json={"templates": {}}, headers=agent)).status_code == 403


async def test_published_templates_shape_the_messages_and_a_dissatisfied_rating_brings_the_second_followup(
    http, login, sync_session, mail_sink, dispatcher
):
    admin = await login("admin")
    custom = {
        "templates": {
            "registration": {"subject": "受理 {ticket_no}", "text": "模板二：工单 {ticket_no} 已登记。"},
            "second_followup": {"subject": "回访 {ticket_no}", "text": "您的评价（{rating}）已收到，我们会再联系您。"},
        }
    }
    published = await http.post(TEMPLATES, json=custom, headers=admin)
    assert published.status_code == 201, published.text
    try:
        number = await resolve(http, login, contact=EMAIL, preferredChannel="email", channel={"id": "email"})

        async def mail(subject: str):
            found = [m for m in received_mail(mail_sink[1]) if m["subject"] == subject and m["to"] == EMAIL]
            return found[0] if found else None

        registered = await eventually(lambda: mail(f"受理 {number}"), what="the registration mail")
        assert registered["body"].strip() == f"模板二：工单 {number} 已登记。"
        resolved = await eventually(
            lambda: mail(DEFAULT_TEMPLATES["resolution"].subject.format(ticket_no=number)), what="the resolution"
        )
        assert all(part in resolved["body"] for part in ("光模块老化", "更换光模块", "定期巡检", "/survey/"))
        token = resolved["body"].strip().rsplit("/", 1)[1]
        answer = await http.post(f"/api/survey/{token}", json={"resolved": True, "rating": "dissatisfied"})
        assert answer.status_code == 200, answer.text
        followup = await eventually(lambda: mail(f"回访 {number}"), what="the second follow-up mail")
        assert followup["body"].strip() == "您的评价（dissatisfied）已收到，我们会再联系您。"
        with sync_session() as s:
            versions = s.scalars(select(OutboxMessage.payload).where(OutboxMessage.subject == number)).all()
        assert {p["kind"]: p["templates_version"] for p in versions} == {
            "registration": published.json()["version"],
            "resolution": published.json()["version"],
            "second_followup": published.json()["version"],
        }
    finally:
        restored = await http.post(TEMPLATES, json={"templates": {}}, headers=admin)  # the built-in ones again
        assert restored.status_code == 201


async def test_a_landline_customer_is_called_by_the_agent_and_the_call_task_holds_no_link(http, login, sync_session):
    number = await resolve(http, login, contact=LANDLINE)
    with sync_session() as s:
        calls = s.scalars(
            select(Notification).where(
                Notification.workflow_id == f"ticket-{number}", Notification.kind == "customer_call"
            )
        ).all()
        stored = s.scalars(select(CustomerMessage).where(CustomerMessage.ticket_no == number)).all()
        queued = s.scalars(select(OutboxMessage).where(OutboxMessage.subject == number)).all()
    by_user = {c.recipient_user: c.message for c in calls}
    assert set(by_user) == {"agent1", "engineer1"}  # the first responder registers, the handler resolves
    assert f"工单号 {number}" in by_user["agent1"]
    assert "光模块老化" in by_user["engineer1"] and "/survey/" not in by_user["engineer1"]
    assert {m.kind: m.channel for m in stored} == {"registration": "phone", "resolution": "phone"}
    assert "/survey/" in next(m.body for m in stored if m.kind == "resolution")  # kept for the record, hashed too
    assert queued == []  # nothing to send in writing
