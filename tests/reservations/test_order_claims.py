"""Reservations with a life of their own: validated at order create (nothing starts when refused), claimed as
the order is accepted and kept for its whole life, released by its cancel, shown as they stand wherever shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core.provisioning import OrderInput, OrderOutcome, OrderStatus, workflow_id_for
from core.reservations import ReservationStatus
from db.models import Reservation, ServiceOrderRow
from db.provisioning import new_order_id
from tests.provisioning.flow import COORDINATOR, OrderFlow, spec
from tests.provisioning.test_api import CANCEL, SO, order_body
from tests.reservations.flow import accepted_check
from tests.support import assert_tmf_error, eventually, finished, rid, skip_to

CUSTOMER = "C-2001"  # the check flow's customer
SQ = "/tmf-api/serviceQualificationManagement/v4/checkServiceQualification"


def _order(reservation_id: str | None, *, customer: str = CUSTOMER, now: datetime, **characteristics) -> dict:
    body = order_body(now=now, **({"reservationId": reservation_id} if reservation_id else {}), **characteristics)
    return {**body, "customerId": customer}


def _row(sync_session, reservation_id: str, **values) -> None:
    with sync_session() as s:
        s.add(Reservation(reservation_id=reservation_id, check_id="RC-none", item_id="1", **values))
        s.commit()


def _orders(sync_session) -> int:
    with sync_session() as s:
        return s.scalar(select(func.count()).select_from(ServiceOrderRow))


async def test_create_validates_the_reservation_and_a_cancel_releases_it_everywhere(
    env, worker, task_queue, http, login, sync_session
):
    coordinator, auditor = await login("coordinator1"), await login("auditor1")
    flow, check = await accepted_check(env, task_queue)
    other, _ = await accepted_check(env, task_queue)
    [held] = check.round.reservations
    rsv = held.reservation_id
    now = max(datetime.now(UTC), await env.get_current_time())
    _row(sync_session, expired := f"RSV-{rid()}", status="held", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    _row(
        sync_session,
        released := f"RSV-{rid()}",
        status="released",
        release_reason="check cancelled",
        expires_at=datetime.now(UTC) + timedelta(days=9),
    )
    before = _orders(sync_session)
    refusals = [
        (_order("RSV-NOPE", now=now), 400, "reservationId: reservation RSV-NOPE does not exist"),
        (_order(None, now=now, resourceCheckId="RC-NOPE"), 400, "resourceCheckId: resource check RC-NOPE"),
        (_order(rsv, customer="C-3001", now=now), 400, "reservationId:", "another customer"),
        (_order(rsv, now=now, circuitType="ddn"), 400, "reservationId:", "another service"),
        (_order(rsv, now=now, resourceCheckId=other.check_id), 400, "reservationId:", "belongs to resource check"),
        (_order(expired, now=now), 409, "reservationId:", "expired"),
        (_order(released, now=now), 409, "reservationId:", "released (check cancelled)"),
    ]
    for body, status, *words in refusals:
        assert_tmf_error(await http.post(SO, json=body, headers=coordinator), status, *words)
    assert _orders(sync_session) == before  # nothing was started

    created = await http.post(SO, json=_order(rsv, now=now), headers=coordinator)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    characteristics = {
        c["name"]: c["value"] for c in created.json()["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
    }
    assert characteristics["resourceCheckId"] == flow.check_id  # the order follows the reservation's check

    async def reservation(status: str):
        body = (await http.get(f"/api/reservations/{rsv}", headers=auditor)).json()
        return body if body["status"] == status else None

    claimed = await eventually(lambda: reservation("claimed"), what="claimed as the order is accepted")
    assert claimed["claimed_by_order"] == order_id and [e["event"] for e in claimed["history"]] == ["held", "claimed"]
    assert claimed["check_id"] == flow.check_id and claimed["held_at"] and "resources" in claimed
    assert_tmf_error(await http.post(SO, json=_order(rsv, now=now), headers=coordinator), 409, "already claimed")
    mine = (await http.get("/api/reservations", params={"order_id": order_id}, headers=auditor)).json()
    assert [r["reservation_id"] for r in mine["items"]] == [rsv]

    cancel = {"serviceOrder": {"id": order_id}, "cancellationReason": "客户撤单"}
    assert (await http.post(CANCEL, json=cancel, headers=coordinator)).status_code == 201
    gone = await eventually(lambda: reservation("released"), what="released by the cancel")
    assert f"order {order_id} cancelled" in gone["release_reason"]
    assert [e["event"] for e in gone["history"]] == ["held", "claimed", "released"]
    # The check shows the reservation as it stands, not as it was when the check last saved.
    tmf = (await http.get(f"{SQ}/{flow.check_id}", headers=auditor)).json()
    item = tmf["serviceQualificationItem"][0]
    assert item["reservation"]["status"] == "released" and item["expirationDate"] is None
    assert tmf["rounds"][0]["reservations"][0]["status"] == "released"
    plain = (await http.get(f"/api/resource-checks/{flow.check_id}", headers=auditor)).json()
    assert plain["check"]["serviceQualificationItem"][0]["reservation"]["status"] == "released"
    ledger = (await http.get("/api/resource-checks/ledger", params={"customer_id": CUSTOMER}, headers=auditor)).json()
    row = next(r for r in ledger["items"] if r["check_id"] == flow.check_id)
    assert row["reservations"][0]["status"] == "released"
    assert (await http.get("/api/reservations/RSV-NOPE", headers=auditor)).status_code == 404


async def test_an_order_that_outlives_the_reservation_validity_completes_with_it_claimed(
    env, worker, task_queue, sync_session
):
    check_flow, check = await accepted_check(env, task_queue)
    [held] = check.round.reservations
    flow = await OrderFlow.start(
        env,
        task_queue,
        spec(
            await env.get_current_time(),
            days=60,
            reservation_id=held.reservation_id,
            resource_check_id=check.check_id,
            customer_id=CUSTOMER,
        ),
    )
    order = await flow.order()
    assert order.reservation.status == ReservationStatus.CLAIMED  # claimed as the order was accepted
    await skip_to(env, held.expires_at + timedelta(days=1))
    await finished(env, check_flow.handle)  # the check's expiry came and went: the claimed reservation stays
    await flow.run_steps()
    await flow.review("approve")
    assert (await finished(env, flow.handle)).status == OrderStatus.COMPLETED
    with sync_session() as s:
        row = s.get(Reservation, held.reservation_id)
        assert (row.status, row.claimed_by_order) == ("claimed", order.order_id)
        assert [e["event"] for e in row.history] == ["held", "claimed"]


async def test_an_order_whose_reservation_is_gone_fails_at_once(env, worker, task_queue, sync_session):
    """Started by a workflow (pre-sales), an order whose reservation cannot be claimed fails before any step."""
    _row(
        sync_session,
        released := f"RSV-{rid()}",
        status="released",
        release_reason="re-check requested",
        expires_at=datetime.now(UTC) + timedelta(days=9),
    )
    order_id = new_order_id(await env.get_current_time())
    handle = await env.client.start_workflow(
        "ProvisioningOrder",
        OrderInput(
            order_id=order_id,
            spec=spec(await env.get_current_time(), reservation_id=released),
            created_by=COORDINATOR,
            request_id=f"create-{order_id}",
        ),
        id=workflow_id_for(order_id),
        task_queue=task_queue,
        result_type=OrderOutcome,
    )
    assert (await finished(env, handle)).status == OrderStatus.FAILED
    with sync_session() as s:
        row = s.get(ServiceOrderRow, order_id)
        assert row.status == "failed" and "released (re-check requested)" in row.detail["error"]
        assert row.detail["steps"][0]["task_id"] is None  # no step was opened
