"""The TMF621 Trouble Ticket API over HTTP: create, get, list, fields, paging, PATCH, TMF errors, masking, reveal."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from api.main import create_app
from db.models import AuditEntry, TicketRow
from infra.settings import Settings
from tests.support import MASKED, assert_tmf_error, audit_rows, count_audit, serve, when
from tests.tickets.http_helpers import CONTACT, TT, create, full_intake, registered, routed

# ---- create, get, errors (the API's own work: no workflow needed) -----------------------------------


async def test_create_with_only_tmf_mandatory_fields_is_acknowledged(http, login):
    headers = await login("agent1")
    response = await create(http, headers, {"description": "无法上网", "severity": "minor", "ticketType": "other"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("CS") and len(body["id"]) == 14
    assert body["href"] == f"{TT}/{body['id']}" and response.headers["Location"] == body["href"]
    assert (body["status"], body["ticketStatus"], body["@type"]) == (
        "acknowledged",
        "intake_incomplete",
        "TroubleTicket",
    )
    assert (body["ticketType"], body["categories"], body["severity"], body["description"]) == (
        "other",
        ["other"],
        "minor",
        "无法上网",
    )
    assert body["missingIntake"] == [
        "customerId",
        "customerName",
        "industry",
        "contact",
        "channel",
        "occurredAt",
        "scenario",
        "priority",
    ]
    assert (
        body["statusChange"][0]["status"] == "acknowledged" and body["statusChange"][0]["changeReason"] == "registered"
    )
    assert {"role": "firstResponder", "id": "agent1"}.items() <= body["relatedParty"][0].items()
    fetched = await http.get(body["href"], headers=await login("auditor1"))
    assert fetched.status_code == 200 and fetched.json()["id"] == body["id"]


async def test_complete_intake_is_pending_assignment_and_contact_always_masked(http, login):
    headers = await login("agent1")
    body = full_intake(
        categories=["aftersales_hardware", "complaint"], complaintType="service_quality", majorComplaint=True
    )
    response = await create(http, headers, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["status"], created["ticketStatus"], created["missingIntake"]) == (
        "acknowledged",
        "pending_assignment",
        [],
    )
    assert created["contact"] == MASKED and CONTACT not in response.text
    assert (created["priority"], created["channel"]["id"], created["preferredChannel"]) == ("medium", "phone", "phone")
    assert (created["categories"], created["complaintType"], created["majorComplaint"]) == (
        ["aftersales_hardware", "complaint"],
        "service_quality",
        True,
    )
    assert datetime.fromisoformat(created["occurredAt"]) == datetime.fromisoformat(body["occurredAt"])
    number = created["id"]
    for reader in ("agent1", "engineer2", "auditor1"):
        one = await http.get(f"{TT}/{number}", headers=await login(reader))
        assert one.status_code == 200 and one.json()["contact"] == MASKED and CONTACT not in one.text
    listed = await http.get(TT, params={"customerId": body["customerId"]}, headers=headers)
    assert listed.json()[0]["contact"] == MASKED and CONTACT not in listed.text
    detail = await http.get(f"/api/tickets/{number}", headers=headers)
    assert detail.status_code == 200 and detail.json()["ticket"]["contact"] == MASKED and CONTACT not in detail.text
    registered_ticket = await registered(http, headers, number)
    assert registered_ticket["contact"] == MASKED


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"priority": "critical"}, 400, ["priority:", "urgent"]),
        ({"ticketType": "x" * 65}, 400, ["ticketType: String should have at most 64 characters"]),
        ({"occurredAt": "2099-01-01T10:00:00+08:00"}, 400, ["occurredAt: must not be in the future"]),
        ({"occurredAt": "2026-01-05T10:00:30+08:00"}, 400, ["occurredAt: to the minute"]),
        ({"occurredAt": "2026-01-05T10:00:00"}, 400, ["occurredAt:", "timezone"]),
        ({"channel": {"id": "fax"}}, 400, ["channel.id: one of phone"]),
        ({"customerName": "名" * 201}, 400, ["customerName: String should have at most 200 characters"]),
        ({"complaintType": "noise"}, 400, ["complaintType:"]),
        ({"categories": ["hardware"]}, 400, ["categories.0:"]),
        ({"attachment": []}, 400, ["attachment: Extra inputs are not permitted"]),
        ({"status": "closed"}, 400, ["status: a new ticket is acknowledged"]),
        ({"contact": 13812345678}, 400, ["contact: Input should be a valid string"]),
    ],
)
async def test_invalid_intake_is_400_naming_the_field(http, login, sync_session, changes, status, words):
    body = full_intake(**changes)
    with sync_session() as s:
        before = s.scalar(select(func.count()).select_from(TicketRow))
    response = await create(http, await login("agent1"), body)
    error = assert_tmf_error(response, status, *words)
    assert CONTACT not in response.text and "5678" not in error["message"]
    with sync_session() as s:
        assert s.scalar(select(func.count()).select_from(TicketRow)) == before


@pytest.mark.parametrize("missing", ["description", "severity", "ticketType"])
async def test_tmf_mandatory_fields_are_required(http, login, missing):
    body = {k: v for k, v in {"description": "d", "severity": "minor", "ticketType": "other"}.items() if k != missing}
    assert_tmf_error(await create(http, await login("agent1"), body), 400, f"{missing}: Field required")


async def test_unknown_ticket_is_404_tmf_error(http, login):
    headers = await login("supervisor1")
    assert_tmf_error(await http.get(f"{TT}/CS190001010001", headers=headers), 404, "CS190001010001")
    assert_tmf_error(
        await http.patch(f"{TT}/CS190001010001", json={"industry": "x"}, headers=headers), 404, "CS190001010001"
    )
    assert (await http.get("/api/tickets/CS190001010001", headers=headers)).status_code == 404


async def test_tmf_errors_for_auth(http, login, sync_session):
    unauthenticated = await http.get(TT)
    assert_tmf_error(unauthenticated, 401, "bearer token")
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    before = count_audit(sync_session, actor="engineer1", subject_id=TT, outcome="refused")
    refused = await create(http, await login("engineer1"), full_intake())
    assert_tmf_error(refused, 403, "role agent or supervisor required")
    assert count_audit(sync_session, actor="engineer1", subject_id=TT, outcome="refused") == before + 1
    auditor = await create(http, await login("auditor1"), full_intake())
    assert_tmf_error(auditor, 403)


async def test_idempotency_key_registers_once(http, login, sync_session):
    headers = await login("agent1")
    key = uuid.uuid4().hex
    body = full_intake()
    first = await create(http, headers, body, **{"Idempotency-Key": key})
    again = await create(http, headers, body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    with sync_session() as s:
        assert (
            s.scalar(select(func.count()).select_from(TicketRow).where(TicketRow.customer_id == body["customerId"]))
            == 1
        )
        assert s.scalar(select(AuditEntry.action).where(AuditEntry.request_id == key)) == "ticket.create"


async def test_workflow_start_failure_is_503_and_leaves_nothing(dev_env, db, settings, sync_session):
    """No worker polls the dev server's queue: the start is refused, and no row, journal entry or workflow remains."""
    customer = f"C-{uuid.uuid4().hex[:8]}"
    lonely = Settings(**{**settings.model_dump(), "temporal_task_queue": f"kx-no-worker-{uuid.uuid4().hex[:8]}"})
    async with (
        serve(create_app(lonely, db=db, client=dev_env.client)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        token = await client.post("/api/auth/token", data={"username": "agent1", "password": "kexiang-demo"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        key = uuid.uuid4().hex
        response = await client.post(
            TT, json=full_intake(customerId=customer), headers={**headers, "Idempotency-Key": key}
        )
        assert_tmf_error(response, 503, "worker")
        assert response.headers["Retry-After"] == "5"
    with sync_session() as s:
        assert s.scalar(select(func.count()).select_from(TicketRow).where(TicketRow.customer_id == customer)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.request_id == key)) == 0


# ---- list, filters, fields, paging ---------------------------------------------------------------------


async def test_list_filters_fields_and_paging(env, http, login):
    headers = await login("agent1")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    bodies = [
        full_intake(
            customerId=customer,
            priority=priority,
            ticketType=ticket_type,
            **({"complaintType": "billing"} if ticket_type == "complaint" else {}),
        )
        for priority, ticket_type in (("high", "presales"), ("low", "aftersales_software"), ("high", "complaint"))
    ]
    bodies.append({"description": "d", "severity": "minor", "ticketType": "presales", "customerId": customer})
    made = []
    for body in bodies:
        response = await create(http, headers, body)
        assert response.status_code == 201, response.text
        # The workflow's first write sets the creation date from its own (millisecond) clock: read it once it has,
        # then move that clock on, so no two tickets share a creation date and the range filters below are exact.
        made.append(await registered(http, headers, response.json()["id"]))
        await env.sleep(timedelta(seconds=1))
    # Newest first, by time (the ISO text is no sort key: a whole second is written without a fraction).
    made.sort(key=lambda t: when(t["creationDate"]), reverse=True)
    by_no = {t["id"]: t for t in made}
    number = {t["ticketType"] + t["priority"] if t["priority"] else "bare": t["id"] for t in made}

    async def ids(**params) -> list[str]:
        response = await http.get(TT, params={"customerId": customer, **params}, headers=await login("auditor1"))
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()]

    def expected(keep) -> list[str]:
        return [t["id"] for t in made if keep(t)]

    assert await ids() == expected(lambda t: True)
    assert await ids(priority="high") == [
        n for n in expected(lambda t: True) if n in (number["presaleshigh"], number["complainthigh"])
    ]
    assert await ids(ticketType="presales") == [
        n for n in expected(lambda t: True) if n in (number["presaleshigh"], number["bare"])
    ]
    assert await ids(ticketType="presales", priority="high") == [number["presaleshigh"]]
    assert await ids(ticketStatus="intake_incomplete") == [number["bare"]]
    assert await ids(status="acknowledged") == expected(lambda t: True)
    assert await ids(status="closed") == []
    dates = sorted(datetime.fromisoformat(t["creationDate"]) for t in made)  # oldest first
    within = await ids(**{"creationDate.gte": dates[1].isoformat(), "creationDate.lt": dates[3].isoformat()})
    assert (
        within == expected(lambda t: dates[1] <= datetime.fromisoformat(t["creationDate"]) < dates[3])
        and len(within) == 2
    )
    assert await ids(**{"creationDate.gt": dates[2].isoformat()}) == expected(
        lambda t: datetime.fromisoformat(t["creationDate"]) > dates[2]
    )
    assert await ids(**{"creationDate.lte": dates[0].isoformat()}) == expected(
        lambda t: datetime.fromisoformat(t["creationDate"]) <= dates[0]
    )
    numbers = [t["id"] for t in made]

    page = await http.get(
        TT, params={"customerId": customer, "offset": 1, "limit": 2, "fields": "status,priority"}, headers=headers
    )
    assert page.status_code == 200
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("4", "2")
    assert page.json() == [
        {
            "id": n,
            "href": f"{TT}/{n}",
            "@type": "TroubleTicket",
            "status": "acknowledged",
            "priority": by_no[n]["priority"],
        }
        for n in numbers[1:3]
    ]
    one = await http.get(f"{TT}/{number['presaleshigh']}", params={"fields": "ticketType, contact"}, headers=headers)
    assert one.json() == {
        "id": number["presaleshigh"],
        "href": f"{TT}/{number['presaleshigh']}",
        "@type": "TroubleTicket",
        "ticketType": "presales",
        "contact": MASKED,
    }

    assert_tmf_error(await http.get(TT, params={"status": "open"}, headers=headers), 400, "status:")
    assert_tmf_error(await http.get(TT, params={"limit": 0}, headers=headers), 400, "limit:")
    assert_tmf_error(
        await http.get(TT, params={"creationDate.gte": "yesterday"}, headers=headers), 400, "creationDate.gte:"
    )


# ---- reveal -----------------------------------------------------------------------------------------------


async def test_contact_reveal_is_audited_and_refused_to_others(http, login, sync_session):
    created = (await create(http, await login("agent1"), full_intake())).json()
    number = created["id"]
    path = f"/api/tickets/{number}/contact/reveal"
    for who in ("agent1", "supervisor1"):
        revealed = await http.post(path, json={"reason": "callback"}, headers=await login(who))
        assert revealed.status_code == 200, revealed.text
        assert revealed.json() == {"ticket_no": number, "contact": CONTACT, "texts": {}}  # no contact in free text
    rows = audit_rows(sync_session, subject_id=number, action="ticket.contact.reveal")
    assert [(r.actor, r.outcome, r.reason) for r in rows] == [
        ("agent1", "accepted", "callback"),
        ("supervisor1", "accepted", "callback"),
    ]
    assert all(CONTACT not in str(r.details) and r.workflow_id == f"ticket-{number}" for r in rows)
    for who in ("engineer1", "ops1"):  # not the handler, nor an agent or supervisor
        refused = await http.post(path, headers=await login(who))
        assert refused.status_code == 403 and CONTACT not in refused.text
        assert "handler, agents and supervisors" in refused.json()["detail"]
    refusals = audit_rows(sync_session, subject_id=number, action="ticket.contact.reveal", outcome="refused")
    assert [r.actor for r in refusals] == ["engineer1", "ops1"]
    auditor = await http.post(path, headers=await login("auditor1"))  # auditors never act: refused at the role gate
    assert auditor.status_code == 403 and CONTACT not in auditor.text
    assert [r.actor for r in audit_rows(sync_session, subject_id=path, outcome="refused")] == ["auditor1"]
    assert (
        await http.post("/api/tickets/CS190001010001/contact/reveal", headers=await login("agent1"))
    ).status_code == 404


# ---- with the ServiceTicket workflow ---------------------------------------------------------------------


async def test_patch_completes_the_intake(http, login, sync_session):
    """A bare TMF ticket waits acknowledged; the agent's PATCH supplies the rest and the workflow routes it."""
    headers = await login("agent1")
    number = (
        await create(
            http, headers, {"description": "网络中断", "severity": "major", "ticketType": "aftersales_hardware"}
        )
    ).json()["id"]
    await registered(http, headers, number)
    rest = {k: v for k, v in full_intake().items() if k not in ("description", "severity", "ticketType")}
    patched = await http.patch(f"{TT}/{number}", json=rest, headers=headers)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["status"], body["ticketStatus"], body["missingIntake"]) == ("acknowledged", "pending_assignment", [])
    assert body["contact"] == MASKED and CONTACT not in patched.text
    assert (body["description"], body["severity"], body["ticketType"]) == ("网络中断", "major", "aftersales_hardware")

    ticket = await routed(http, headers, number)
    assert {"id": "hardware-engineering", "role": "assignedDepartment"}.items() <= next(
        p for p in ticket["relatedParty"] if p["role"] == "assignedDepartment"
    ).items()
    assert ticket["expectedResolutionDate"] == ticket["sla"]["cycles"][0]["resolutionCap"]
    # Correcting one attribute keeps every other one.
    fixed = await http.patch(
        f"{TT}/{number}", json={"industry": "finance", "ticketType": "aftersales_software"}, headers=headers
    )
    assert fixed.status_code == 200, fixed.text
    assert (fixed.json()["industry"], fixed.json()["customerName"], fixed.json()["categories"]) == (
        "finance",
        "华信物流有限公司",
        ["aftersales_software"],
    )
    accepted = audit_rows(sync_session, subject_id=number, action="ticket.amend_intake", outcome="accepted")
    assert [r.actor for r in accepted] == ["agent1", "agent1"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, ["nothing to change"]),
        ({"customerId": None}, 400, ["customerId: cannot be removed"]),
        ({"status": "cancelled"}, 400, ["statusChangeReason: required"]),
        (
            {"status": "cancelled", "statusChangeReason": "dup", "industry": "x"},
            400,
            ["status: change the status in a PATCH of its own"],
        ),
        ({"statusChangeReason": "why"}, 400, ["statusChangeReason: only together with status"]),
        ({"status": "resolved"}, 400, ["resolution:"]),
        ({"status": "acknowledged"}, 400, ["status: acknowledged cannot be set"]),
        ({"status": "inProgress"}, 400, ["expectedResolutionDate: required"]),
        ({"status": "closed"}, 409, ["close: not allowed while the ticket is pending_assignment"]),
        ({"status": "pending", "statusChangeReason": "waiting"}, 409, ["pause: not allowed"]),
        ({"occurredAt": "2026-01-05T10:00:30+08:00"}, 400, ["occurredAt: to the minute"]),
    ],
)
async def test_patch_errors(http, login, sync_session, body, status, words):
    headers = await login("agent1")
    number = (await create(http, headers, full_intake())).json()["id"]
    await registered(http, headers, number)
    before = count_audit(sync_session, subject_id=number, outcome="refused")
    assert_tmf_error(await http.patch(f"{TT}/{number}", json=body, headers=headers), status, *words)
    # Refusals by the workflow's rules are journaled; malformed requests never reach it.
    assert count_audit(sync_session, subject_id=number, outcome="refused") == before + (status == 409)


async def test_patch_status_walks_the_ticket(http, login, sync_session):
    """Accept (inProgress + expectedResolutionDate), pause (pending), resume, resolve, then cancel is refused."""
    agent, engineer = await login("agent1"), await login("engineer1")
    number = (await create(http, agent, full_intake())).json()["id"]

    ticket = await routed(http, agent, number)
    cap = ticket["sla"]["cycles"][0]["resolutionCap"]
    wrong = await http.patch(
        f"{TT}/{number}", json={"status": "inProgress", "expectedResolutionDate": cap}, headers=await login("engineer2")
    )
    assert_tmf_error(wrong, 403, "assigned to hardware-engineering")
    accepted = await http.patch(
        f"{TT}/{number}", json={"status": "inProgress", "expectedResolutionDate": cap}, headers=engineer
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "inProgress"
    assert datetime.fromisoformat(accepted.json()["expectedResolutionDate"]) == datetime.fromisoformat(cap)
    assert {"id": "engineer1", "role": "handler"}.items() <= accepted.json()["relatedParty"][0].items()
    paused = await http.patch(
        f"{TT}/{number}", json={"status": "pending", "statusChangeReason": "等待客户提供日志"}, headers=engineer
    )
    assert (paused.json()["status"], paused.json()["statusChangeReason"]) == ("pending", "等待客户提供日志")
    assert paused.json()["sla"]["pauses"][0]["reason"] == "等待客户提供日志"
    resumed = await http.patch(f"{TT}/{number}", json={"status": "inProgress"}, headers=engineer)
    assert resumed.json()["status"] == "inProgress" and resumed.json()["sla"]["pauses"][0]["endedAt"]
    resolution = {"cause": "光模块老化", "solution": "更换光模块", "advice": "定期巡检", "channel": "phone"}
    resolved = await http.patch(
        f"{TT}/{number}", json={"status": "resolved", "resolution": resolution}, headers=engineer
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["ticketStatus"], body["resolution"]) == ("resolved", "pending_feedback", resolution)
    assert body["resolutionDate"] and [n["noteType"] for n in body["note"]] == ["customer_contact"]
    assert [c["status"] for c in body["statusChange"]] == [
        "acknowledged",
        "inProgress",
        "pending",
        "inProgress",
        "resolved",
    ]
    refused = await http.patch(
        f"{TT}/{number}", json={"status": "cancelled", "statusChangeReason": "dup"}, headers=agent
    )
    assert_tmf_error(refused, 409, "cancel: not allowed while the ticket is pending_feedback")
    assert [r.actor for r in audit_rows(sync_session, subject_id=number, outcome="refused")] == ["engineer2", "agent1"]


async def test_cancel_with_reason(http, login):
    headers = await login("agent1")
    number = (await create(http, headers, full_intake())).json()["id"]
    await registered(http, headers, number)
    cancelled = await http.patch(
        f"{TT}/{number}", json={"status": "cancelled", "statusChangeReason": "重复登记"}, headers=headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["statusChangeReason"]) == ("cancelled", "重复登记")
    again = await http.patch(f"{TT}/{number}", json={"industry": "x"}, headers=headers)
    assert_tmf_error(again, 409, "cancelled")
    listed = await http.get(
        TT, params={"status": "cancelled", "customerId": cancelled.json()["customerId"]}, headers=headers
    )
    assert [t["id"] for t in listed.json()] == [number]
