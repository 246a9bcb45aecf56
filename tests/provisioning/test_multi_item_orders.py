"""TMF641 orders of several items over HTTP: a provisioning order per item, the order's state aggregated by TMF641's
rules, GET / list / filters / fields= over the whole order, and a cancel that cancels every item still open."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.provisioning import order_state
from tests.provisioning.flow import BEIJING
from tests.provisioning.test_api import CANCEL, PO, SO, complete, open_task, order_body, upload
from tests.support import assert_tmf_error, eventually, rid


def two_items(now: datetime, **changes) -> dict:
    """An order of two circuits: Nanjing–Suzhou (intra-province) and Nanjing–Beijing (cross-province)."""
    body = order_body(now=now, **changes)
    [first] = order_body(now=now, **changes)["serviceOrderItem"]
    [second] = order_body(z=BEIJING, now=now, **changes)["serviceOrderItem"]
    return body | {"serviceOrderItem": [first | {"id": "a"}, second | {"id": "b"}]}


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (["acknowledged", "acknowledged"], "acknowledged"),
        (["acknowledged", "inProgress"], "inProgress"),
        (["completed", "inProgress"], "inProgress"),
        (["completed", "completed"], "completed"),
        (["completed", "cancelled"], "partial"),
        (["completed", "failed"], "partial"),
        (["failed", "cancelled"], "failed"),
        (["cancelled", "cancelled"], "cancelled"),
        (["completed", "pendingCancellation"], "pendingCancellation"),
        (["assessingCancellation", "inProgress"], "assessingCancellation"),
    ],
)
def test_the_order_state_follows_tmf641s_rules(states, expected):
    assert order_state(states) == expected


async def _order(http, headers, order_id: str, state: str) -> dict | None:
    body = (await http.get(f"{SO}/{order_id}", headers=headers)).json()
    return body if body["state"] == state else None


async def test_an_order_of_two_items_runs_one_provisioning_order_each(http, login, env, dispatch_simulator):
    coordinator, ops, reviewer = await login("coordinator1"), await login("ops1"), await login("reviewer1")
    now = max(datetime.now(UTC), await env.get_current_time())
    body, key = two_items(now), rid()
    created = await http.post(SO, json=body, headers={**coordinator, "Idempotency-Key": key})
    assert created.status_code == 201, created.text
    order = created.json()
    order_id = order["id"]
    assert created.headers["location"] == f"{SO}/{order_id}" and order["state"] == "acknowledged"
    assert [(i["id"], i["action"], i["state"]) for i in order["serviceOrderItem"]] == [
        ("a", "add", "acknowledged"),
        ("b", "add", "acknowledged"),
    ]
    items = [i["provisioningOrderId"] for i in order["serviceOrderItem"]]
    assert items == [f"{order_id}-1", f"{order_id}-2"]
    assert [i["scope"] for i in order["serviceOrderItem"]] == ["intra_province", "cross_province"]
    retried = await http.post(SO, json=body, headers={**coordinator, "Idempotency-Key": key})
    assert retried.status_code == 201 and retried.json()["id"] == order_id  # nothing new registered

    # GET, fields= and the list show one order; a filter on an item's attribute matches when any item does.
    got = await http.get(f"{SO}/{order_id}", params={"fields": "state,serviceOrderItem.state"}, headers=coordinator)
    assert got.json() == {
        "id": order_id,
        "href": f"{SO}/{order_id}",
        "@type": "ServiceOrder",
        "state": "acknowledged",
        "serviceOrderItem": [
            {"@type": "ServiceOrderItem", "id": "a", "state": "acknowledged"},
            {"@type": "ServiceOrderItem", "id": "b", "state": "acknowledged"},
        ],
    }
    assert_tmf_error(await http.get(f"{SO}/{items[0]}", headers=coordinator), 404, items[0])
    listed = await http.get(SO, params={"id": order_id}, headers=coordinator)
    assert listed.headers["x-total-count"] == "1" and [o["id"] for o in listed.json()] == [order_id]
    assert order["scope"] == "cross_province"  # the order spans provinces: one of its items does
    for params in ({"scope": "cross_province"}, {"circuitType": "mpls_vpn"}, {"state": "acknowledged"}):
        found = await http.get(SO, params={**params, "externalId": body["externalId"]}, headers=coordinator)
        assert [o["id"] for o in found.json()] == [order_id], params
    intra = await http.get(
        SO, params={"scope": "intra_province", "externalId": body["externalId"]}, headers=coordinator
    )
    assert intra.json() == []
    none = await http.get(SO, params={"state": "inProgress", "externalId": body["externalId"]}, headers=coordinator)
    assert none.json() == [] and none.headers["x-total-count"] == "0"
    every = (await http.get(SO, params={"limit": 500}, headers=coordinator)).json()
    assert order_id in [o["id"] for o in every] and not set(items) & {o["id"] for o in every}

    # The first item is provisioned to completion on its own provisioning order; the order is then inProgress.
    first = items[0]
    assert (await complete(http, coordinator, first, "dispatch")).status_code == 200
    order = await eventually(lambda: _order(http, coordinator, order_id, "inProgress"), what="order in progress")
    assert [i["state"] for i in order["serviceOrderItem"]] == ["inProgress", "acknowledged"]
    for step in ("data_configuration", "activation", "testing"):
        assert (await complete(http, ops, first, step)).status_code == 200
    documents = [upload("completion_order"), upload("test_report")]
    assert (await complete(http, ops, first, "completion_order", documents=documents)).status_code == 200
    await open_task(http, reviewer, first, "review")
    approved = await http.post(f"{PO}/{first}/review", json={"outcome": "approve"}, headers=reviewer)
    assert approved.status_code == 200, approved.text

    async def first_completed():
        order = (await http.get(f"{SO}/{order_id}", headers=coordinator)).json()
        return order if order["serviceOrderItem"][0]["state"] == "completed" else None

    order = await eventually(first_completed, what="first item completed")
    assert order["state"] == "inProgress" and order["completionDate"] is None
    assert {m["serviceOrderItem"][0]["itemId"] for m in order["milestone"]} == {"a"}
    assert all(m["serviceOrderItem"][0]["serviceOrderId"] == order_id for m in order["milestone"])

    # The cancel cancels the item still open; the completed one stays completed: the order ends partial.
    cancelled = await http.post(
        CANCEL, json={"serviceOrder": {"id": order_id}, "cancellationReason": "客户撤销北京线路"}, headers=coordinator
    )
    assert cancelled.status_code == 201, cancelled.text
    cancel_id = cancelled.json()["id"]
    assert cancelled.headers["location"] == f"{CANCEL}/{cancel_id}"
    assert cancelled.json()["serviceOrder"]["id"] == order_id

    async def cancel_done():
        body = (await http.get(f"{CANCEL}/{cancel_id}", headers=coordinator)).json()
        return body if body["state"] == "done" else None

    cancel = await eventually(cancel_done, what="cancel done")
    assert cancel["effectiveCancellationDate"] and cancel["cancellationReason"] == "客户撤销北京线路"
    order = await eventually(lambda: _order(http, coordinator, order_id, "partial"), what="order partial")
    assert [i["state"] for i in order["serviceOrderItem"]] == ["completed", "cancelled"]
    assert order["completionDate"] and order["cancellationReason"] == "客户撤销北京线路"
    partial = await http.get(SO, params={"state": "partial", "id": order_id}, headers=coordinator)
    assert [o["id"] for o in partial.json()] == [order_id]
    cancels = await http.get(CANCEL, params={"serviceOrder.id": order_id}, headers=coordinator)
    assert [c["id"] for c in cancels.json()] == [cancel_id]
    by_id = await http.get(CANCEL, params={"id": cancel_id}, headers=coordinator)
    assert [c["id"] for c in by_id.json()] == [cancel_id]
    again = await http.post(
        CANCEL, json={"serviceOrder": {"id": order_id}, "cancellationReason": "again"}, headers=coordinator
    )
    assert_tmf_error(again, 409, "no item can be cancelled")


async def test_a_cancel_before_any_work_cancels_every_item(http, login, env):
    coordinator = await login("coordinator1")
    now = max(datetime.now(UTC), await env.get_current_time())
    created = await http.post(SO, json=two_items(now), headers=coordinator)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    key = rid()
    cancelled = await http.post(
        CANCEL,
        json={"serviceOrder": {"id": order_id}, "cancellationReason": "客户撤单"},
        headers={**coordinator, "Idempotency-Key": key},
    )
    assert cancelled.status_code == 201, cancelled.text
    replayed = await http.post(
        CANCEL,
        json={"serviceOrder": {"id": order_id}, "cancellationReason": "客户撤单"},
        headers={**coordinator, "Idempotency-Key": key},
    )
    assert replayed.status_code == 201 and replayed.json()["id"] == cancelled.json()["id"]
    order = await eventually(lambda: _order(http, coordinator, order_id, "cancelled"), what="order cancelled")
    assert [i["state"] for i in order["serviceOrderItem"]] == ["cancelled", "cancelled"]


async def test_items_are_refused_naming_the_item(http, login, env):
    coordinator = await login("coordinator1")
    now = max(datetime.now(UTC), await env.get_current_time())
    body = two_items(now)
    body["serviceOrderItem"][1]["service"]["serviceCharacteristic"].append({"name": "colour", "value": "blue"})
    assert_tmf_error(await http.post(SO, json=body, headers=coordinator), 400, "serviceOrderItem[1]: ")
    body = two_items(now)
    body["serviceOrderItem"][1]["action"] = "modify"
    assert_tmf_error(await http.post(SO, json=body, headers=coordinator), 400, "serviceOrderItem[1]: ")
    body = two_items(now)
    body["serviceOrderItem"][1] |= {"action": "delete", "service": {"id": "CIR-NOPE"}}
    assert_tmf_error(await http.post(SO, json=body, headers=coordinator), 400, "serviceOrderItem[1]: ")
    body = two_items(now)
    body["serviceOrderItem"][1]["id"] = "a"
    assert_tmf_error(await http.post(SO, json=body, headers=coordinator), 400, "given twice")
    body = two_items(now)
    body["serviceOrderItem"] *= 11
    assert_tmf_error(await http.post(SO, json=body, headers=coordinator), 400, "at most")
    listed = await http.get(SO, params={"externalId": body["externalId"]}, headers=coordinator)
    assert listed.json() == []  # nothing was registered


async def test_every_list_filter_finds_an_order_of_several_items(http, login, env):
    coordinator = await login("coordinator1")
    now = max(datetime.now(UTC), await env.get_current_time())
    customer = f"C-{rid()[:8]}"
    body = two_items(now) | {"customerId": customer}
    body["serviceOrderItem"][1]["service"]["serviceCharacteristic"][0]["value"] = "ddn"  # item b: a DDN circuit
    created = await http.post(SO, json=body, headers=coordinator)
    assert created.status_code == 201, created.text

    async def planned():  # both items' workflows have planned their steps
        order = (await http.get(f"{SO}/{created.json()['id']}", headers=coordinator)).json()
        return order if all(i["currentStep"] for i in order["serviceOrderItem"]) else None

    order = await eventually(planned, what="both items planned")
    first = order["serviceOrderItem"][0]
    hits = {
        "id": order["id"],
        "state": "acknowledged",
        "category": "circuitProvisioning",
        "externalId": body["externalId"],
        "orderDate.gte": "2000-01-01T00:00:00+00:00",
        "requestedCompletionDate": order["requestedCompletionDate"],
        "lastUpdate.gt": "2000-01-01T00:00:00+00:00",
        "serviceOrderItem.service.serviceType": "ddn",  # the second item's
        "orderStatus": first["orderStatus"],
        "circuitType": "mpls_vpn,atm",
        "scope": "cross_province",
        "customerId": customer,
        "currentStep": "dispatch",
    }
    for name, value in hits.items():
        listed = await http.get(SO, params=[("customerId", customer), (name, value)], headers=coordinator)
        assert listed.status_code == 200, (name, listed.text)
        assert [o["id"] for o in listed.json()] == [order["id"]], (name, value)
        assert listed.headers["x-total-count"] == "1"
    for name, value in {
        "state": "completed",
        "circuitType": "atm",
        "completionDate.gt": "2000-01-01T00:00:00Z",
    }.items():
        listed = await http.get(SO, params=[("customerId", customer), (name, value)], headers=coordinator)
        assert listed.json() == [], (name, value)
    sorted_ = await http.get(SO, params={"customerId": customer, "sort": "-state", "fields": "id"}, headers=coordinator)
    assert [o["id"] for o in sorted_.json()] == [order["id"]]
