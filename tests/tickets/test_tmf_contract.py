"""TMF621 contract (issue 12): every TICKET_FILTERS filter, refused parameters, dotted fields=, paging, TMF errors."""

from __future__ import annotations

import logging
import uuid

import pytest

from api.tickets import tmf621
from api.tickets.tmf621 import TICKET_FILTERS
from db.tickets import workflow_id_for
from tests.support import assert_tmf_error, end_workflow
from tests.tickets.http_helpers import CONTACT, TT, create, full_intake, registered, routed

EARLY, LATE = "2000-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"  # the test clock runs decades ahead


@pytest.fixture(scope="module")
async def two_tickets(http, login, env):
    """A: complete intake, routed; B: bare (acknowledged, intake incomplete); one customer of their own."""
    headers = await login("agent1")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    a = await create(
        http,
        headers,
        full_intake(
            customerId=customer,
            name=f"A-{customer}",
            severity="High",
            priority="high",
            ticketType="complaint",
            complaintType="billing",
            customerName=f"名-{customer}",
            industry=f"ind-{customer}",
            externalId=f"EXT-{customer}",
        ),
    )
    b = await create(
        http,
        headers,
        {"description": f"d, B {customer}", "severity": "Low", "ticketType": "presales", "customerId": customer},
    )
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    yield customer, await routed(http, headers, a.json()["id"]), await registered(http, headers, b.json()["id"])
    for number in (a.json()["id"], b.json()["id"]):
        await end_workflow(env.client.get_workflow_handle(workflow_id_for(number)))


async def test_every_supported_filter_works_in_sql(http, login, two_tickets):
    customer, a, b = two_tickets
    headers = await login("auditor1")
    cases = {
        "id": [(a["id"], [a]), (f"{a['id']},{b['id']}", [a, b])],
        "status": [("acknowledged", [a, b]), ("closed,cancelled", [])],
        "priority": [("high", [a]), ("low", [])],
        "severity": [("High", [a]), ("Low", [b]), ("Medium", [])],
        "name": [(a["name"], [a])],
        "description": [(a["description"], [a]), (b["description"], [])],  # a comma splits: TMF630 "any of"
        "ticketType": [("complaint", [a]), ("presales", [b]), ("complaint,presales", [a, b])],
        "externalId": [(a["externalId"], [a]), ("EXT-nobody", [])],
        "channel.id": [("phone", [a]), ("email", [])],
        "creationDate": [(a["creationDate"], [a])],
        "lastUpdate": [(f"{EARLY}", [])],
        "expectedResolutionDate": [(a["expectedResolutionDate"], [a])],
        "resolutionDate": [(EARLY, [])],
        "ticketStatus": [("intake_incomplete", [b]), ("pending_assignment", [a])],
        "categories": [("complaint", [a]), ("presales", [b])],
        "customerId": [(customer, [a, b])],
        "customerName": [(a["customerName"], [a])],
        "industry": [(a["industry"], [a])],
        "complaintType": [("billing", [a]), ("service_quality", [])],
        "handler": [("engineer1", [])],
        "occurredAt": [(a["occurredAt"], [a])],
    }
    assert set(cases) == set(TICKET_FILTERS.supported)
    for name, checks in cases.items():
        for value, want in checks:
            listed = await http.get(TT, params={"customerId": customer, name: value}, headers=headers)
            assert listed.status_code == 200, (name, listed.text)
            assert {t["id"] for t in listed.json()} == {t["id"] for t in want}, (name, value)
    dated = {"creationDate": a, "lastUpdate": a, "expectedResolutionDate": a, "resolutionDate": None}
    for name, who in dated.items():
        for op, bound, hit in (("gte", EARLY, True), ("gt", EARLY, True), ("lt", EARLY, False), ("lte", LATE, True)):
            listed = await http.get(TT, params={"customerId": customer, f"{name}.{op}": bound}, headers=headers)
            ids = {t["id"] for t in listed.json()}
            assert (who is not None and who["id"] in ids) == (hit and who is not None), (name, op)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"noSuchAttr": "xyz"}, ["noSuchAttr: unknown query parameter"]),
        ({"statusChangeDate": EARLY}, ["statusChangeDate: filtering troubleTicket on statusChangeDate is not"]),
        ({"channel.name": "phone"}, ["channel.name:", "not supported"]),
        ({"note.text": "x"}, ["note.text:", "not supported"]),
        ({"contact": CONTACT}, ["contact:", "not supported"]),
        ({"status.gte": "acknowledged"}, ["status.gte: .gte applies to date attributes only"]),
        ({"creationDate.gte": "2026-01-05T10:00:00"}, ["creationDate.gte:", "timezone"]),
        ({"severity": ""}, ["severity: a value is required"]),
        ({"priority": "High"}, ["priority:", "urgent"]),
        ({"sort": "statusChangeDate"}, ["sort: cannot sort on 'statusChangeDate'", "creationDate"]),
        ({"sort": "categories"}, ["sort: cannot sort on 'categories'"]),
    ],
)
async def test_unsupported_and_unknown_parameters_are_400(http, login, params, words):
    error = assert_tmf_error(await http.get(TT, params=params, headers=await login("auditor1")), 400, *words)
    assert CONTACT not in error["message"]


async def test_dotted_fields_sort_and_paging_headers(http, login, two_tickets):
    customer, a, b = two_tickets
    headers = await login("auditor1")
    one = await http.get(
        f"{TT}/{a['id']}", params={"fields": "relatedParty.role,channel.id,statusChange.status"}, headers=headers
    )
    assert one.status_code == 200, one.text
    body = one.json()
    assert set(body) == {"id", "href", "@type", "relatedParty", "channel", "statusChange"}
    assert body["channel"] == {"@type": "ChannelRef", "id": "phone"}
    assert body["relatedParty"] == [
        {"@type": "RelatedParty", "id": p["id"], "role": p["role"]} for p in a["relatedParty"]
    ]
    assert body["statusChange"] == [{"@type": "StatusChange", "status": c["status"]} for c in a["statusChange"]]
    assert_tmf_error(await http.get(f"{TT}/{a['id']}", params={"field": "id"}, headers=headers), 400, "field:")

    async def sorted_by(sort: str) -> list[str]:
        listed = await http.get(TT, params={"customerId": customer, "sort": sort}, headers=headers)
        assert listed.status_code == 200, listed.text
        return [t["id"] for t in listed.json()]

    assert await sorted_by("creationDate") == [a["id"], b["id"]]  # oldest first
    assert await sorted_by("-creationDate") == [b["id"], a["id"]]
    assert await sorted_by("severity") == [a["id"], b["id"]]  # "High" < "Low"
    assert await sorted_by("-ticketType,id") == [b["id"], a["id"]]  # presales after complaint
    page = await http.get(
        TT, params={"customerId": customer, "limit": 1, "offset": 1, "fields": "sla.tier"}, headers=headers
    )
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("2", "1")
    assert page.json() == [
        {"id": a["id"], "href": a["href"], "@type": "TroubleTicket", "sla": {"tier": a["sla"]["tier"]}}
    ]


async def test_every_error_class_is_a_tmf_error_body(http, login, two_tickets, monkeypatch, caplog):
    customer, a, _ = two_tickets
    agent = await login("agent1")
    bad_json = await http.post(TT, content=b'{"description": ', headers={**agent, "Content-Type": "application/json"})
    assert_tmf_error(bad_json, 400, "body: not valid JSON")
    assert_tmf_error(await create(http, agent, {"severity": "x", "ticketType": "other"}), 400, "description")
    assert_tmf_error(await http.get(TT), 401)
    assert_tmf_error(await create(http, await login("auditor1"), full_intake()), 403)
    assert_tmf_error(await http.get(f"{TT}/CS190001010001", headers=agent), 404, "CS190001010001")
    for path in ("/tmf-api/troubleTicket/v4/nothingHere", "/tmf-api/unknown", f"{TT}/{a['id']}/extra"):
        assert_tmf_error(await http.get(path, headers=agent), 404, path)
    assert_tmf_error(await http.delete(f"{TT}/{a['id']}", headers=agent), 405, "DELETE")
    assert_tmf_error(await http.put(TT, json={}, headers=agent), 405, "PUT")
    assert_tmf_error(await http.patch(f"{TT}/{a['id']}", json={"status": "closed"}, headers=agent), 409, "close")

    def broken(row):
        raise RuntimeError(f"cannot show {row.contact}")  # an exception whose message holds customer data

    monkeypatch.setattr(tmf621, "row_to_tmf", broken)
    with caplog.at_level(logging.ERROR):
        failed = await http.get(TT, params={"customerId": customer}, headers=agent)
    error = assert_tmf_error(failed, 500, "unexpected")
    assert error["reason"] == "Internal Server Error" and error["@type"] == "Error"
    assert "RuntimeError" in caplog.text and CONTACT not in caplog.text and CONTACT not in failed.text
    assert (await http.get("/api/nothing-here", headers=agent)).json() == {"detail": "Not Found"}  # not TMF: as was
