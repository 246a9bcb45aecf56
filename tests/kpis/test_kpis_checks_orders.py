"""Resource-check and activation timeliness over HTTP, against checks and orders walked on the time-skipping clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Reservation, ResourceCheckRow, SlaBreach
from tests.provisioning.test_api import SO, complete, open_task, order_body, upload
from tests.resource_checks.test_api import SQ, request_body
from tests.support import eventually, rid, skip_to

CENTER = ZoneInfo("Asia/Shanghai")


async def _kpi(http, headers, name: str, first, last, **filters) -> dict:
    params = {"from": first.isoformat(), "to": last.isoformat()} | filters
    response = await http.get(f"/api/kpis/{name}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _check(http, requester, customer: str) -> str:
    created = await http.post(SQ, json=request_body(customer), headers=requester)
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def _answer_and_accept(http, login, check_id: str) -> None:
    base = f"/api/resource-checks/{check_id}"
    for user, department in (("fixed1", "fixed-network"), ("ops1", "operations")):
        headers = await login(user)

        async def task(headers=headers):
            params = {"business_ref": check_id, "kind": "rc_answer"}
            return (await http.get("/api/tasks", params=params, headers=headers)).json()["items"] or None

        await eventually(task, what=f"{department}'s line of {check_id}")
        body = {"type": "answer", "item_id": "1", "department": department, "result": "qualified"}
        answered = await http.post(f"{base}/acts", json=body, headers=headers)
        assert answered.status_code == 200, answered.text
    requester = await login("gcd1")

    async def reported():
        body = (await http.get(f"{SQ}/{check_id}", headers=requester)).json()
        return body if body["state"] == "done" else None

    await eventually(reported, what=f"{check_id} reported")
    accepted = await http.post(f"{base}/acts", json={"type": "accept"}, headers=requester)
    assert accepted.status_code == 200, accepted.text


async def test_resource_check_timeliness_and_department_breaches(env, http, login, sync_session):
    requester, coordinator = await login("gcd1"), await login("coordinator1")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    first = (await env.get_current_time()).astimezone(CENTER).date()

    prompt = await _check(http, requester, customer)
    await _answer_and_accept(http, login, prompt)

    # The second check's departments answer only after its deadline: late, and one breach per unanswered line.
    late = await _check(http, requester, customer)

    async def due():
        with sync_session() as s:
            row = s.scalars(select(ResourceCheckRow).where(ResourceCheckRow.check_id == late)).one_or_none()
            return row if row and row.due_at else None

    row = await eventually(due, what="the late check's deadline")
    await skip_to(env, row.due_at + timedelta(minutes=1))

    def breaches() -> list[str]:
        with sync_session() as s:
            return sorted(s.scalars(select(SlaBreach.responsible).where(SlaBreach.workflow_id == row.workflow_id)))

    async def both():
        return breaches() if len(breaches()) >= 2 else None

    assert await eventually(both, what="both lines breached") == ["department fixed-network", "department operations"]
    await _answer_and_accept(http, login, late)
    last = (await env.get_current_time()).astimezone(CENTER).date()

    timeliness = await _kpi(http, coordinator, "resource_check_timeliness", first, last, customer=customer)
    assert (timeliness["numerator"], timeliness["denominator"], timeliness["value"]) == (1, 2, 0.5)
    assert timeliness["met"] is False and timeliness["owner"] == "coordinator"

    for filters, expected in [
        ({}, 2),
        ({"department": "fixed-network"}, 1),
        ({"person": "fixed1"}, 1),
        ({"person": "ops1"}, 1),
        ({"person": "mobile1"}, 0),
        ({"person": "coordinator1"}, 0),
    ]:
        answer = await _kpi(http, coordinator, "sla_breaches", first, last, customer=customer, **filters)
        assert answer["numerator"] == expected, (filters, answer)
        assert answer["counts"].get("unclaimed", expected) == expected  # unclaimed lines, charged to candidates

    # Per person: each line's department staff and its head answer for the unclaimed line; nobody else.
    async def breakdown(by: str, headers=coordinator) -> list[tuple[str, int, int]]:
        params = {"by": by, "from": first.isoformat(), "to": last.isoformat(), "customer": customer}
        response = await http.get("/api/kpis/sla_breaches/breakdown", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [(i["who"], i["breaches"], i["unclaimed"]) for i in response.json()["items"]]

    # Users other test modules add to these departments (kx-…) are candidates too; the seeded staff are checked.
    seeded = [row for row in await breakdown("person") if not row[0].startswith("kx-")]
    assert seeded == [("fixed1", 1, 1), ("fixedhead", 1, 1), ("ops1", 1, 1), ("opshead", 1, 1)]
    assert await breakdown("department") == [("fixed-network", 1, 1), ("operations", 1, 1)]
    bad = await http.get("/api/kpis/sla_breaches/breakdown", params={"by": "team"}, headers=coordinator)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("by:")

    # Department staff see their own department's figures only.
    fixed = await login("fixed1")
    own = await _kpi(http, fixed, "sla_breaches", first, last, customer=customer)
    assert own["numerator"] == 1 and own["filters"] == {"customer": customer, "department": "fixed-network"}
    params = {"from": first.isoformat(), "to": last.isoformat()}
    other = await http.get("/api/kpis/sla_breaches", params={**params, "department": "operations"}, headers=fixed)
    assert other.status_code == 403, other.text
    # Check timeliness is measured per department too (the department of the check's tasks): held to their own.
    checks = await _kpi(http, fixed, "resource_check_timeliness", first, last, customer=customer)
    assert checks["filters"] == {"customer": customer, "department": "fixed-network"}
    assert (
        checks["denominator"]
        == (await _kpi(http, coordinator, "resource_check_timeliness", first, last, customer=customer))["denominator"]
    )
    listing = await http.get("/api/kpis/sla_breaches/breakdown", params={"by": "person", **params}, headers=fixed)
    assert listing.status_code == 403


async def test_activation_timeliness(env, http, login, sync_session, dispatch_simulator):
    coordinator, ops, reviewer = await login("coordinator1"), await login("ops1"), await login("reviewer1")
    customer = f"C-{uuid.uuid4().hex[:8]}"
    first = (await env.get_current_time()).astimezone(CENTER).date()

    async def order(days: int, *, skip_before_review: timedelta | None = None) -> str:
        reservation_id = f"RSV-{rid()}"
        with sync_session() as s:
            expires = datetime.now(UTC) + timedelta(days=365)
            s.add(Reservation(reservation_id=reservation_id, check_id="RC-kpi", item_id="1", expires_at=expires))
            s.commit()
        now = max(datetime.now(UTC), await env.get_current_time())
        body = order_body(reservation_id=reservation_id, now=now, days=days) | {"customerId": customer}
        created = await http.post(SO, json=body, headers={**coordinator, "Idempotency-Key": rid()})
        assert created.status_code == 201, created.text
        order_id = created.json()["id"]
        assert (await complete(http, coordinator, order_id, "dispatch")).status_code == 200
        for step in ("data_configuration", "activation", "testing"):
            assert (await complete(http, ops, order_id, step)).status_code == 200
        documents = [upload("completion_order"), upload("test_report")]
        assert (await complete(http, ops, order_id, "completion_order", documents=documents)).status_code == 200
        if skip_before_review:
            await skip_to(env, await env.get_current_time() + skip_before_review)
        await open_task(http, reviewer, order_id, "review")
        approved = await http.post(
            f"/api/provisioning-orders/{order_id}/review", json={"outcome": "approve"}, headers=reviewer
        )
        assert approved.status_code == 200, approved.text

        async def completed():
            body = (await http.get(f"{SO}/{order_id}", headers=coordinator)).json()
            return body if body["state"] == "completed" else None

        return (await eventually(completed, what=f"{order_id} completed"))["timeliness"]["onTime"]

    assert await order(20) is True
    assert await order(2, skip_before_review=timedelta(days=3)) is False
    last = (await env.get_current_time()).astimezone(CENTER).date()
    answer = await _kpi(http, coordinator, "activation_timeliness", first, last, customer=customer)
    assert (answer["numerator"], answer["denominator"], answer["value"], answer["met"]) == (1, 2, 0.5, False)
    refused = await http.get(
        "/api/kpis/activation_timeliness", params={"from": first.isoformat(), "to": last.isoformat()}, headers=reviewer
    )
    assert refused.status_code == 403
