"""A dispatcher round in one activity (`outbox_deliver_round`): each message tried once and committed on its own, one
that is gone answers None without stopping the others, one in its backoff is left alone, and the dispatcher's
history holds one delivery activity for the round."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.outbox import OutboxActivities
from audit.history import decode_history
from core.outbox import KICK_SIGNAL, OUTBOX_DELIVER, OUTBOX_DELIVER_ROUND, DispatcherState, OutboxChannel, RoundRequest
from db.models import EventHub, OutboxAttempt, OutboxMessage, utcnow
from db.outbox import enqueue
from db.session import Database
from infra.mail import SmtpMailer
from infra.settings import Settings
from infra.sms import HttpSmsGateway
from infra.webhooks import new_secret, seal_secret
from tests.outbox.receiver import Receiver
from tests.support import eventually, idle, serve
from workflows.outbox import OutboxDispatcherWorkflow

EVENT = {"event": {"eventType": "TroubleTicketCreateEvent", "event": {"troubleTicket": {}}}}


async def _queue(db: Database, subject: str, recipient: str) -> int:
    async with db.session() as session:
        await enqueue(
            session,
            event=f"{subject}-TroubleTicketCreateEvent",
            subject=subject,
            recipient=recipient,
            channel=OutboxChannel.WEBHOOK,
            payload=EVENT,
        )
        await session.commit()
        return (await session.scalars(select(OutboxMessage.id).where(OutboxMessage.subject == subject))).one()


def _hub(sync_session, url: str, secret: str) -> int:
    with sync_session() as s:
        hub = EventHub(
            api="troubleTicket",
            callback=f"{url}/events",
            secret_sealed=seal_secret(Settings(kexiang_env="test").payload_key_ring, secret),
            created_by="test",
        )
        s.add(hub)
        s.commit()
        assert hub.id is not None
        return hub.id


def _retire(sync_session, hub_id: int) -> None:
    with sync_session() as s:
        hub = s.get(EventHub, hub_id)
        hub.deleted_at = hub.created_at
        s.commit()


async def test_a_round_tries_each_message_once_and_leaves_gone_and_waiting_ones_alone(db: Database, sync_session):
    receiver = Receiver(secret=new_secret())
    async with serve(receiver.app()) as url:
        hub_id = _hub(sync_session, url, receiver.secret or "")
        try:
            tag = uuid.uuid4().hex[:8]
            delivered = await _queue(db, f"ROUND-{tag}-ok", f"hub:{hub_id}")
            dead = await _queue(db, f"ROUND-{tag}-gone-hub", "hub:0")  # never registered: a permanent failure
            waiting = await _queue(db, f"ROUND-{tag}-waiting", f"hub:{hub_id}")
            later = utcnow() + timedelta(minutes=5)
            with sync_session() as s:  # an earlier try of this round failed it: in its backoff until `later`
                row = s.get(OutboxMessage, waiting)
                row.attempts, row.next_attempt_at = 1, later
                s.commit()
            missing = delivered + 1_000_000
            activities = OutboxActivities(
                db,
                mailer=SmtpMailer("127.0.0.1", 9, sender="test@localhost"),
                sms=HttpSmsGateway("http://127.0.0.1:9/unused"),
                key_ring=Settings(kexiang_env="test").payload_key_ring,
                allow_private_callbacks=True,
            )
            request = RoundRequest(message_ids=(delivered, missing, dead, waiting), now=utcnow())

            outcome = await ActivityEnvironment().run(activities.deliver_round, request)

            ok, gone, failed, held = outcome.outcomes
            assert ok is not None and ok.status == "delivered"
            assert gone is None
            assert failed is not None and failed.status == "dead"
            assert held is not None and held.status == "pending" and held.next_attempt_at == later
            assert list(receiver.accepted) == [f"msg_{delivered}"]  # the waiting one was not sent
            with sync_session() as s:
                logged = {
                    a.message_id: a.outcome
                    for a in s.scalars(
                        select(OutboxAttempt).where(OutboxAttempt.message_id.in_([delivered, dead, waiting]))
                    )
                }
                assert s.get(OutboxMessage, waiting).attempts == 1
            assert logged == {delivered: "delivered", dead: "dead"}

            again = await ActivityEnvironment().run(activities.deliver_round, request)  # the round retried
            assert [o.status if o else None for o in again.outcomes] == ["delivered", None, "dead", "pending"]
            assert [i for i, _ in receiver.attempts] == [f"msg_{delivered}"]  # nothing sent twice
        finally:
            _retire(sync_session, hub_id)


async def test_the_dispatcher_delivers_a_round_in_one_activity(env, worker, task_queue, db: Database, sync_session):
    receiver = Receiver(secret=new_secret())
    async with serve(receiver.app()) as url:
        hub_id = _hub(sync_session, url, receiver.secret or "")
        try:
            tag = uuid.uuid4().hex[:8]
            ids = [await _queue(db, f"ROUND-{tag}-{lane}", f"hub:{hub_id}") for lane in ("a", "b", "c")]
            handle = await env.client.start_workflow(
                OutboxDispatcherWorkflow.run,
                DispatcherState(idle_minutes=10, rounds_per_run=50),
                id=f"outbox-dispatcher-round-{tag}",
                task_queue=task_queue,
                start_signal=KICK_SIGNAL,
            )

            async def all_delivered() -> bool:
                with sync_session() as s:
                    rows = s.scalars(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids))).all()
                return rows == ["delivered"] * 3

            await eventually(all_delivered, what="the three lanes delivered")
            await eventually(lambda: idle(handle), what="the dispatcher idle")
            history = await decode_history(await handle.fetch_history(), env.client.data_converter.payload_codec)
            scheduled = [
                e.activity_task_scheduled_event_attributes.activity_type.name
                for e in history.events
                if e.HasField("activity_task_scheduled_event_attributes")
            ]
            assert OUTBOX_DELIVER not in scheduled
            assert OUTBOX_DELIVER_ROUND in scheduled
            assert sorted(receiver.accepted) == sorted(f"msg_{i}" for i in ids)
        finally:
            _retire(sync_session, hub_id)
