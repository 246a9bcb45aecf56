"""Ticket acts over plain REST (/api/tickets/{no}/acts) and the ticket view with its tasks."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import pytest_asyncio

from db.tickets import workflow_id_for
from tests.support import MASKED, audit_rows, count_audit
from tests.tickets.http_helpers import CONTACT, TT, act, full_intake, routed


@pytest_asyncio.fixture(loop_scope="session")
async def accepted(http, login) -> str:
    """A routed ticket accepted by engineer1 (hardware engineering)."""
    number = (await http.post(TT, json=full_intake(), headers=await login("agent1"))).json()["id"]
    cap = (await routed(http, await login("agent1"), number))["sla"]["cycles"][0]["resolutionCap"]
    body = await act(http, await login("engineer1"), number, {"type": "accept", "expected_resolution_at": cap})
    assert body["ticketStatus"] == "in_progress" and body["contact"] == MASKED
    return number


async def test_ticket_view_lists_its_tasks(http, login):
    number = (await http.post(TT, json=full_intake(), headers=await login("agent1"))).json()["id"]
    await routed(http, await login("agent1"), number)
    detail = await http.get(f"/api/tickets/{number}", headers=await login("auditor1"))
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["ticket"]["id"] == number and CONTACT not in detail.text
    accept = next(t for t in body["tasks"] if t["kind"] == "accept")
    assert (accept["status"], accept["candidate_department"], accept["business_ref"]) == (
        "open",
        "hardware-engineering",
        number,
    )


async def test_progress_log_and_idempotent_retry(http, login, accepted, sync_session):
    engineer = await login("engineer1")
    key = uuid.uuid4().hex
    entry = {"type": "log_progress", "kind": "customer_contact", "text": "电话告知客户处理进展", "outcome": "客户知悉"}
    first = await act(http, engineer, accepted, entry, **{"Idempotency-Key": key})
    again = await act(http, engineer, accepted, entry, **{"Idempotency-Key": key})
    assert first["note"] == again["note"]
    assert [(n["noteType"], n["text"], n["outcome"], n["author"]) for n in again["note"]] == [
        ("customer_contact", "电话告知客户处理进展", "客户知悉", "engineer1")
    ]
    assert count_audit(sync_session, request_id=key) == 1


async def test_extension_request_opens_a_supervisor_task(http, login, accepted):
    engineer = await login("engineer1")
    ticket = (await http.get(f"{TT}/{accepted}", headers=engineer)).json()
    later = datetime.fromisoformat(ticket["expectedResolutionDate"]) + timedelta(days=1)
    body = await act(
        http,
        engineer,
        accepted,
        {"type": "request_extension", "new_expected_at": later.isoformat(), "reason": "等待备件"},
    )
    assert body["status"] == "inProgress"
    tasks = (await http.get(f"/api/tickets/{accepted}", headers=await login("supervisor1"))).json()["tasks"]
    extension = next(t for t in tasks if t["kind"] == "extension")
    assert (extension["status"], extension["requested_by"], extension["candidate_roles"]) == (
        "open",
        "engineer1",
        ["supervisor"],
    )


@pytest.mark.parametrize(
    ("who", "body", "status", "words"),
    [
        ("engineer2", {"type": "log_progress", "kind": "action", "text": "x"}, 403, "only the handler (engineer1)"),
        ("engineer1", {"type": "close"}, 409, "close: not allowed while the ticket is in_progress"),
        ("engineer1", {"type": "resume"}, 409, "resume: not allowed"),
    ],
)
async def test_refused_acts_are_journaled(http, login, accepted, sync_session, who, body, status, words):
    before = count_audit(sync_session, subject_id=accepted, outcome="refused")
    response = await http.post(f"/api/tickets/{accepted}/acts", json=body, headers=await login(who))
    assert response.status_code == status and words in response.json()["detail"], response.text
    rows = audit_rows(sync_session, subject_id=accepted, outcome="refused")
    assert len(rows) == before + 1 and (rows[-1].actor, rows[-1].action) == (who, f"ticket.{body['type']}")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"type": "accept"}, "accept.expected_resolution_at: Field required"),
        ({"type": "fly"}, "body: Input tag 'fly' found using 'type' does not match"),
        ({"type": "customer_feedback", "resolved": True}, "customer_feedback"),  # only through the survey
        (
            {"type": "log_progress", "kind": "action", "text": "x", "actor": {"username": "supervisor1"}},
            "log_progress.actor: Extra inputs",
        ),
        (
            {"type": "amend_intake", "changes": {"contact": CONTACT + "9" * 200}},
            "amend_intake.changes.contact: String should have at most 200",
        ),
        (
            {"type": "amend_intake", "changes": {"occurred_at": "2099-01-01T08:00:00+08:00"}},
            "changes.occurred_at: must not be in the future",
        ),
        ({"type": "amend_intake", "changes": {"customer_id": None}}, "changes.customer_id: cannot be removed"),
    ],
)
async def test_malformed_acts_are_422_naming_the_field(http, login, accepted, body, words):
    response = await http.post(f"/api/tickets/{accepted}/acts", json=body, headers=await login("agent1"))
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"] and CONTACT not in response.text


async def test_act_gates(http, login, sync_session, accepted):
    unknown = await http.post("/api/tickets/CS190001010001/acts", json={"type": "close"}, headers=await login("agent1"))
    assert unknown.status_code == 404
    path = f"/api/tickets/{accepted}/acts"
    before = count_audit(sync_session, actor="auditor1", subject_id=path, outcome="refused")
    auditor = await http.post(path, json={"type": "close"}, headers=await login("auditor1"))
    assert auditor.status_code == 403
    assert count_audit(sync_session, actor="auditor1", subject_id=path, outcome="refused") == before + 1


async def test_the_handler_may_reveal_the_contact(http, login, accepted, sync_session):
    path = f"/api/tickets/{accepted}/contact/reveal"
    revealed = await http.post(path, json={"reason": "回访客户"}, headers=await login("engineer1"))
    assert revealed.status_code == 200 and revealed.json()["contact"] == CONTACT
    other = await http.post(path, headers=await login("engineer2"))
    assert other.status_code == 403 and CONTACT not in other.text
    rows = audit_rows(sync_session, subject_id=accepted, action="ticket.contact.reveal")
    assert [(r.actor, r.outcome) for r in rows] == [("engineer1", "accepted"), ("engineer2", "refused")]


async def test_an_act_right_after_the_create_waits_for_registration_instead_of_being_refused(
    http, login, env, sync_session
):
    """The first accept, sent the moment the create answered, is accepted: no 409, no refused journal row."""
    number = (await http.post(TT, json=full_intake(), headers=await login("agent1"))).json()["id"]
    try:
        soon = (await env.get_current_time()) + timedelta(hours=1)
        body = await act(
            http, await login("engineer1"), number, {"type": "accept", "expected_resolution_at": soon.isoformat()}
        )
        assert body["ticketStatus"] == "in_progress"
        assert count_audit(sync_session, subject_id=number, outcome="refused") == 0
        assert count_audit(sync_session, subject_id=number, action="ticket.accept", outcome="accepted") == 1
    finally:  # its deadline timers would otherwise slow every later time skip
        await env.client.get_workflow_handle(workflow_id_for(number)).terminate("test over")
