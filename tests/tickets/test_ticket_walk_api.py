"""One ticket from intake to the knowledge base through HTTP only, as agent, handler, supervisor and customer."""

from __future__ import annotations

from datetime import datetime, timedelta

from db.models import KnowledgeEntry
from tests.support import MASKED, eventually
from tests.tickets.http_helpers import CONTACT, TT, act, full_intake, routed
from tests.tickets.test_survey_api import survey_token


async def test_walk_from_intake_to_archive(http, login, sync_session):
    agent, handler = await login("agent1"), await login("engineer1")
    supervisor, auditor = await login("supervisor1"), await login("auditor1")

    # Agent: registers the customer's call; the customer is told the number.
    created = await http.post(TT, json=full_intake(), headers=agent)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    assert number.startswith("CS") and len(number) == 14 and created.json()["contact"] == MASKED

    # Handler: finds it in the inbox, accepts with a promise within the cap.
    ticket = await routed(http, agent, number)
    inbox = (await http.get("/api/tasks", headers=handler)).json()["items"]
    assert any(t["business_ref"] == number and t["kind"] == "accept" for t in inbox)
    cap = ticket["sla"]["cycles"][0]["resolutionCap"]
    accepted = await act(http, handler, number, {"type": "accept", "expected_resolution_at": cap})
    assert accepted["ticketStatus"] == "in_progress"

    # Handler: asks in advance for more time; supervisor approves it from the inbox; the deadline moves.
    later = (datetime.fromisoformat(cap) + timedelta(days=1)).isoformat()
    await act(http, handler, number, {"type": "request_extension", "new_expected_at": later, "reason": "等待备件到货"})
    tasks = (await http.get("/api/tasks", headers=supervisor)).json()["items"]
    extension = next(t for t in tasks if t["business_ref"] == number and t["kind"] == "extension")
    decided = await http.post(
        f"/api/tasks/{extension['task_id']}/decision",
        json={"outcome": "approve", "comment": "同意"},
        headers=supervisor,
    )
    assert decided.status_code == 200 and decided.json()["decided_by"] == "supervisor1", decided.text
    moved = (await http.get(f"{TT}/{number}", headers=handler)).json()
    assert datetime.fromisoformat(moved["sla"]["cycles"][0]["resolutionDue"]) == datetime.fromisoformat(later)

    # Handler: logs the work and the customer contact, then resolves.
    await act(http, handler, number, {"type": "log_progress", "kind": "action", "text": "更换光模块", "is_plan": True})
    await act(
        http,
        handler,
        number,
        {"type": "log_progress", "kind": "customer_contact", "text": "电话告知客户", "outcome": "客户确认"},
    )
    resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": "定期巡检", "channel": "phone"}
    assert (await act(http, handler, number, {"type": "resolve", "resolution": resolution}))[
        "ticketStatus"
    ] == "pending_feedback"

    # Customer: answers the survey from the link in the resolution message, without logging in.
    token = survey_token(sync_session, number)
    answer = await http.post(f"/api/survey/{token}", json={"resolved": True, "rating": "satisfied"})
    assert answer.status_code == 200, answer.text

    # Agent: closes; the ticket is archived and searchable; nobody ever saw the contact in clear.
    closed = await act(http, agent, number, {"type": "close"})
    assert closed["status"] == "closed" and CONTACT not in str(closed)

    async def archived():
        with sync_session() as s:
            return s.get(KnowledgeEntry, number)

    await eventually(archived, what="ticket archived")
    found = await http.get("/api/knowledge", params={"text": "光模块", "ticket_no": number}, headers=auditor)
    assert number in [i["ticket_no"] for i in found.json()["items"]]
    history = await http.get(f"/api/tickets/{number}", headers=auditor)
    assert CONTACT not in history.text
