"""TMF688 hubs for TMF621: listeners register and unregister, receive signed events in order per ticket, retried
with the same webhook-id after a 500; a message that keeps failing becomes a dead letter admins see and resend."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest_asyncio
from sqlalchemy import select

from db.models import AuditEntry, OutboxAttempt, OutboxMessage
from tests.outbox.receiver import Receiver
from tests.resource_checks.test_api import SQ, request_body
from tests.support import eventually, serve
from tests.tickets.http_helpers import CONTACT, TT, act, full_intake, routed

HUB = "/tmf-api/troubleTicket/v4/hub"


@pytest_asyncio.fixture
async def listener(http, login):
    """A receiver served on a loopback port and registered as a listener; unregistered afterwards."""
    receiver = Receiver()
    hubs: list[str] = []

    async def register(query: str | None = None, hub: str = HUB) -> Receiver:
        answer = await http.post(hub, json={"callback": f"{url}/events", "query": query}, headers=await login("admin"))
        assert answer.status_code == 201, answer.text
        assert answer.headers["location"] == answer.json()["href"] == f"{hub}/{answer.json()['id']}"
        receiver.secret = answer.json()["secret"]
        hubs.append(answer.json()["href"])
        return receiver

    async with serve(receiver.app()) as url:
        yield register
        for href in hubs:
            assert (await http.delete(href, headers=await login("admin"))).status_code == 204
            assert (await http.get(href, headers=await login("admin"))).status_code == 404


async def new_ticket(http, login) -> str:
    """A registered, routed ticket; its number."""
    agent = await login("agent1")
    number = (await http.post(TT, json=full_intake(), headers=agent)).json()["id"]
    await routed(http, agent, number)
    return number


async def test_status_changes_arrive_signed_in_order_once_each_after_retries(http, login, env, listener, dispatcher):
    receiver = await listener("eventType=TroubleTicketStatusChangeEvent")
    receiver.fail_first = 2
    engineer = await login("engineer1")
    number = await new_ticket(http, login)
    cap = (await routed(http, engineer, number))["sla"]["cycles"][0]["resolutionCap"]
    await act(http, engineer, number, {"type": "accept", "expected_resolution_at": cap})
    await act(http, engineer, number, {"type": "log_progress", "kind": "action", "text": "处理", "is_plan": True})
    resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": "", "channel": "phone"}
    await act(http, engineer, number, {"type": "resolve", "resolution": resolution})

    async def both_accepted():
        if len(receiver.accepted) >= 2:
            return True
        await env.sleep(timedelta(seconds=40))  # past the next backoff on the dispatcher's clock
        return False

    await eventually(both_accepted, timeout=60, what="both status changes accepted")
    events = [e for e in receiver.accepted.values() if e["event"]["troubleTicket"]["id"] == number]
    assert [e["event"]["troubleTicket"]["status"] for e in events] == ["inProgress", "resolved"]
    assert {e["eventType"] for e in events} == {"TroubleTicketStatusChangeEvent"}
    first_id = receiver.attempts[0][0]
    assert receiver.attempts[:3] == [(first_id, 500), (first_id, 500), (first_id, 204)]  # one id for every retry
    assert receiver.unsigned == 0
    body = str(events)
    assert CONTACT not in body and "华信物流" not in body  # no contact, no customer name in events


async def test_dead_letter_after_the_retry_budget_then_resend(http, login, env, listener, dispatcher, sync_session):
    receiver = await listener("eventType=TroubleTicketCreateEvent")
    receiver.always_fail = True
    number = await new_ticket(http, login)

    def message() -> OutboxMessage | None:
        with sync_session() as s:
            return s.scalars(
                select(OutboxMessage).where(OutboxMessage.subject == number, OutboxMessage.channel == "webhook")
            ).one_or_none()

    async def dead():
        row = message()
        if row is not None and row.status == "dead":
            return row
        await env.sleep(timedelta(minutes=5))
        return None

    row = await eventually(dead, timeout=90, what="the event dead after its retry budget")
    assert row.attempts == 6 and row.last_error == "listener answered 500"
    ids = {webhook_id for webhook_id, _ in receiver.attempts}
    assert ids == {f"msg_{row.id}"} and len(receiver.attempts) == 6

    admin = await login("admin")
    listed = (await http.get("/api/outbox", params={"status": "dead", "subject": number}, headers=admin)).json()
    assert [m["id"] for m in listed["items"]] == [row.id]
    summary = (await http.get("/api/outbox/summary", headers=admin)).json()
    assert summary["webhook"]["dead"] >= 1
    log = (await http.get(f"/api/outbox/{row.id}", headers=admin)).json()["log"]
    assert [a["outcome"] for a in log] == ["failed"] * 5 + ["dead"] and {a["response_code"] for a in log} == {500}
    assert (await http.post(f"/api/outbox/{row.id}/resend", headers=await login("supervisor1"))).status_code == 403

    receiver.always_fail = False
    resent = await http.post(f"/api/outbox/{row.id}/resend", headers=admin)
    assert resent.status_code == 200 and resent.json()["status"] == "pending"

    async def delivered():
        current = message()
        return current if current is not None and current.status == "delivered" else None

    await eventually(delivered, what="the resent event delivered")
    assert list(receiver.accepted) == [f"msg_{row.id}"]
    assert (await http.post(f"/api/outbox/{row.id}/resend", headers=admin)).status_code == 409
    assert (await http.post("/api/outbox/999999999/resend", headers=admin)).status_code == 404
    with sync_session() as s:
        attempts = s.scalars(select(OutboxAttempt.attempt).where(OutboxAttempt.message_id == row.id)).all()
        journal = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "outbox.resend", AuditEntry.subject_id == str(row.id))
        ).all()
    assert sorted(attempts) == list(range(1, 8))
    assert [(j.actor, j.outcome) for j in journal] == [("admin", "accepted")]


async def test_hub_registration_refuses_bad_input_and_non_admins(http, login):
    admin = await login("admin")
    bad_query = await http.post(
        HUB, json={"callback": "http://127.0.0.1:9/x", "query": "eventType=Nope"}, headers=admin
    )
    assert bad_query.status_code == 400 and "Nope" in bad_query.json()["message"]
    bad_url = await http.post(HUB, json={"callback": "ftp://example.com/x"}, headers=admin)
    assert bad_url.status_code == 400
    agent = await http.post(HUB, json={"callback": "http://127.0.0.1:9/x"}, headers=await login("agent1"))
    assert agent.status_code == 403
    assert (await http.delete(f"{HUB}/12345678", headers=admin)).status_code == 404
    assert (await http.delete(f"{HUB}/abc", headers=admin)).status_code == 404


async def test_tmf645_listener_gets_the_check_created(http, login, listener, dispatcher):
    receiver = await listener(None, hub="/tmf-api/serviceQualificationManagement/v4/hub")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    created = await http.post(SQ, json=request_body(customer), headers=await login("gcd1"))
    assert created.status_code == 201, created.text
    check_id = created.json()["id"]

    async def seen():
        return [e for e in receiver.accepted.values() if e["event"]["checkServiceQualification"]["id"] == check_id]

    [event] = await eventually(seen, what="the check's create event")
    assert event["eventType"] == "CheckServiceQualificationCreateEvent" and event["eventId"].startswith(check_id)
    assert event["event"]["checkServiceQualification"]["state"] == "inProgress"  # the workflow's first state
    assert receiver.unsigned == 0 and CONTACT not in str(event)
