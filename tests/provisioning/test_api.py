"""TMF641 service orders and the provisioning act routes, over HTTP only, as the people involved would use them."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from core.reservations import ReservationStatus
from db.models import Notification, Reservation
from tests.provisioning.flow import BEIJING, NANJING, SUZHOU
from tests.support import assert_tmf_error, audit_rows, eventually, rid

SO = "/tmf-api/serviceOrdering/v4/serviceOrder"
CANCEL = "/tmf-api/serviceOrdering/v4/cancelServiceOrder"
PO = "/api/provisioning-orders"


def order_body(
    *, z=SUZHOU, reservation_id: str | None = None, days: int = 20, now: datetime | None = None, **characteristics
) -> dict:
    """A TMF641 create for one MPLS-VPN circuit, due `days` after `now` (the real time by default)."""
    values = {
        "circuitType": "mpls_vpn",
        "aEnd": NANJING.model_dump(),
        "zEnd": z.model_dump(),
        "bandwidth": "100M",
        **({"reservationId": reservation_id} if reservation_id else {}),
        **characteristics,
    }
    due = ((now or datetime.now(UTC)) + timedelta(days=days)).isoformat()
    return {
        "externalId": f"EXT-{rid()[:8]}",
        "description": "南京—苏州 MPLS-VPN 专线",
        "requestedCompletionDate": due,
        "customerId": "C-3001",
        "serviceOrderItem": [
            {
                "id": "1",
                "action": "add",
                "service": {"serviceCharacteristic": [{"name": k, "value": v} for k, v in values.items()]},
            }
        ],
    }


def upload(kind: str) -> dict:
    content = f"{kind} for the circuit, signed".encode()
    return {
        "kind": kind,
        "filename": f"{kind}.pdf",
        "content_type": "application/pdf",
        "content_base64": base64.b64encode(content).decode(),
    }


async def open_task(http, headers, order_id: str, kind: str) -> dict:
    """The order's open task of a kind, as the inbox shows it once the workflow opened it."""

    async def probe():
        detail = (await http.get(f"{PO}/{order_id}", headers=headers)).json()
        task = next((t for t in detail["tasks"] if t["kind"] == kind and t["status"] == "open"), None)
        step = next((s for s in detail["order"]["steps"] if s["step"] == kind), None)
        return (
            task if task and step and step["taskId"] == task["task_id"] else None
        )  # the order names it: acts are accepted

    return await eventually(probe, what=f"open {kind} task of {order_id}")


async def complete(http, headers, order_id: str, step: str, **body) -> httpx.Response:
    await open_task(http, headers, order_id, step)
    return await http.post(
        f"{PO}/{order_id}/steps/{step}/complete", json={"note": f"{step} done", **body}, headers=headers
    )


async def test_one_order_from_creation_to_ledger_over_http(http, login, sync_session, dispatch_simulator, env):
    coordinator, ops, reviewer = await login("coordinator1"), await login("ops1"), await login("reviewer1")
    reservation_id = f"RSV-{rid()}"
    with sync_session() as s:
        s.add(
            Reservation(
                reservation_id=reservation_id,
                check_id="RC-api",
                item_id="1",
                status="held",
                expires_at=datetime.now(UTC) + timedelta(days=365),
            )
        )
        s.commit()

    # The workflow runs on the test server's clock, which earlier tests may have moved ahead of the real one.
    now = max(datetime.now(UTC), await env.get_current_time())
    body, key = order_body(reservation_id=reservation_id, now=now), rid()
    created = await http.post(SO, json=body, headers={**coordinator, "Idempotency-Key": key})
    assert created.status_code == 201, created.text
    order = created.json()
    order_id = order["id"]
    retried = await http.post(
        SO, json=body, headers={**coordinator, "Idempotency-Key": key}
    )  # a retry starts nothing new
    assert retried.status_code == 201 and retried.json()["id"] == order_id
    assert created.headers["location"] == f"{SO}/{order_id}" and order["state"] == "acknowledged"
    assert order["scope"] == "intra_province" and order["serviceOrderItem"][0]["action"] == "add"

    dispatch = await open_task(http, coordinator, order_id, "dispatch")
    assert dispatch["candidate_roles"] == ["coordinator"]
    assert (await complete(http, coordinator, order_id, "dispatch")).status_code == 200
    for step in ("data_configuration", "activation", "testing"):
        response = await complete(http, ops, order_id, step)
        assert response.status_code == 200, response.text
    before = len(audit_rows(sync_session, actor="ops1", subject_id=order_id, outcome="refused"))
    missing = await complete(http, ops, order_id, "completion_order", documents=[upload("completion_order")])
    assert missing.status_code == 422 and "test_report" in missing.json()["detail"]
    assert len(audit_rows(sync_session, actor="ops1", subject_id=order_id, outcome="refused")) == before + 1
    done = await complete(
        http, ops, order_id, "completion_order", documents=[upload("completion_order"), upload("test_report")]
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "inProgress" and done.json()["orderStatus"] == "in_review"
    docs = (await http.get(f"{PO}/{order_id}/documents", headers=reviewer)).json()
    assert {d["kind"] for d in docs} == {"completion_order", "test_report"}
    assert docs[0]["sha256"] == hashlib.sha256(base64.b64decode(upload(docs[0]["kind"])["content_base64"])).hexdigest()

    await open_task(http, reviewer, order_id, "review")
    refused = await http.post(f"{PO}/{order_id}/review", json={"outcome": "approve"}, headers=ops)
    assert refused.status_code == 403 and "reviewers only" in refused.json()["detail"]
    approved = await http.post(f"{PO}/{order_id}/review", json={"outcome": "approve"}, headers=reviewer)
    assert approved.status_code == 200, approved.text

    async def completed():
        body = (await http.get(f"{SO}/{order_id}", headers=coordinator)).json()
        return body if body["state"] == "completed" else None

    order = await eventually(completed, what="order completed")
    assert order["serviceOrderItem"][0]["state"] == "completed" and order["completionDate"]
    assert order["circuitId"] and order["serviceOrderItem"][0]["service"]["id"] == order["circuitId"]
    assert [m["name"] for m in order["milestone"]] == [
        "dispatchCompleted",
        "data_configurationCompleted",
        "activationCompleted",
        "testingCompleted",
        "completion_orderCompleted",
        "reviewApproved",
        "completionReported",
    ]
    assert order["timeliness"]["onTime"] is True and order["jeopardyAlert"] == []

    ledger = (await http.get("/api/circuit-ledger", params={"order_id": order_id}, headers=reviewer)).json()
    assert len(ledger) == 1 and ledger[0]["status"] == "active" and ledger[0]["circuit_id"] == order["circuitId"]
    assert ledger[0]["on_time"] is True and {d["kind"] for d in ledger[0]["documents"]} == {
        "completion_order",
        "test_report",
    }
    one = await http.get(f"/api/circuit-ledger/{order['circuitId']}", headers=reviewer)
    assert one.status_code == 200 and one.json()["a_end"]["city"] == "南京"

    rates = (await http.get("/api/circuit-ledger/timeliness", headers=reviewer)).json()
    assert rates["completed"] >= 1 and 0 < rates["timeliness_rate"] <= 1 and rates["average_cycle_hours"] > 0
    assert rates["steps"]["review"]["done"] >= 1

    url, _ = dispatch_simulator
    async with httpx.AsyncClient() as client:
        received = (await client.get(f"{url}/completions")).json()
    report = next(r for r in received if r["report"]["order_id"] == order_id)
    assert report["report"]["circuit_id"] == order["circuitId"] and order["dispatchReceipt"] == report["receipt"]
    assert len(report["report"]["documents"]) == 2
    with sync_session() as s:
        assert s.get(Reservation, reservation_id).status == ReservationStatus.CLAIMED
        notices = s.scalars(
            select(Notification).where(
                Notification.recipient_department == "group-customer",
                Notification.workflow_id == f"provisioning-{order_id}",
            )
        ).all()
        assert len(notices) == 1 and order["circuitId"] in notices[0].message


async def test_tmf_errors_fields_filters_and_roles(http, login, sync_session):
    coordinator = await login("coordinator1")
    assert_tmf_error(await http.get(f"{SO}/SO-NOPE", headers=coordinator), 404, "SO-NOPE")
    assert_tmf_error(await http.get(f"{CANCEL}/CSO-NOPE", headers=coordinator), 404, "CSO-NOPE")
    bad = order_body(bandwidth="")
    assert_tmf_error(await http.post(SO, json=bad, headers=coordinator), 400, "bandwidth")
    unknown = order_body(colour="blue")
    assert_tmf_error(await http.post(SO, json=unknown, headers=coordinator), 400, "colour")
    two = order_body()
    two["serviceOrderItem"] *= 2
    assert_tmf_error(await http.post(SO, json=two, headers=coordinator), 400, "serviceOrderItem")
    no_date = {k: v for k, v in order_body().items() if k != "requestedCompletionDate"}
    assert_tmf_error(await http.post(SO, json=no_date, headers=coordinator), 400, "requestedCompletionDate")
    past = order_body(days=-1)
    assert_tmf_error(await http.post(SO, json=past, headers=coordinator), 400, "requestedCompletionDate: must be in")
    # Only coordinators (and supervisors, admins) order circuits; a refused write is journaled.
    before = len(audit_rows(sync_session, actor="ops1", subject_id=SO, outcome="refused"))
    assert_tmf_error(await http.post(SO, json=order_body(), headers=await login("ops1")), 403, "coordinator")
    assert len(audit_rows(sync_session, actor="ops1", subject_id=SO, outcome="refused")) == before + 1

    cross = await http.post(SO, json=order_body(z=BEIJING), headers=coordinator)
    assert cross.status_code == 201, cross.text
    order_id = cross.json()["id"]
    listed = await http.get(
        SO, params={"scope": "cross_province", "fields": "state,scope", "limit": 500}, headers=coordinator
    )
    assert listed.status_code == 200 and int(listed.headers["x-total-count"]) >= 1
    mine = next(o for o in listed.json() if o["id"] == order_id)
    assert set(mine) == {"id", "href", "@type", "state", "scope"} and mine["scope"] == "cross_province"
    assert all(o["scope"] == "cross_province" for o in listed.json())
    got = await http.get(f"{SO}/{order_id}", params={"fields": "jeopardyAlert,milestone"}, headers=coordinator)
    assert set(got.json()) == {"id", "href", "@type", "jeopardyAlert", "milestone"}
    await open_task(http, coordinator, order_id, "dispatch")
    hq = await open_task(http, coordinator, order_id, "dispatch")
    assert hq["candidate_department"] == "hq-operations"
    wrong = await http.post(f"{PO}/{order_id}/steps/dispatch/complete", json={}, headers=coordinator)
    assert wrong.status_code == 403 and "hq-operations" in wrong.json()["detail"]
    assert (await complete(http, await login("hqops1"), order_id, "dispatch")).status_code == 200

    # Cancel as TMF describes it: assessingCancellation → pendingCancellation → cancelled, the cancel request done.
    assert_tmf_error(
        await http.post(CANCEL, json={"serviceOrder": {"id": order_id}}, headers=coordinator), 400, "cancellationReason"
    )
    cancelled = await http.post(
        CANCEL, json={"serviceOrder": {"id": order_id}, "cancellationReason": "客户撤单"}, headers=coordinator
    )
    assert cancelled.status_code == 201, cancelled.text
    cancel_id = cancelled.json()["id"]
    assert cancelled.headers["location"] == f"{CANCEL}/{cancel_id}"

    async def done():
        body = (await http.get(f"{CANCEL}/{cancel_id}", headers=coordinator)).json()
        return body if body["state"] == "done" else None

    cancel = await eventually(done, what="cancel done")
    assert cancel["serviceOrder"]["id"] == order_id and cancel["effectiveCancellationDate"]
    order = (await http.get(f"{SO}/{order_id}", headers=coordinator)).json()
    assert order["state"] == "cancelled" and order["cancellationReason"] == "客户撤单"
    again = await http.post(
        CANCEL, json={"serviceOrder": {"id": order_id}, "cancellationReason": "again"}, headers=coordinator
    )
    assert_tmf_error(again, 409, order_id)
    ledger = (await http.get("/api/circuit-ledger", params={"order_id": order_id}, headers=coordinator)).json()
    assert ledger[0]["status"] == "cancelled"


async def test_presales_demand_started_and_ended_over_http(http, login):
    coordinator, presales = await login("coordinator1"), await login("presales1")
    body = {
        "customer_id": "C-5001",
        "customer_name": "华信物流有限公司",
        "contact": "13812345678",
        "description": "两地互联",
        "items": [
            {
                "item_id": "1",
                "sites": ["南京市鼓楼区中山路 1 号"],
                "service_type": "internet",
                "circuit_type": "mpls-vpn",
                "bandwidth": "100M",
                "wanted_date": "2027-03-01",
            }
        ],
        "circuit_type": "mpls_vpn",
        "a_end": NANJING.model_dump(),
        "z_end": SUZHOU.model_dump(),
        "bandwidth": "100M",
        "requested_completion": (datetime.now(UTC) + timedelta(days=40)).isoformat(),
    }
    refused = await http.post("/api/presales-demands", json=body, headers=presales)
    assert refused.status_code == 403
    bad = await http.post("/api/presales-demands", json={**body, "items": []}, headers=coordinator)
    assert bad.status_code == 422 and "items" in bad.json()["detail"]
    key = rid()
    started = await http.post("/api/presales-demands", json=body, headers={**coordinator, "Idempotency-Key": key})
    assert started.status_code == 201, started.text
    demand = started.json()["demand"]
    assert demand["request"]["contact"] == "138****5678" and demand["status"] == "product_fit"
    again = await http.post("/api/presales-demands", json=body, headers={**coordinator, "Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["demand"]["demand_id"] == demand["demand_id"]

    async def fit_task():
        view = (await http.get(f"/api/presales-demands/{demand['demand_id']}", headers=presales)).json()
        return next((t for t in view["tasks"] if t["kind"] == "product_fit" and t["status"] == "open"), None)

    task = await eventually(fit_task, what="product fit task")
    assert task["candidate_department"] == "product-support"
    decided = await http.post(
        f"/api/tasks/{task['task_id']}/decision", json={"outcome": "no_fit", "comment": "无匹配产品"}, headers=presales
    )
    assert decided.status_code == 200, decided.text

    async def ended():
        view = (await http.get(f"/api/presales-demands/{demand['demand_id']}", headers=coordinator)).json()
        return view if view["demand"]["status"] == "ended" else None

    view = await eventually(ended, what="demand ended")
    assert view["demand"]["end_reason"] == "product_fit: 无匹配产品" and view["demand"]["order_id"] is None
    assert (await http.get("/api/presales-demands/PS-NOPE", headers=coordinator)).status_code == 404
