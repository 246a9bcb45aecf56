"""Contact details typed into free text are masked in every view; the audited reveal shows them whole.

Views: the TMF ticket (create, get, list, PATCH and act responses), /api/tickets/{no} with its tasks, the task
inbox, notifications, the audit journal and the knowledge base.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import select

from db.models import AuditEntry, KnowledgeEntry
from tests.support import eventually
from tests.tickets.http_helpers import TT, act, full_intake, routed
from tests.tickets.test_survey_api import survey_token

MOBILE, LANDLINE, EMAIL, OTHER_MOBILE = "13912345678", "010-87654321", "li.si@example.com", "13700001111"
CLEAR = (MOBILE, LANDLINE, EMAIL, OTHER_MOBILE, "87654321", "li.si@")
DESCRIPTION = f"专线中断，客户张经理 {MOBILE}，座机 {LANDLINE}，邮箱 {EMAIL}"
SCENARIO = f"机房断电后，值班电话 {OTHER_MOBILE}"


def shows_clear(shown) -> list[str]:
    """The clear contact details a response (or a value) shows."""
    text = shown.text if hasattr(shown, "text") else json.dumps(shown, ensure_ascii=False, default=str)
    return [c for c in CLEAR if c in text]


@pytest_asyncio.fixture(loop_scope="session")
async def ticket(http, login):
    """A ticket whose description, scenario, progress log and extension request carry contact details."""
    agent, engineer = await login("agent1"), await login("engineer1")
    created = await http.post(TT, json=full_intake(description=DESCRIPTION, scenario=SCENARIO), headers=agent)
    assert created.status_code == 201, created.text
    assert not shows_clear(created) and "139****5678" in created.json()["description"]
    number = created.json()["id"]
    cap = (await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"]
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap})
    note = {"type": "log_progress", "kind": "customer_contact", "text": f"已致电 {MOBILE}", "outcome": EMAIL}
    logged = await act(http, engineer, number, note)
    assert not shows_clear(logged) and logged["note"][-1]["text"] == "已致电 139****5678"
    later = (datetime.fromisoformat(cap) + timedelta(days=1)).isoformat()
    extension = {"type": "request_extension", "new_expected_at": later, "reason": f"等客户回电 {MOBILE}"}
    await act(http, engineer, number, extension)
    return number


async def test_tmf_views_mask_free_text(http, login, ticket):
    agent = await login("agent1")
    one = await http.get(f"{TT}/{ticket}", headers=agent)
    assert one.status_code == 200 and not shows_clear(one), shows_clear(one)
    body = one.json()
    assert body["description"] == "专线中断，客户张经理 139****5678，座机 010*****4321，邮箱 l***@example.com"
    assert body["scenario"] == "机房断电后，值班电话 137****1111"
    assert [(n["text"], n["outcome"]) for n in body["note"]] == [("已致电 139****5678", "l***@example.com")]
    listed = await http.get(TT, params={"customerId": body["customerId"]}, headers=agent)
    assert [t["id"] for t in listed.json()] == [ticket] and not shows_clear(listed)
    picked = await http.get(f"{TT}/{ticket}", params={"fields": "description,scenario"}, headers=agent)
    assert picked.json()["scenario"] == body["scenario"] and not shows_clear(picked)
    patched = await http.patch(f"{TT}/{ticket}", json={"name": f"中断 {MOBILE}"}, headers=agent)
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "中断 139****5678" and not shows_clear(patched)


async def test_ticket_detail_tasks_and_notifications_mask_free_text(http, login, ticket):
    supervisor = await login("supervisor1")
    detail = await http.get(f"/api/tickets/{ticket}", headers=supervisor)
    assert detail.status_code == 200 and not shows_clear(detail)
    extension = next(t for t in detail.json()["tasks"] if t["kind"] == "extension")
    assert extension["subject"].endswith("等客户回电 139****5678")
    inbox = await http.get("/api/tasks", params={"business_ref": ticket, "scope": "all"}, headers=supervisor)
    assert any(t["kind"] == "extension" for t in inbox.json()["items"]) and not shows_clear(inbox)
    one = await http.get(f"/api/tasks/{extension['task_id']}", headers=supervisor)
    assert one.json()["subject"] == extension["subject"]
    decided = await http.post(
        f"/api/tasks/{extension['task_id']}/decision",
        json={"outcome": "approve", "comment": f"同意，已电话 {MOBILE} 确认"},
        headers=supervisor,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["comment"] == "同意，已电话 139****5678 确认" and not shows_clear(decided)
    notices = await http.get("/api/notifications", params={"workflow_id": f"ticket-{ticket}"}, headers=supervisor)
    assert notices.json()["items"] and not shows_clear(notices)
    journal = await http.get("/api/audit", params={"subject_id": ticket}, headers=await login("auditor1"))
    reasons = [r["reason"] for r in journal.json()["items"] if r["action"] == "ticket.request_extension"]
    assert reasons == ["等客户回电 139****5678"] and not shows_clear(journal)


async def test_the_reveal_shows_free_text_whole_and_is_journaled(http, login, ticket, sync_session):
    revealed = await http.post(
        f"/api/tickets/{ticket}/contact/reveal", json={"reason": "回访客户"}, headers=await login("engineer1")
    )
    assert revealed.status_code == 200, revealed.text
    texts = revealed.json()["texts"]
    assert texts["description"] == DESCRIPTION and texts["scenario"] == SCENARIO
    assert texts["note[0].text"] == f"已致电 {MOBILE}" and texts["note[0].outcome"] == EMAIL
    (subject,) = [v for k, v in texts.items() if k.startswith("tasks[") and k.endswith("].subject")]
    assert subject.endswith(f"等客户回电 {MOBILE}")
    with sync_session() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == ticket, AuditEntry.action == "ticket.contact.reveal")
        ).all()
    assert [(r.actor, r.reason, r.outcome) for r in rows] == [("engineer1", "回访客户", "accepted")]
    refused = await http.post(f"/api/tickets/{ticket}/contact/reveal", headers=await login("engineer2"))
    assert refused.status_code == 403 and not shows_clear(refused)


async def test_the_knowledge_base_archives_and_shows_free_text_masked(http, login, sync_session):
    agent, engineer = await login("agent1"), await login("engineer1")
    created = await http.post(TT, json=full_intake(description=DESCRIPTION, scenario=SCENARIO), headers=agent)
    number = created.json()["id"]
    cap = (await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"]
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap})
    work = {"type": "log_progress", "kind": "action", "text": f"更换光模块，告知 {EMAIL}", "is_plan": True}
    await act(http, engineer, number, work)
    resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": f"有问题拨 {LANDLINE}", "channel": "phone"}
    await act(http, engineer, number, {"type": "resolve", "resolution": resolution})
    answer = await http.post(
        f"/api/survey/{survey_token(sync_session, number)}", json={"resolved": True, "rating": "satisfied"}
    )
    assert answer.status_code == 200, answer.text
    await act(http, agent, number, {"type": "close"})

    async def archived():
        with sync_session() as s:
            return s.get(KnowledgeEntry, number)

    entry = await eventually(archived, what="ticket archived")
    stored = {k: getattr(entry, k) for k in ("title", "symptom", "cause", "solution", "advice", "search_terms")}
    assert not shows_clear(stored) and entry.advice == "有问题拨 010*****4321"
    found = await http.get("/api/knowledge", params={"ticket_no": number}, headers=await login("auditor1"))
    (item,) = found.json()["items"]
    assert not shows_clear(found) and item["symptom"].startswith("专线中断，客户张经理 139****5678")
    by_phone = await http.get("/api/knowledge", params={"text": MOBILE}, headers=agent)
    assert by_phone.json()["total"] == 0  # the index holds no phone number either


async def test_entries_archived_before_masking_are_masked_when_shown(http, login, sync_session):
    number = "CS190001037777"
    with sync_session() as s:
        s.merge(
            KnowledgeEntry(
                ticket_no=number,
                title="旧条目",
                symptom=f"客户 {MOBILE} 报修",
                cause="c",
                solution=f"发邮件到 {EMAIL}",
                advice="",
                categories=[],
                opened_at=datetime(2019, 1, 1, tzinfo=UTC),
                closed_at=datetime(2019, 1, 2, tzinfo=UTC),
                search_terms="旧条目",
            )
        )
        s.commit()
    try:
        found = await http.get("/api/knowledge", params={"ticket_no": number}, headers=await login("auditor1"))
        (item,) = found.json()["items"]
        assert (item["symptom"], item["solution"]) == ("客户 139****5678 报修", "发邮件到 l***@example.com")
    finally:
        with sync_session() as s:
            s.delete(s.get(KnowledgeEntry, number))
            s.commit()
