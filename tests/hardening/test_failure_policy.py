"""Inside the worker: bad data fails once and visibly (never retried, never logged with its values), a data
failure in workflow code refuses the update or fails the run instead of wedging it, a stuck activity alerts admins."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.api.enums.v1 import RetryState
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.guard import ALERT_KIND, ActivityFailureInterceptor, describe_failure
from activities.platform import PlatformActivities
from api.gateway import data_failure
from db.models import Notification
from infra.worker_factory import DATA_FAILURES
from tests.hardening.health import assert_healthy, workflow_problems
from tests.hardening.probe_workflow import FLAKY_ACTIVITY, HardeningProbeWorkflow

PHONE = "13812345678"


@activity.defn(name=FLAKY_ACTIVITY)
async def flaky(succeed_at: int) -> str:
    """Fails with a retryable error until the given attempt."""
    if activity.info().attempt < succeed_at:
        raise RuntimeError("the far side is down")
    return f"done at attempt {activity.info().attempt}"


@pytest.fixture
async def probe_worker(env, db):
    """A worker with the production failure policy, running the probe workflow."""
    queue = f"hardening-{uuid.uuid4().hex[:8]}"
    platform = PlatformActivities(db, default_calendar="cn-mainland", default_policy="standard")
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[HardeningProbeWorkflow],
        activities=[platform.record_task_event, flaky],
        workflow_failure_exception_types=DATA_FAILURES,
        interceptors=[ActivityFailureInterceptor(db)],
    ):
        yield queue


async def _start(env, queue: str, *, overflow: bool = False):
    return await env.client.start_workflow(
        HardeningProbeWorkflow.run, overflow, id=f"probe-{uuid.uuid4().hex}", task_queue=queue
    )


async def test_a_database_refusal_is_not_retried_and_never_logged_with_its_values(env, probe_worker, caplog):
    handle = await _start(env, probe_worker)
    try:
        with caplog.at_level(logging.DEBUG):
            outcome = await handle.execute_update(
                HardeningProbeWorkflow.write, args=[f"call {PHONE} about 华信物流\x00", 10]
            )
        assert outcome.startswith("DataError non_retryable=True: DataError (DataError) in: INSERT INTO notification")
        assert PHONE not in outcome and "华信物流" not in outcome
        assert PHONE not in caplog.text and "华信物流" not in caplog.text
        # The workflow is not wedged: it takes the next act and records the next (good) write.
        assert await handle.execute_update(HardeningProbeWorkflow.count) == 1
        assert await handle.execute_update(HardeningProbeWorkflow.write, args=["all good", 10]) == "written"
        events = (await handle.fetch_history()).events
        failed = [
            e.activity_task_failed_event_attributes
            for e in events
            if e.HasField("activity_task_failed_event_attributes")
        ]
        assert [f.retry_state for f in failed] == [RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE]  # one attempt only
        await assert_healthy(env.client, [handle.id])
    finally:
        await handle.terminate("test done")


async def test_an_overflow_in_an_update_refuses_that_update_only(env, probe_worker):
    handle = await _start(env, probe_worker)
    try:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(HardeningProbeWorkflow.overflow)
        assert data_failure(refused.value.cause) == "OverflowError"
        assert await handle.execute_update(HardeningProbeWorkflow.count) == 1
        await assert_healthy(env.client, [handle.id])
    finally:
        await handle.terminate("test done")


async def test_an_overflow_in_the_run_fails_the_workflow_visibly(env, probe_worker):
    handle = await _start(env, probe_worker, overflow=True)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert isinstance(failed.value.cause, ApplicationError) and failed.value.cause.type == "OverflowError"
    assert await workflow_problems(env.client, handle.id) == [f"{handle.id}: the workflow failed"]  # not wedged


async def test_an_activity_failing_at_its_third_attempt_alerts_the_admins_once(env, probe_worker, sync_session):
    handle = await _start(env, probe_worker)
    try:
        assert await handle.execute_update(HardeningProbeWorkflow.flaky, 5) == "done at attempt 5"
        with sync_session() as s:
            alerts = list(s.scalars(select(Notification).where(Notification.workflow_id == handle.id)))
        assert [(a.kind, a.recipient_role) for a in alerts] == [(ALERT_KIND, "admin")]
        assert "test_flaky" in alerts[0].message and "attempt 3" in alerts[0].message
        assert await handle.execute_update(HardeningProbeWorkflow.flaky, 2) == "done at attempt 2"
        with sync_session() as s:  # fewer than three attempts: no new alert
            assert len(list(s.scalars(select(Notification).where(Notification.workflow_id == handle.id)))) == 1
    finally:
        await handle.terminate("test done")


def test_failure_descriptions_name_the_field_not_the_value():
    from core.calendar import Budget

    try:
        Budget(amount=1e15, unit="hours")
    except ValueError as err:
        text = describe_failure(err)
    assert text == "ValidationError of Budget: (root)" and "1e" not in text
