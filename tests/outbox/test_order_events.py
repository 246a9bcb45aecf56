"""TMF641 listeners receive an order's create, jeopardy and milestone events, filtered by their query, with
contact numbers typed into the order's free text masked."""

from __future__ import annotations

from datetime import timedelta

from tests.outbox.test_webhooks import listener  # noqa: F401 - the listener fixture
from tests.provisioning.flow import OrderFlow, spec
from tests.support import eventually

HUB = "/tmf-api/serviceOrdering/v4/hub"
MOBILE = "13912345678"


async def test_order_events_reach_the_listener_masked_and_filtered(env, task_queue, listener, dispatcher):  # noqa: F811
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
    await flow.finish()
