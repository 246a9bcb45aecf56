"""TMF641 listeners receive an order's create, jeopardy and milestone events, filtered by their query, with
contact numbers typed into the order's free text masked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from core.provisioning import Cutover
from db.models import CustomerMessage, Notification, ResourceCheckRow
from infra.mail_sink import received_mail
from tests.outbox.test_webhooks import listener  # noqa: F401 - the listener fixture
from tests.provisioning.flow import OrderFlow, spec
from tests.support import eventually, unique

HUB = "/tmf-api/serviceOrdering/v4/hub"
MOBILE = "13912345678"


async def test_order_events_reach_the_listener_masked_and_filtered(
    env,
    task_queue,
    listener,  # noqa: F811 - the imported fixture
    dispatcher,
    sync_session,
):
    wanted = "ServiceOrderCreateEvent,ServiceOrderJeopardyEvent,ServiceOrderMilestoneEvent"
    receiver = await listener(f"eventType={wanted}", hub=HUB)
    now = await env.get_current_time()
    flow = await OrderFlow.start(env, task_queue, spec(now, cross=True), description=f"割接联系人 {MOBILE}")
    order_id = (await flow.order()).order_id
    task = await flow.task("dispatch")
    await env.sleep(task.due_at - await env.get_current_time() + timedelta(minutes=1))  # warning, then breach
    await flow.complete("dispatch")

    def mine() -> list[dict]:
        return [e for e in receiver.accepted.values() if e["event"]["serviceOrder"]["id"] == order_id]

    async def all_arrived():
        found = mine()
        kinds = [e["eventType"] for e in found]
        if kinds.count("ServiceOrderJeopardyEvent") >= 2 and "ServiceOrderMilestoneEvent" in kinds:
            return found
        await env.sleep(timedelta(seconds=40))  # past a backoff, should a delivery have failed
        return None

    events = await eventually(all_arrived, timeout=90, what="create, jeopardy and milestone events")
    kinds = [e["eventType"] for e in events]
    assert kinds[0] == "ServiceOrderCreateEvent" and set(kinds) == set(wanted.split(","))  # no state changes
    jeopardy = [e for e in events if e["eventType"] == "ServiceOrderJeopardyEvent"]
    assert [e["event"]["serviceOrder"]["jeopardyAlert"][-1]["jeopardyType"] for e in jeopardy[:2]] == [
        "warning",
        "breach",
    ]
    milestone = next(e for e in events if e["eventType"] == "ServiceOrderMilestoneEvent")
    assert milestone["event"]["serviceOrder"]["milestone"][-1]["name"] == "dispatchCompleted"
    assert MOBILE not in str(events) and "139****5678" in events[0]["event"]["serviceOrder"]["description"]
    assert len({e["eventId"] for e in events}) == len(events) and receiver.unsigned == 0
    with sync_session() as s:  # the coordinator running the order is told of each alert
        told = s.scalars(
            select(Notification).where(Notification.workflow_id == flow.handle.id, Notification.kind == "jeopardy")
        ).all()
    assert sorted((n.recipient_user, n.message.split(":")[0]) for n in told) == [
        ("coordinator1", f"{order_id} breach"),
        ("coordinator1", f"{order_id} warning"),
    ]
    await flow.finish()


async def test_the_customer_of_the_check_gets_the_cut_over_notice_by_email(
    env, task_queue, sync_session, mail_sink, dispatcher
):
    check_id, address = unique("RC"), f"{unique('it')}@example.com"
    with sync_session() as s:  # the resource check the order follows, with the customer's contact
        s.add(
            ResourceCheckRow(
                check_id=check_id,
                workflow_id=f"check-{check_id}",
                status="accepted",
                tmf_state="done",
                customer_id="C-2001",
                customer_name="滨江精密制造有限公司",
                contact=address,
                created_by="gcd1",
                created_at=await env.get_current_time(),
            )
        )
        s.commit()
    try:
        now = await env.get_current_time()
        window = Cutover(
            step="activation", window_start=now + timedelta(days=5), window_end=now + timedelta(days=5, hours=4)
        )
        flow = await OrderFlow.start(env, task_queue, spec(now, days=30, cutover=window, resource_check_id=check_id))
        order_id = (await flow.order()).order_id

        async def arrived():
            return [m for m in received_mail(mail_sink[1]) if m["to"] == address] or None

        [mail] = await eventually(arrived, what="the cut-over notice mail")
        assert order_id in mail["subject"] and "割接" in mail["subject"]
        assert "activate the circuit" in mail["body"] and "割接" in mail["body"]

        async def sent():
            with sync_session() as s:
                stored = s.scalars(select(CustomerMessage).where(CustomerMessage.ticket_no == order_id)).one()
            return stored if stored.sent_at is not None else None

        stored = await eventually(sent, what="the notice marked sent")
        assert stored.kind == "cutover" and stored.channel == "email"
        await flow.finish()
    finally:  # a stand-in check row without the workflow's state: no other test may list it
        with sync_session() as s:
            s.execute(delete(ResourceCheckRow).where(ResourceCheckRow.check_id == check_id))
            s.commit()
