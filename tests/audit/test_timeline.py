"""A ticket's timeline and history for auditors, over the real API on the time-skipping server.

One ticket goes through an extension request, a refused approval (wrong role), the approval, and a
breach of its plan deadline; the auditor reads who did what and when, exports the history, and
replays it against today's code and against a deliberately changed ServiceTicket workflow.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from audit.replay import histories_in, replay
from tests.audit.test_history_export import payload_texts
from tests.replay.changed_workflows import ServiceTicketWithUnpatchedPause
from tests.support import MASKED, eventually, idle
from tests.tickets.http_helpers import CONTACT, act, create, full_intake, routed

REASON = f"客户 {CONTACT} 要求延期：等待备件"


async def timeline(http, login, ticket: dict[str, Any], *, user: str = "auditor1", **params):
    return await http.get(
        f"/api/audit/workflows/{ticket['workflow_id']}/timeline", params=params, headers=await login(user)
    )


@pytest_asyncio.fixture(scope="module")
async def ticket(env, http, login) -> AsyncIterator[dict[str, Any]]:
    """A ticket: accepted, extension requested, refused to the engineer, approved by a supervisor, plan breached."""
    agent, engineer, supervisor = await login("agent1"), await login("engineer1"), await login("supervisor1")
    created = await create(http, agent, full_intake())
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    cap = datetime.fromisoformat((await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"])
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap.isoformat()})
    later = (cap + timedelta(days=1)).isoformat()
    await act(http, engineer, number, {"type": "request_extension", "new_expected_at": later, "reason": REASON})
    tasks = (await http.get(f"/api/tickets/{number}", headers=agent)).json()["tasks"]
    extension = next(t for t in tasks if t["kind"] == "extension")
    decision = f"/api/tasks/{extension['task_id']}/decision"
    refused = await http.post(decision, json={"outcome": "approve"}, headers=engineer)
    assert refused.status_code == 403, refused.text
    approved = await http.post(decision, json={"outcome": "approve", "comment": "备件已下单"}, headers=supervisor)
    assert approved.status_code == 200, approved.text
    handle = env.client.get_workflow_handle(extension["workflow_id"])
    await env.sleep(timedelta(hours=25))  # the medium ticket's 24 h plan deadline passes unmet

    async def breached() -> dict | None:
        entries = (await timeline(http, login, {"workflow_id": handle.id})).json()["entries"]
        return (
            {"workflow_id": handle.id, "number": number, "refusal": refused.json()}
            if any(e["kind"] == "breach" for e in entries)
            else None
        )

    yield await eventually(breached, what="plan deadline breached")
    await eventually(lambda: idle(handle), what="workflow idle")
    await handle.terminate("test done")


def only(entries: list[dict], **match) -> dict:
    found = [e for e in entries if all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


async def test_extension_refused_approval_and_breach_each_show_actor_and_time(http, login, ticket):
    response = await timeline(http, login, ticket)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["workflow_type"], body["business_ref"]) == ("ServiceTicket", ticket["number"])
    entries = body["entries"]
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times)

    request = only(entries, action="ticket.request_extension")
    assert (request["actor"], request["roles"], request["source"], request["outcome"]) == (
        "engineer1",
        ["engineer"],
        "history",
        "accepted",
    )
    assert request["reason"] == REASON.replace(CONTACT, MASKED) and request["event_id"] > 0

    refusal = only(entries, outcome="refused")
    assert (refusal["actor"], refusal["roles"], refusal["action"], refusal["source"]) == (
        "engineer1",
        ["engineer"],
        "task.approve",
        "journal",
    )
    assert refusal["reason"] == ticket["refusal"]["detail"] and refusal["event_id"] is None
    assert refusal["subject"].startswith("task ") and ":extension:" in refusal["subject"]

    approval = only(entries, action="task.approve", source="history")
    assert (approval["actor"], approval["roles"], approval["reason"]) == ("supervisor1", ["supervisor"], "备件已下单")
    moved = only(entries, action="task.due_moved")
    assert moved["event_id"] > approval["event_id"] and moved["subject"].endswith(": resolve")

    breach = only(entries, kind="breach")
    assert breach["subject"].endswith("send the handling plan") and breach["details"]["responsible"] == "engineer1"
    assert datetime.fromisoformat(breach["at"]) >= datetime.fromisoformat(breach["details"]["due_at"])
    escalation = only(entries, kind="escalation")
    assert (escalation["actor"], escalation["event_id"]) == ("system", breach["event_id"])
    assert [e["kind"] for e in entries if e.get("details", {}).get("task_kind") == "plan"].count("reminder") == 2
    assert any(e["kind"] == "deadline" and e["action"] == "timer.started" and e["details"]["due_at"] for e in entries)
    assert any(e["kind"] == "activity" and e["action"] == "activity.completed" and e["outcome"] for e in entries)


async def test_customer_contact_stays_masked(http, login, ticket):
    text = (await timeline(http, login, ticket)).text
    assert CONTACT not in text and MASKED in text


async def test_timeline_by_ticket_number_and_by_kind(http, login, ticket):
    headers = await login("admin")
    by_ref = await http.get(
        "/api/audit/timeline", params={"ref": ticket["number"], "kinds": ["breach", "act"]}, headers=headers
    )
    assert by_ref.status_code == 200, by_ref.text
    assert by_ref.json()["workflow_id"] == ticket["workflow_id"]
    assert {e["kind"] for e in by_ref.json()["entries"]} == {"breach", "act"}
    unknown = await http.get("/api/audit/timeline", params={"ref": "CS209901010001"}, headers=headers)
    assert unknown.status_code == 404 and "ref" in unknown.json()["detail"]
    bad = await http.get("/api/audit/timeline", params={"ref": "CS' OR 1=1"}, headers=headers)
    assert bad.status_code == 422


@pytest.mark.parametrize("user", ["agent1", "supervisor1", "engineer1"])
async def test_only_auditors_and_admins_read_timelines(http, login, ticket, user):
    assert (await timeline(http, login, ticket, user=user)).status_code == 403
    by_ref = await http.get("/api/audit/timeline", params={"ref": ticket["number"]}, headers=await login(user))
    assert by_ref.status_code == 403


async def test_timeline_of_an_unknown_workflow_is_404(http, login):
    assert (await timeline(http, login, {"workflow_id": f"ticket-none-{uuid.uuid4().hex[:6]}"})).status_code == 404


async def test_ticket_history_exports_replays_cleanly_and_diverges_against_changed_code(
    env, http, login, converter, ticket
):
    """The issue's done-when, for a ticket: export through the API, replay clean, replay changed code → divergence."""
    auditor, workflow_id = await login("auditor1"), ticket["workflow_id"]
    stored = (await env.client.get_workflow_handle(workflow_id).fetch_history()).to_json_dict()
    assert not any(CONTACT.encode() in t for t in payload_texts(stored))
    export = await http.get(f"/api/audit/workflows/{workflow_id}/history", headers=auditor)
    assert export.status_code == 200, export.text
    document = export.json()
    assert any(CONTACT.encode() in t for t in payload_texts(document))
    response = await http.post(
        "/api/audit/replay", json={"histories": [{"workflow_id": workflow_id, "history": document}]}, headers=auditor
    )
    assert response.status_code == 200, response.text
    assert response.json()["summary"] == {"total": 1, "clean": 1, "diverged": 0}
    assert response.json()["verdicts"][0]["workflow_type"] == "ServiceTicket"
    changed = await replay(
        histories_in(json.loads(export.text), name="export", workflow_id=workflow_id),
        converter=converter,
        workflows=[ServiceTicketWithUnpatchedPause],
    )
    verdict = changed.verdicts[0]
    assert (verdict.ok, verdict.event_id, verdict.event_type) == (False, 5, "MarkerRecorded")
