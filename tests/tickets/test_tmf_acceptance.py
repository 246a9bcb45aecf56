"""TMF621 create as integrators send it (issue 12 §5): free ticketType, externalId, note, status; SlaDueAt (§7)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.tickets import Category, default_ticket_types
from db.models import AssignmentRulesVersion, AuditEntry, TicketExternalRef, TicketRow
from db.tickets import workflow_id_for
from tests.support import assert_tmf_error, eventually
from tests.tickets.http_helpers import TT, act, create, full_intake, registered, routed
from workflows.common import SLA_DUE_AT


def _counts(sync_session) -> tuple[int, int, int]:
    with sync_session() as s:
        return (
            s.scalar(select(func.count()).select_from(TicketRow)),
            s.scalar(select(func.count()).select_from(AuditEntry)),
            s.scalar(select(func.count()).select_from(TicketExternalRef)),
        )


# ---- ticketType: free text, our category from the admin's table -------------------------------------------


@pytest.mark.parametrize(
    ("sent", "categories"),
    [
        ({"ticketType": "connectivity"}, ["aftersales_hardware"]),
        ({"ticketType": "Software"}, ["aftersales_software"]),
        ({"ticketType": "complaint", "complaintType": "billing"}, ["complaint"]),  # our own names still work
        ({"ticketType": "incident"}, ["other"]),  # unknown: the default, a supervisor coordinates
        ({"ticketType": "incident", "categories": ["aftersales_software"]}, ["aftersales_software"]),
        ({"ticketType": "connectivity", "categories": ["complaint"]}, ["aftersales_hardware", "complaint"]),
    ],
)
async def test_ticket_type_is_free_text_and_names_a_category(http, login, sent, categories):
    headers = await login("agent1")
    response = await create(http, headers, full_intake(**sent))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["ticketType"], body["categories"]) == (sent["ticketType"], categories)
    query = {"ticketType": sent["ticketType"], "customerId": body["customerId"]}
    listed = await http.get(TT, params=query, headers=headers)
    assert [t["id"] for t in listed.json()] == [body["id"]]


async def test_connectivity_routes_to_hardware_engineering(http, login):
    headers = await login("agent1")
    created = await create(http, headers, full_intake(ticketType="connectivity"))
    assert created.status_code == 201, created.text
    ticket = await routed(http, headers, created.json()["id"])
    assigned = {p["role"]: p["id"] for p in ticket["relatedParty"]}
    assert assigned["assignedDepartment"] == "hardware-engineering"


async def test_patch_ticket_type_maps_again(http, login):
    headers = await login("agent1")
    created = (await create(http, headers, full_intake(ticketType="connectivity"))).json()
    patched = await http.patch(f"{TT}/{created['id']}", json={"ticketType": "software"}, headers=headers)
    assert patched.status_code == 200, patched.text
    assert (patched.json()["ticketType"], patched.json()["categories"]) == ("software", ["aftersales_software"])


async def test_admin_edits_the_ticket_type_table_journaled(http, login, sync_session):
    admin, agent = await login("admin"), await login("agent1")
    current = (await http.get("/api/assignment-rules/default", headers=admin)).json()
    kind = f"fibre-cut-{uuid.uuid4().hex[:6]}"
    before = (await create(http, agent, full_intake(ticketType=kind))).json()
    assert before["categories"] == ["other"]
    spec = current["spec"]
    types = {**spec.get("ticket_types", {}).get("types", {}), kind: "aftersales_hardware"}
    published = await http.post(
        "/api/assignment-rules/default",
        json={**spec, "ticket_types": {"types": types, "default": "other"}},
        headers=admin,
    )
    assert published.status_code == 201, published.text
    version = published.json()["version"]
    with sync_session() as s:
        journaled = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "assignment-rules.publish", AuditEntry.subject_id == f"default@v{version}")
        )
    assert journaled == 1
    after = await create(http, agent, full_intake(ticketType=kind.upper()))
    assert after.json()["categories"] == ["aftersales_hardware"] and after.json()["ticketType"] == kind.upper()


@pytest.mark.parametrize(
    ("types", "words"),
    [
        ({"x": "network"}, "ticket_types.types.x:"),
        ({" ": "presales"}, "ticket_types: Value error, types: a ticket type name must not be blank"),
        ({"Fibre": "presales", "fibre": "complaint"}, "ticket_types: Value error, types: the same ticket type twice"),
    ],
)
async def test_a_bad_table_is_refused_and_stores_nothing(http, login, sync_session, types, words):
    admin = await login("admin")
    spec = (await http.get("/api/assignment-rules/default", headers=admin)).json()["spec"]
    with sync_session() as s:
        versions = s.scalar(select(func.count()).select_from(AssignmentRulesVersion))
    refused = await http.post(
        "/api/assignment-rules/default", json={**spec, "ticket_types": {"types": types}}, headers=admin
    )
    assert refused.status_code == 422 and refused.json()["detail"].startswith(words), refused.text
    with sync_session() as s:
        assert s.scalar(select(func.count()).select_from(AssignmentRulesVersion)) == versions


def test_the_built_in_table_and_default():
    types = default_ticket_types()
    assert types.category_of(" Connectivity ") == Category.AFTERSALES_HARDWARE
    assert types.category_of("presales") == Category.PRESALES
    assert types.category_of("incident") is None and types.default == Category.OTHER


# ---- externalId: stored, shown, filterable, one ticket per caller and id ----------------------------------


async def test_external_id_deduplicates_a_create_from_the_same_system(http, login, sync_session):
    agent = await login("agent1")
    external = f"NOC-{uuid.uuid4().hex[:10]}"
    body = full_intake(ticketType="connectivity", externalId=external)
    first = await create(http, agent, body)
    assert first.status_code == 201, first.text
    ticket = first.json()
    assert ticket["externalId"] == external
    counts = _counts(sync_session)

    again = await create(http, agent, body)  # a retry, or the system sending its ticket twice
    assert again.status_code == 200, again.text
    assert again.json()["id"] == ticket["id"] and again.headers["Location"] == ticket["href"]
    assert _counts(sync_session) == counts

    changed = await create(http, agent, {**body, "description": "另一个故障"})
    error = assert_tmf_error(changed, 409, "externalId:", ticket["id"])
    assert "另一个故障" not in error["message"]
    assert _counts(sync_session) == counts

    listed = await http.get(TT, params={"externalId": external}, headers=await login("auditor1"))
    assert [t["id"] for t in listed.json()] == [ticket["id"]]
    assert (await http.get(f"{TT}/{ticket['id']}", headers=agent)).json()["externalId"] == external


async def test_the_same_external_id_from_another_caller_is_another_ticket(http, login):
    external = f"NOC-{uuid.uuid4().hex[:10]}"
    body = full_intake(externalId=external)
    mine = await create(http, await login("agent1"), body)
    theirs = await create(http, await login("supervisor1"), body)
    assert mine.status_code == theirs.status_code == 201, (mine.text, theirs.text)
    assert mine.json()["id"] != theirs.json()["id"]


async def test_external_id_is_not_patched(http, login, sync_session):
    headers = await login("agent1")
    created = (await create(http, headers, full_intake(externalId=f"NOC-{uuid.uuid4().hex[:8]}"))).json()
    refused = await http.patch(f"{TT}/{created['id']}", json={"externalId": "other"}, headers=headers)
    assert_tmf_error(refused, 400, "externalId:")
    assert (await http.get(f"{TT}/{created['id']}", headers=headers)).json()["externalId"] == created["externalId"]


# ---- note and status on create ---------------------------------------------------------------------------


async def test_note_on_create_is_the_first_progress_entry_by_the_caller(http, login):
    headers = await login("agent1")
    body = full_intake(
        note=[
            {"text": "客户报告光猫红灯", "author": "noc-operator-7", "date": "2026-01-01T00:00:00Z"},
            {"text": "已远程重启无效", "noteType": "action"},
        ]
    )
    response = await create(http, headers, body)
    assert response.status_code == 201, response.text
    created = response.json()
    notes = [(n["id"], n["author"], n["text"], n["noteType"]) for n in created["note"]]
    assert notes == [("1", "agent1", "客户报告光猫红灯", "note"), ("2", "agent1", "已远程重启无效", "action")]
    ticket = await routed(http, headers, created["id"])  # the workflow's own state keeps them
    assert [(n["author"], n["text"]) for n in ticket["note"]] == [
        ("agent1", "客户报告光猫红灯"),
        ("agent1", "已远程重启无效"),
    ]
    assert datetime.fromisoformat(ticket["note"][0]["date"]) == datetime.fromisoformat(created["creationDate"])


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"note": [{"text": ""}]}, ["note.0.text:"]),
        ({"note": [{"text": "x", "noteType": "gossip"}]}, ["note.0.noteType:"]),
        ({"note": [{"words": "x"}]}, ["note.0.text: Field required"]),
        ({"status": "inProgress"}, ["status: a new ticket is acknowledged"]),
        ({"status": "closed"}, ["status: a new ticket is acknowledged"]),
        ({"status": "open"}, ["status:"]),
        ({"ticketType": ""}, ["ticketType:"]),
        ({"externalId": "x" * 101}, ["externalId:"]),
    ],
)
async def test_bad_note_status_ticket_type_is_400_and_creates_nothing(http, login, sync_session, changes, words):
    counts = _counts(sync_session)
    assert_tmf_error(await create(http, await login("agent1"), full_intake(**changes)), 400, *words)
    assert _counts(sync_session) == counts


async def test_status_acknowledged_on_create_is_accepted(http, login):
    response = await create(http, await login("agent1"), full_intake(status="acknowledged"))
    assert response.status_code == 201 and response.json()["status"] == "acknowledged", response.text


# ---- SlaDueAt follows the resolution deadline ---------------------------------------------------------------


async def test_sla_due_at_follows_the_resolution_deadline(http, login, env):
    agent, engineer = await login("agent1"), await login("engineer1")
    created = await create(http, agent, full_intake())
    ticket = await routed(http, agent, created.json()["id"])
    handle = env.client.get_workflow_handle(workflow_id_for(ticket["id"]))

    async def due() -> datetime | None:
        return (await handle.describe()).typed_search_attributes.get(SLA_DUE_AT)

    cap = datetime.fromisoformat(ticket["expectedResolutionDate"])
    assert await eventually(lambda: _when(due, cap), what="SlaDueAt at the resolution cap") == cap
    promised = (cap - timedelta(minutes=30)).replace(microsecond=0)
    await act(http, engineer, ticket["id"], {"type": "accept", "expected_resolution_at": promised.isoformat()})
    assert await eventually(lambda: _when(due, promised), what="SlaDueAt at the promise") == promised


async def _when(probe, wanted: datetime) -> datetime | None:
    value = await probe()
    return value if value == wanted else None


async def test_sla_due_at_is_unset_before_the_ticket_is_routed(http, login, env):
    headers = await login("agent1")
    number = (await create(http, headers, {"description": "d", "severity": "minor", "ticketType": "x"})).json()["id"]
    await registered(http, headers, number)
    described = await env.client.get_workflow_handle(workflow_id_for(number)).describe()
    assert described.typed_search_attributes.get(SLA_DUE_AT) is None
