"""The satisfaction survey over HTTP: no login, unguessable token, answered once, identifies no one."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select

from db.models import AuditEntry, CustomerMessage, KnowledgeEntry, Survey
from db.surveys import token_hash
from tests.support import audit_rows, eventually
from tests.tickets.http_helpers import CONTACT, TT, act, full_intake, registered, routed

SURVEY_LINK = re.compile(r"/([A-Za-z0-9_-]{43})\s*$")


def stored_survey(sync_session, *, answered: bool = False) -> str:
    """A survey row written by hand (the workflow's part is tested below); returns the token."""
    token = secrets.token_hex(32)
    with sync_session() as s:
        s.add(
            Survey(
                token_hash=token_hash(token), workflow_id="ticket-CS190001019999", ticket_no="CS190001019999", cycle=1
            )
        )
        s.commit()
        if answered:
            row = s.get(Survey, token_hash(token))
            row.answered_at = row.created_at
            s.commit()
    return token


async def test_unknown_token_is_404_without_login(http):
    token = secrets.token_hex(32)
    assert (await http.get(f"/api/survey/{token}")).status_code == 404
    answer = await http.post(f"/api/survey/{token}", json={"resolved": True, "rating": "satisfied"})
    assert answer.status_code == 404 and answer.json()["detail"] == "no such survey"
    assert (await http.get("/api/survey/short")).status_code == 422


async def test_survey_shows_only_the_questions(http, sync_session):
    token = stored_survey(sync_session)
    response = await http.get(f"/api/survey/{token}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answered"] is False
    assert [q["name"] for q in body["questions"]] == ["resolved", "rating", "comment"]
    assert body["questions"][1]["choices"] == ["satisfied", "neutral", "dissatisfied"]
    assert "CS19000101" not in response.text and "ticket" not in response.text


async def test_answered_survey_is_409(http, sync_session):
    token = stored_survey(sync_session, answered=True)
    assert (await http.get(f"/api/survey/{token}")).json()["answered"] is True
    response = await http.post(f"/api/survey/{token}", json={"resolved": True, "rating": "neutral"})
    assert response.status_code == 409 and response.json()["detail"] == "this survey was already answered"


async def test_malformed_answer_is_422(http, sync_session):
    token = stored_survey(sync_session)
    response = await http.post(f"/api/survey/{token}", json={"resolved": True, "rating": "great"})
    assert response.status_code == 422 and "rating" in response.text
    assert (await http.get(f"/api/survey/{token}")).json()["answered"] is False


# ---- with the ServiceTicket workflow ---------------------------------------------------------------------


async def resolved_ticket(http, login, sync_session) -> tuple[str, str]:
    """A ticket registered by agent1, accepted, logged and resolved by engineer1; returns (number, survey token)."""
    agent, engineer = await login("agent1"), await login("engineer1")
    number = (await http.post(TT, json=full_intake(), headers=agent)).json()["id"]
    cap = (await routed(http, agent, number))["sla"]["cycles"][0]["resolutionCap"]
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap})
    await act(
        http, engineer, number, {"type": "log_progress", "kind": "action", "text": "更换光模块并测试", "is_plan": True}
    )
    resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": "定期巡检", "channel": "phone"}
    body = await act(http, engineer, number, {"type": "resolve", "resolution": resolution})
    assert body["status"] == "resolved" and body["ticketStatus"] == "pending_feedback"
    return number, survey_token(sync_session, number)


def survey_token(sync_session, number: str) -> str:
    """The token from the link in the resolution message queued for the customer (the resolve act waited for it)."""
    with sync_session() as s:
        message = s.scalars(
            select(CustomerMessage).where(CustomerMessage.ticket_no == number, CustomerMessage.kind == "resolution")
        ).one()
    return SURVEY_LINK.search(message.body).group(1)


async def test_customer_answers_then_the_ticket_closes_and_is_archived(http, login, sync_session):
    number, token = await resolved_ticket(http, login, sync_session)
    shown = await http.get(f"/api/survey/{token}")
    assert shown.status_code == 200 and shown.json()["answered"] is False and number not in shown.text
    answer = await http.post(
        f"/api/survey/{token}", json={"resolved": True, "rating": "satisfied", "comment": "很快，谢谢"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["answered"] is True and number not in answer.text
    again = await http.post(f"/api/survey/{token}", json={"resolved": False, "rating": "dissatisfied"})
    assert again.status_code == 409

    agent = await login("agent1")
    ticket = (await http.get(f"{TT}/{number}", headers=agent)).json()
    assert (ticket["ticketStatus"], ticket["rating"], ticket["ratingComment"], ticket["customerConfirmed"]) == (
        "resolved",
        "satisfied",
        "很快，谢谢",
        True,
    )
    # Nothing in the survey row or the journal identifies the customer.
    with sync_session() as s:
        survey = s.get(Survey, token_hash(token))
        assert survey.answered_at is not None and set(survey.model_dump()) == {
            "token_hash",
            "workflow_id",
            "ticket_no",
            "cycle",
            "created_at",
            "answered_at",
        }
        feedback = s.scalars(select(AuditEntry).where(AuditEntry.request_id == f"survey:{token_hash(token)}")).all()
    assert [(f.actor, f.actor_roles, f.action, f.outcome) for f in feedback] == [
        ("customer", [], "ticket.customer_feedback", "accepted")
    ]
    assert CONTACT not in str(feedback[0].details) and "华信" not in (feedback[0].reason or "")

    closed = await act(http, agent, number, {"type": "close"})
    assert (closed["status"], closed["closedBy"]) == ("closed", "agent1")

    async def archived():
        with sync_session() as s:
            return s.get(KnowledgeEntry, number)

    entry = await eventually(archived, what="ticket archived")
    assert (entry.cause, entry.solution, entry.handler) == ("光模块老化", "更换光模块", "engineer1")
    found = await http.get("/api/knowledge", params={"ticket_no": number}, headers=await login("auditor1"))
    assert [i["ticket_no"] for i in found.json()["items"]] == [number]


async def test_customer_not_resolved_sends_the_ticket_back(http, login, sync_session):
    number, token = await resolved_ticket(http, login, sync_session)
    answer = await http.post(
        f"/api/survey/{token}", json={"resolved": False, "rating": "dissatisfied", "comment": "还是断"}
    )
    assert answer.status_code == 200, answer.text
    ticket = (await http.get(f"{TT}/{number}", headers=await login("supervisor1"))).json()
    assert (ticket["status"], ticket["rating"]) == ("inProgress", "dissatisfied")
    detail = (await http.get(f"/api/tickets/{number}", headers=await login("supervisor1"))).json()
    assert "followup_assignment" in {t["kind"] for t in detail["tasks"] if t["status"] == "open"}


async def test_refused_answer_reopens_the_survey_for_a_later_try(http, login, sync_session):
    """A survey of a cancelled workflow: the act is refused (409), journaled as the customer; the survey stays open."""
    agent = await login("agent1")
    number = (await http.post(TT, json=full_intake(), headers=agent)).json()["id"]
    await registered(http, agent, number)
    await act(http, agent, number, {"type": "cancel", "reason": "重复登记"})
    token = secrets.token_hex(32)
    with sync_session() as s:
        s.add(Survey(token_hash=token_hash(token), workflow_id=f"ticket-{number}", ticket_no=number, cycle=1))
        s.commit()
    response = await http.post(f"/api/survey/{token}", json={"resolved": True, "rating": "satisfied"})
    assert response.status_code == 409, response.text
    assert (await http.get(f"/api/survey/{token}")).json()["answered"] is False
    refused = audit_rows(sync_session, subject_id=number, action="ticket.customer_feedback", outcome="refused")
    assert [(r.actor, r.actor_roles) for r in refused] == [("customer", [])]
