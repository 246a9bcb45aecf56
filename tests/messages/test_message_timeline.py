"""The auditor's timeline covers a message thread: its start, both deadlines, the breach of a missed
acknowledgement, people's acts with their reasons, the refused act from the journal; contacts never whole."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support import eventually, skip_to, when

CUSTOMER_MAIL = "zhao.kehu@example.com"
MOBILE = "13712345678"


async def test_the_timeline_of_a_thread_shows_deadlines_breach_acts_and_refusals_masked(env, http, login):
    agent, engineer, auditor = await login("agent1"), await login("engineer1"), await login("auditor1")
    created = await http.post(
        "/api/messages",
        json={"contact": CUSTOMER_MAIL, "body": f"急！专线中断，请回电 {MOBILE}", "urgency": "urgent"},
        headers=agent,
    )
    assert created.status_code == 201, created.text
    thread_id = created.json()["thread"]["thread_id"]

    async def written():
        body = (await http.get(f"/api/messages/{thread_id}", headers=agent)).json()
        return body if len(body["tasks"]) == 2 else None

    thread = (await eventually(written, what="the thread's deadlines"))["thread"]
    await skip_to(env, when(thread["acknowledge_due"]) + timedelta(minutes=1))

    async def breached():
        body = (await http.get(f"/api/messages/{thread_id}", headers=agent)).json()
        return any(t["escalation_level"] for t in body["tasks"] if t["kind"] == "message_acknowledge") or None

    await eventually(breached, what="the missed acknowledgement escalated")
    refused = await http.post(f"/api/messages/{thread_id}/acts", json={"type": "acknowledge"}, headers=engineer)
    assert refused.status_code == 403
    later = (when(thread["answer_due"]) + timedelta(days=1)).isoformat()
    explained = await http.post(
        f"/api/messages/{thread_id}/acts",
        json={"type": "takes_longer", "explanation": f"需上门，改约时间，回电 {MOBILE}", "answer_by": later},
        headers=agent,
    )
    assert explained.status_code == 200, explained.text
    answered = await http.post(
        f"/api/messages/{thread_id}/acts", json={"type": "answer", "text": "已恢复"}, headers=agent
    )
    assert answered.status_code == 200, answered.text

    async def timeline():
        body = (await http.get("/api/audit/timeline", params={"ref": thread_id}, headers=auditor)).json()
        return body if any(e["action"] == "workflow.completed" for e in body["entries"]) else None

    body = await eventually(timeline, what="the finished thread's timeline")
    assert body["workflow_type"] == "MessageThread" and body["business_ref"] == thread_id
    actions = [e["action"] for e in body["entries"]]
    assert actions.count("task.opened") == 2
    assert {"workflow.started", "task.breach", "task.escalate", "message.takes_longer", "message.answer"} <= set(
        actions
    )
    [moved] = [e for e in body["entries"] if e["action"] == "task.due_moved"]
    assert moved["details"]["due_at"].startswith(later[:16])
    [act] = [e for e in body["entries"] if e["action"] == "message.takes_longer"]
    assert act["actor"] == "agent1" and act["reason"] == "需上门，改约时间，回电 137****5678"
    [refusal] = [e for e in body["entries"] if e["source"] == "journal" and e["outcome"] == "refused"]
    assert refusal["actor"] == "engineer1"
    text = json.dumps(body, ensure_ascii=False)
    assert CUSTOMER_MAIL not in text and MOBILE not in text
