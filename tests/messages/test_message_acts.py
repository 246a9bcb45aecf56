"""Online messages and the acts on a thread over the API: acknowledge and answer reach the customer through the
outbox, mark complex moves the answer to the complex budget, "takes longer" needs an explanation (sent to the
customer) before the due time and is refused after it. Refusals are 4xx, journaled, and change nothing; the
customer's contact is masked wherever the thread is shown."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.calendar import default_cn_calendar
from core.sla import default_sla_policy
from db.models import AuditEntry, CustomerMessage, MessageThreadRow
from infra.mail_sink import received_mail
from tests.support import eventually, skip_to, unique, when

CUSTOMER_MAIL = "li.kehu@example.com"
MOBILE = "13812345678"


async def _online(http, headers, **changes) -> dict:
    body = {
        "contact": CUSTOMER_MAIL,
        "subject": "专线带宽咨询",
        "body": f"请回电 {MOBILE}，咨询带宽升级",
        "customer_id": unique("C"),
        "customer_name": "华信物流有限公司",
        **changes,
    }
    created = await http.post("/api/messages", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["thread"]


async def _thread(http, headers, thread_id: str, *, revision: int = 1) -> dict:
    async def probe():
        body = (await http.get(f"/api/messages/{thread_id}", headers=headers)).json()
        return body if body["thread"]["revision"] >= revision and len(body["tasks"]) == 2 else None

    return await eventually(probe, what=f"{thread_id} written by its workflow")


async def _act(http, headers, thread_id: str, body: dict, status: int = 200) -> dict:
    response = await http.post(f"/api/messages/{thread_id}/acts", json=body, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


def _row(sync_session, thread_id: str) -> MessageThreadRow:
    with sync_session() as s:
        row = s.get(MessageThreadRow, thread_id)
        assert row is not None
        s.expunge(row)
        return row


async def test_an_online_message_is_acknowledged_marked_complex_explained_and_answered(
    http, login, sync_session, mail_sink, dispatcher
):
    agent = await login("agent1")
    thread = await _online(http, agent)
    thread_id = thread["thread_id"]
    shown = await _thread(http, agent, thread_id)
    assert shown["thread"]["request"]["contact"] == "l***@example.com"
    assert MOBILE not in str(shown) and CUSTOMER_MAIL not in str(shown)
    assert "138****5678" in shown["thread"]["request"]["body"]
    received = when(shown["thread"]["request"]["received_at"])
    answer_due = when(shown["thread"]["answer_due"])

    acknowledged = await _act(http, agent, thread_id, {"type": "acknowledge"})
    assert acknowledged["thread"]["status"] == "acknowledged"
    [ack] = [t for t in acknowledged["tasks"] if t["kind"] == "message_acknowledge"]
    assert ack["status"] == "done" and ack["outcome"] == "acknowledged"

    def mails() -> list[dict]:
        return [m for m in received_mail(mail_sink[1]) if f"[{thread_id}]" in (m["subject"] or "")]

    [first] = await eventually(lambda: _now(mails() or None), what="the acknowledgement reaching the customer")
    assert first["to"] == CUSTOMER_MAIL and thread_id in first["body"]

    complex_ = await _act(http, agent, thread_id, {"type": "mark_complex", "reason": "需网络部核查"})
    calendar = default_cn_calendar()
    assert when(complex_["thread"]["answer_due"]) == max(answer_due, calendar.add_working_hours(received, 48))
    [answer_task] = [t for t in complex_["tasks"] if t["kind"] == "message_answer"]
    assert when(answer_task["due_at"]) == when(complex_["thread"]["answer_due"])

    later = when(complex_["thread"]["answer_due"]) + timedelta(days=2)
    no_reason = await http.post(
        f"/api/messages/{thread_id}/acts", json={"type": "takes_longer", "answer_by": later.isoformat()}, headers=agent
    )
    assert no_reason.status_code == 422
    explained = await _act(
        http,
        agent,
        thread_id,
        {"type": "takes_longer", "explanation": "需更换设备，预计两天后答复，敬请谅解", "answer_by": later.isoformat()},
    )
    assert when(explained["thread"]["answer_due"]) == later
    assert explained["thread"]["entries"][-1]["kind"] == "explanation"

    answered = await _act(http, agent, thread_id, {"type": "answer", "text": "已为您升级至 100M，请确认。"})
    assert answered["thread"]["status"] == "answered"
    kinds = [e["kind"] for e in answered["thread"]["entries"]]
    assert kinds == ["message", "acknowledgement", "explanation", "answer"]
    await eventually(lambda: _now(len(mails()) == 3 or None), what="explanation and answer reaching the customer")
    with sync_session() as s:
        sent = s.scalars(select(CustomerMessage).where(CustomerMessage.thread_id == thread_id)).all()
        assert sorted(m.kind for m in sent) == ["acknowledgement", "answer", "explanation"]
        actions = [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.subject_id == thread_id)).all()]
    assert {
        "message.create",
        "message.acknowledge",
        "message.mark_complex",
        "message.takes_longer",
        "message.answer",
    } <= set(actions)
    again = await http.post(f"/api/messages/{thread_id}/acts", json={"type": "answer", "text": "再次"}, headers=agent)
    assert again.status_code == 409


async def test_refused_acts_are_4xx_journaled_and_change_nothing(http, login, sync_session):
    agent, engineer, auditor = await login("agent1"), await login("engineer1"), await login("auditor1")
    thread_id = (await _online(http, agent))["thread_id"]
    before = (await _thread(http, agent, thread_id))["thread"]
    refusals = [
        (engineer, {"type": "acknowledge"}, 403),  # not an agent or supervisor
        (auditor, {"type": "acknowledge"}, 403),  # auditors never act
        (agent, {"type": "follow_up", "text": "x", "received_at": before["request"]["received_at"]}, 422),
        (agent, {"type": "answer", "text": ""}, 422),
        (agent, {"type": "takes_longer", "explanation": "稍后", "answer_by": before["answer_due"]}, 422),
        (agent, {"type": "nonsense"}, 422),
    ]
    for headers, body, status in refusals:
        response = await http.post(f"/api/messages/{thread_id}/acts", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
    assert (
        await http.post("/api/messages/MS20260101ABCDEF/acts", json={"type": "acknowledge"}, headers=agent)
    ).status_code == 404
    after = (await http.get(f"/api/messages/{thread_id}", headers=agent)).json()["thread"]
    assert after == before
    with sync_session() as s:
        refused = s.scalars(
            select(AuditEntry).where(AuditEntry.subject_id == thread_id, AuditEntry.outcome == "refused")
        ).all()
    assert {r.actor for r in refused} >= {"engineer1"}
    assert all(CUSTOMER_MAIL not in (r.reason or "") for r in refused)
    stranger = await http.post(
        "/api/messages", json={"contact": CUSTOMER_MAIL, "body": "x"}, headers=engineer
    )  # only agents and supervisors register messages
    assert stranger.status_code == 403
    empty = await http.post("/api/messages", json={"contact": CUSTOMER_MAIL, "body": ""}, headers=agent)
    assert empty.status_code == 422
    # The message SLA is versioned policy data: a version that leaves a kind of message without a budget is refused.
    policy = default_sla_policy().model_dump(mode="json")
    policy["messages"]["acknowledge"] = [{"urgency": "urgent", "budget": {"amount": 2, "unit": "hours"}}]
    name = unique("policy")
    published = await http.post(f"/api/sla-policies/{name}", json=policy, headers=await login("admin"))
    assert published.status_code == 422 and "no rule for a general email message" in published.text
    assert (await http.get(f"/api/sla-policies/{name}", headers=agent)).status_code == 404


async def test_takes_longer_is_refused_once_the_answer_is_due(env, http, login, sync_session):
    agent = await login("agent1")
    thread_id = (await _online(http, agent, urgency="urgent"))["thread_id"]
    shown = (await _thread(http, agent, thread_id))["thread"]
    assert when(shown["acknowledge_due"]) - when(shown["request"]["received_at"]) == timedelta(hours=2)
    due = when(shown["answer_due"])
    await skip_to(env, due + timedelta(minutes=1))
    late = await http.post(
        f"/api/messages/{thread_id}/acts",
        json={"type": "takes_longer", "explanation": "抱歉", "answer_by": (due + timedelta(days=1)).isoformat()},
        headers=agent,
    )
    assert late.status_code == 409 and "before the answer is due" in late.json()["detail"]
    assert _row(sync_session, thread_id).answer_due == due


async def _now(value):
    return value
