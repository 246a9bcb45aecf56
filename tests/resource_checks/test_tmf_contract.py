"""TMF645 contract (issue 12): every CHECK_FILTERS filter, refused parameters, dotted fields=, paging, TMF errors."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import pytest

from api.resource_checks import tmf645
from api.resource_checks.tmf645 import CHECK_FILTERS
from core.resource_checks import workflow_id_for
from tests.resource_checks.test_api import SQ, request_body
from tests.support import assert_tmf_error, end_workflow, eventually
from tests.tickets.http_helpers import CONTACT

EARLY, LATE = "2000-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"  # the test clock runs decades ahead


@pytest.fixture(scope="module")
async def two_checks(http, login, env):
    """A (requested by gcd1) and B (by coordinator1) for one customer, both with their first round open."""
    customer = f"C-{uuid.uuid4().hex[:8]}"
    made = []
    for who in ("gcd1", "coordinator1"):
        response = await http.post(SQ, json=request_body(customer), headers=await login(who))
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    headers = await login("auditor1")

    async def round_open(check_id):
        body = (await http.get(f"{SQ}/{check_id}", headers=headers)).json()
        return body if body["estimatedResponseDate"] else None

    a, b = [await eventually(lambda c=c: round_open(c), what=f"{c} round open") for c in made]
    yield customer, a, b
    for check_id in made:
        await end_workflow(env.client.get_workflow_handle(workflow_id_for(check_id)))


def _same(value: str | None, wanted: str) -> bool:
    return value is not None and datetime.fromisoformat(value) == datetime.fromisoformat(wanted)


async def test_every_supported_filter_works_in_sql(http, login, two_checks):
    customer, a, b = two_checks
    headers = await login("auditor1")
    both = (a, b)
    cases = {
        "id": [(a["id"], [a]), (f"{a['id']},{b['id']}", [a, b])],
        "state": [(a["state"], [t for t in both if t["state"] == a["state"]]), ("done", [])],
        "qualificationResult": [("qualified,unqualified,alternate", [])],
        "feasibility": [("feasible,feasible_after_construction,not_feasible", [])],
        "externalId": [(b["externalId"], [b])],
        "relatedParty.id": [(customer, [a, b])],
        "checkServiceQualificationDate": [(a["checkServiceQualificationDate"], [a])],
        "estimatedResponseDate": [
            (
                a["estimatedResponseDate"],
                [t for t in both if _same(t["estimatedResponseDate"], a["estimatedResponseDate"])],
            )
        ],
        "checkStatus": [(b["checkStatus"], [t for t in both if t["checkStatus"] == b["checkStatus"]])],
        "onTime": [
            ("true", [t for t in both if t["onTime"] is True]),
            ("false", [t for t in both if t["onTime"] is False]),
        ],
        "lastUpdate": [(EARLY, [])],
    }
    assert set(cases) == set(CHECK_FILTERS.supported)
    for name, checks in cases.items():
        for value, want in checks:
            params = [("relatedParty.id", customer), (name, value)]
            listed = await http.get(SQ, params=params, headers=headers)
            assert listed.status_code == 200, (name, listed.text)
            assert {t["id"] for t in listed.json()} == {t["id"] for t in want}, (name, value)
    # relatedParty.id is also the requester; two filters must both hold.
    mine = await http.get(
        SQ, params=[("relatedParty.id", customer), ("relatedParty.id", "coordinator1")], headers=headers
    )
    assert [t["id"] for t in mine.json()] == [b["id"]]
    for name in ("checkServiceQualificationDate", "estimatedResponseDate", "lastUpdate"):
        for op, bound, hit in (("gte", EARLY, True), ("gt", EARLY, True), ("lt", EARLY, False), ("lte", LATE, True)):
            listed = await http.get(SQ, params={"relatedParty.id": customer, f"{name}.{op}": bound}, headers=headers)
            assert {t["id"] for t in listed.json()} == ({a["id"], b["id"]} if hit else set()), (name, op)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"noSuchAttr": "xyz"}, ["noSuchAttr: unknown query parameter"]),
        ({"expirationDate": EARLY}, ["expirationDate: filtering checkServiceQualification on expirationDate is not"]),
        ({"serviceQualificationItem.state": "done"}, ["serviceQualificationItem.state:", "not supported"]),
        ({"contact": CONTACT}, ["contact:", "not supported"]),
        ({"checkServiceQualificationDate": "2026-01-05T10:00:00"}, ["checkServiceQualificationDate:", "timezone"]),
        ({"qualificationResult": "maybe"}, ["qualificationResult:"]),
        ({"onTime": "perhaps"}, ["onTime:"]),
        ({"state.lt": "done"}, ["state.lt: .lt applies to date attributes only"]),
    ],
)
async def test_unsupported_and_unknown_parameters_are_400(http, login, params, words):
    error = assert_tmf_error(await http.get(SQ, params=params, headers=await login("auditor1")), 400, *words)
    assert CONTACT not in error["message"]


async def test_dotted_fields_and_paging_headers(http, login, two_checks):
    customer, a, _ = two_checks
    headers = await login("auditor1")
    one = await http.get(
        f"{SQ}/{a['id']}", params={"fields": "id,serviceQualificationItem.state,relatedParty.id"}, headers=headers
    )
    assert one.status_code == 200, one.text
    assert one.json() == {
        "id": a["id"],
        "href": a["href"],
        "@type": "CheckServiceQualification",
        "relatedParty": [{"@type": "RelatedParty", "id": p["id"]} for p in a["relatedParty"]],
        "serviceQualificationItem": [
            {"@type": "CheckServiceQualificationItem", "id": i["id"], "state": i["state"]}
            for i in a["serviceQualificationItem"]
        ],
    }
    deep = await http.get(
        f"{SQ}/{a['id']}", params={"fields": "serviceQualificationItem.service.serviceType"}, headers=headers
    )
    assert deep.json()["serviceQualificationItem"] == [
        {
            "@type": "CheckServiceQualificationItem",
            "id": "1",
            "service": {"@type": "Service", "serviceType": "internet"},
        }
    ]
    page = await http.get(SQ, params={"relatedParty.id": customer, "limit": 1, "fields": "state"}, headers=headers)
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("2", "1")
    assert set(page.json()[0]) == {"id", "href", "@type", "state"}


async def test_every_error_class_is_a_tmf_error_body(http, login, two_checks, monkeypatch, caplog):
    customer, a, _ = two_checks
    requester = await login("gcd1")
    bad_json = await http.post(SQ, content=b"[", headers={**requester, "Content-Type": "application/json"})
    assert_tmf_error(bad_json, 400, "body: not valid JSON")
    assert_tmf_error(await http.post(SQ, json={"relatedParty": []}, headers=requester), 400, "relatedParty")
    assert_tmf_error(await http.get(SQ), 401)
    assert_tmf_error(await http.post(SQ, json=request_body("C-x"), headers=await login("engineer1")), 403)
    assert_tmf_error(await http.get(f"{SQ}/RC-NOPE", headers=requester), 404, "RC-NOPE")
    unknown = "/tmf-api/serviceQualificationManagement/v4/queryServiceQualification"
    assert_tmf_error(await http.get(unknown, headers=requester), 404, unknown)
    assert_tmf_error(await http.delete(f"{SQ}/{a['id']}", headers=requester), 405, "DELETE")
    assert_tmf_error(await http.patch(f"{SQ}/{a['id']}", json={}, headers=requester), 405, "PATCH")
    assert_tmf_error(await http.get(f"{SQ}/{a['id']}", params={"limit": 1}, headers=requester), 400, "limit:")

    def broken(check, **_):
        raise RuntimeError(f"cannot show {check.request.contact}")  # an exception whose message holds customer data

    monkeypatch.setattr(tmf645, "to_tmf", broken)
    with caplog.at_level(logging.ERROR):
        failed = await http.get(SQ, params={"relatedParty.id": customer}, headers=requester)
    assert_tmf_error(failed, 500, "unexpected")
    assert "RuntimeError" in caplog.text and "13812345678" not in caplog.text and "13812345678" not in failed.text
