"""Worker tuning comes from settings (infra/settings.py WORKER_*): the worker is built with them and runs."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError
from temporalio.worker import PollerBehaviorSimpleMaximum

from infra.settings import Settings
from infra.worker_factory import build_worker

TUNED = {
    "worker_max_cached_workflows": 123,
    "worker_max_concurrent_workflow_tasks": 7,
    "worker_max_concurrent_activities": 11,
    "worker_max_concurrent_local_activities": 13,
    "worker_workflow_task_pollers": 3,
    "worker_activity_task_pollers": 4,
}


async def test_the_worker_is_built_with_the_tuning_settings_and_polls(dev_env, db, settings):
    queue = f"kx-tuning-{uuid.uuid4().hex[:8]}"
    tuned = Settings(**{**settings.model_dump(), "temporal_task_queue": queue, **TUNED})
    worker = build_worker(dev_env.client, db, tuned)
    config = worker.config()
    assert config["max_cached_workflows"] == 123
    assert config["max_concurrent_workflow_tasks"] == 7
    assert config["max_concurrent_activities"] == 11
    assert config["max_concurrent_local_activities"] == 13
    assert config["workflow_task_poller_behavior"] == PollerBehaviorSimpleMaximum(3)
    assert config["activity_task_poller_behavior"] == PollerBehaviorSimpleMaximum(4)
    async with worker:  # the SDK validates the combination when the worker starts
        assert worker.is_running


def test_the_defaults_are_the_measured_choice():
    """The defaults bench/README.md ("Worker tuning") chose; change them there first, with the figures."""
    chosen = Settings()
    assert chosen.worker_max_cached_workflows == 1000
    assert chosen.worker_max_concurrent_workflow_tasks == 5
    assert chosen.worker_max_concurrent_activities == 100
    assert chosen.worker_max_concurrent_local_activities == 100
    assert chosen.worker_workflow_task_pollers == 5
    assert chosen.worker_activity_task_pollers == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKER_WORKFLOW_TASK_POLLERS", "1"),  # the sticky and the normal queue each need a poller
        ("WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "1"),
        ("WORKER_MAX_CONCURRENT_ACTIVITIES", "0"),
        ("WORKER_MAX_CACHED_WORKFLOWS", "-1"),
        ("WORKER_DATABASE_POOL_SIZE", "0"),
    ],
)
def test_impossible_tuning_is_refused_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.lower()):
        Settings()
