"""TMF641 contract (issue 12): every ORDER_FILTERS and CANCEL_FILTERS filter, refused parameters, dotted fields=,
paging, TMF errors."""

from __future__ import annotations

import logging
import uuid

import pytest

from api.provisioning import tmf641
from api.provisioning.tmf641 import CANCEL_FILTERS, ORDER_FILTERS
from core.provisioning import workflow_id_for
from tests.provisioning.flow import BEIJING, SUZHOU
from tests.provisioning.test_api import CANCEL, SO, order_body
from tests.support import assert_tmf_error, end_workflow, eventually

EARLY, LATE = "2000-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"  # the test clock runs decades ahead


@pytest.fixture(scope="module")
async def two_orders(http, login, env):
    """A (cross-province MPLS-VPN, due in 20 days) and B (in-province DDN, due in 30, then cancelled), one customer."""
    headers = await login("coordinator1")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    made = []
    for z, circuit, days in ((BEIJING, "mpls_vpn", 20), (SUZHOU, "ddn", 30)):
        body = {**order_body(z=z, days=days, circuitType=circuit), "customerId": customer}
        response = await http.post(SO, json=body, headers=headers)
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])

    async def planned(order_id):
        body = (await http.get(f"{SO}/{order_id}", headers=headers)).json()
        return body if body["currentStep"] else None

    a = await eventually(lambda: planned(made[0]), what="A planned")
    await eventually(lambda: planned(made[1]), what="B planned")
    cancelled = await http.post(
        CANCEL, json={"serviceOrder": {"id": made[1]}, "cancellationReason": "客户撤单"}, headers=headers
    )
    assert cancelled.status_code == 201, cancelled.text

    async def done():
        body = (await http.get(f"{CANCEL}/{cancelled.json()['id']}", headers=headers)).json()
        return body if body["state"] == "done" else None

    cancel = await eventually(done, what="cancel done")
    b = (await http.get(f"{SO}/{made[1]}", headers=headers)).json()
    yield customer, a, b, cancel
    for order_id in made:
        await end_workflow(env.client.get_workflow_handle(workflow_id_for(order_id)))


async def test_every_supported_filter_works_in_sql(http, login, two_orders):
    customer, a, b, _ = two_orders
    headers = await login("auditor1")
    both = (a, b)
    cases = {
        "id": [(a["id"], [a]), (f"{a['id']},{b['id']}", [a, b])],
        "state": [("cancelled", [b]), (a["state"], [a])],
        "category": [("circuitProvisioning", [a, b]), ("other", [])],
        "externalId": [(a["externalId"], [a])],
        "orderDate": [(b["orderDate"], [b])],
        "requestedCompletionDate": [(a["requestedCompletionDate"], [a])],
        "completionDate": [(EARLY, [])],
        "lastUpdate": [(EARLY, [])],
        "serviceOrderItem.service.serviceType": [("ddn", [b]), ("mpls_vpn", [a])],
        "orderStatus": [(a["orderStatus"], [a])],
        "circuitType": [("mpls_vpn", [a]), ("ddn,atm", [b])],
        "scope": [(a["scope"], [t for t in both if t["scope"] == a["scope"]])],
        "customerId": [(customer, [a, b])],
        "currentStep": [(a["currentStep"], [t for t in both if t["currentStep"] == a["currentStep"]])],
    }
    assert a["scope"] != b["scope"]
    assert set(cases) == set(ORDER_FILTERS.supported)
    for name, checks in cases.items():
        for value, want in checks:
            listed = await http.get(SO, params=[("customerId", customer), (name, value)], headers=headers)
            assert listed.status_code == 200, (name, listed.text)
            assert {t["id"] for t in listed.json()} == {t["id"] for t in want}, (name, value)
    for name in ("orderDate", "requestedCompletionDate", "lastUpdate"):
        for op, bound, hit in (("gte", EARLY, True), ("gt", EARLY, True), ("lt", EARLY, False), ("lte", LATE, True)):
            listed = await http.get(SO, params={"customerId": customer, f"{name}.{op}": bound}, headers=headers)
            assert {t["id"] for t in listed.json()} == ({a["id"], b["id"]} if hit else set()), (name, op)
    between = {"requestedCompletionDate.gt": a["requestedCompletionDate"], "requestedCompletionDate.lte": LATE}
    assert [
        t["id"] for t in (await http.get(SO, params={"customerId": customer, **between}, headers=headers)).json()
    ] == [b["id"]]


async def test_cancel_list_filters(http, login, two_orders):
    _, _, b, cancel = two_orders
    headers = await login("auditor1")
    cases = {
        "id": [(cancel["id"], [cancel["id"]])],
        "state": [("done", [cancel["id"]]), ("inProgress", [])],
        "serviceOrder.id": [(b["id"], [cancel["id"]])],
    }
    assert set(cases) == set(CANCEL_FILTERS.supported)
    for name, checks in cases.items():
        for value, want in checks:
            listed = await http.get(CANCEL, params=[("serviceOrder.id", b["id"]), (name, value)], headers=headers)
            assert listed.status_code == 200, (name, listed.text)
            assert [t["id"] for t in listed.json()] == want, (name, value)
    assert_tmf_error(
        await http.get(CANCEL, params={"cancellationReason": "x"}, headers=headers), 400, "cancellationReason:"
    )
    assert_tmf_error(await http.get(CANCEL, params={"colour": "x"}, headers=headers), 400, "colour: unknown")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"noSuchAttr": "xyz"}, ["noSuchAttr: unknown query parameter"]),
        ({"priority": "1"}, ["priority: filtering serviceOrder on priority is not supported"]),
        ({"startDate.gte": EARLY}, ["startDate.gte:", "not supported"]),
        ({"serviceOrderItem.id": "1"}, ["serviceOrderItem.id:", "not supported"]),
        ({"category": ""}, ["category: a value is required"]),
        ({"state": "open"}, ["state:"]),
        ({"orderDate.gte": "2026-01-05T10:00:00"}, ["orderDate.gte:", "timezone"]),
        ({"orderDate.gte": f"{EARLY},{LATE}"}, ["orderDate.gte: exactly one value"]),
    ],
)
async def test_unsupported_and_unknown_parameters_are_400(http, login, params, words):
    assert_tmf_error(await http.get(SO, params=params, headers=await login("auditor1")), 400, *words)


async def test_dotted_fields_and_paging_headers(http, login, two_orders):
    customer, a, b, cancel = two_orders
    headers = await login("auditor1")
    one = await http.get(f"{SO}/{a['id']}", params={"fields": "id,serviceOrderItem.id"}, headers=headers)
    assert one.json() == {
        "id": a["id"],
        "href": a["href"],
        "@type": "ServiceOrder",
        "serviceOrderItem": [{"@type": "ServiceOrderItem", "id": "1"}],
    }
    names = await http.get(
        f"{SO}/{a['id']}", params={"fields": "serviceOrderItem.service.serviceCharacteristic.name"}, headers=headers
    )
    [item] = names.json()["serviceOrderItem"]
    assert item["service"]["serviceCharacteristic"] == [
        {"name": c["name"]} for c in a["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
    ]
    ref = await http.get(f"{CANCEL}/{cancel['id']}", params={"fields": "serviceOrder.id"}, headers=headers)
    assert ref.json()["serviceOrder"] == {
        "@type": "ServiceOrderRef",
        "id": cancel["serviceOrder"]["id"],
        "href": cancel["serviceOrder"]["href"],
    }
    page = await http.get(
        SO, params={"customerId": customer, "limit": 1, "offset": 1, "fields": "state"}, headers=headers
    )
    assert (page.headers["X-Total-Count"], page.headers["X-Result-Count"]) == ("2", "1")
    # Both orders may carry the same creation instant (the workflow's clock), so the page is checked against the list.
    both = await http.get(SO, params={"customerId": customer, "fields": "state"}, headers=headers)
    assert {o["id"] for o in both.json()} == {a["id"], b["id"]}
    [second] = page.json()
    assert second == both.json()[1] and set(second) == {"id", "href", "@type", "state"}


async def test_every_error_class_is_a_tmf_error_body(http, login, two_orders, monkeypatch, caplog):
    customer, a, b, _ = two_orders
    coordinator = await login("coordinator1")
    bad_json = await http.post(SO, content=b"{,}", headers={**coordinator, "Content-Type": "application/json"})
    assert_tmf_error(bad_json, 400, "body: not valid JSON")
    assert_tmf_error(await http.post(SO, json=order_body(bandwidth=""), headers=coordinator), 400, "bandwidth")
    assert_tmf_error(await http.get(SO), 401)
    assert_tmf_error(await http.post(SO, json=order_body(), headers=await login("ops1")), 403)
    assert_tmf_error(await http.get(f"{SO}/SO-NOPE", headers=coordinator), 404, "SO-NOPE")
    assert_tmf_error(await http.get("/tmf-api/serviceOrdering/v4/nowhere", headers=coordinator), 404, "nowhere")
    assert_tmf_error(await http.delete(f"{SO}/{a['id']}", headers=coordinator), 405, "DELETE")
    assert_tmf_error(await http.patch(f"{SO}/{a['id']}", json={}, headers=coordinator), 405, "PATCH")
    again = await http.post(
        CANCEL, json={"serviceOrder": {"id": b["id"]}, "cancellationReason": "x"}, headers=coordinator
    )
    assert_tmf_error(again, 409, b["id"])

    def broken(row):
        raise RuntimeError(f"cannot show {row.customer_id}")

    monkeypatch.setattr(tmf641, "row_to_tmf", broken)
    with caplog.at_level(logging.ERROR):
        failed = await http.get(SO, params={"customerId": customer}, headers=coordinator)
    assert_tmf_error(failed, 500, "unexpected")
    assert "RuntimeError" in caplog.text and customer not in caplog.text and customer not in failed.text
