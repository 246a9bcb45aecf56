"""The versioning rule (docs/versioning.md) shown on one real patch, `approval-notify-requester`.

Golden histories recorded before the patch and after it both replay against today's code; the same
change made without `workflow.patched` breaks the old ones, and so does any unguarded change.
"""

from __future__ import annotations

from sqlalchemy import select

from audit.replay import histories_from_path, replay
from db.models import Notification
from tests.replay.changed_workflows import ApprovalNotifyingUnguarded, ApprovalWithUnpatchedPause
from tests.replay.golden import HISTORIES, patch_ids
from tests.replay.scenarios import SCENARIOS, approval_approved
from workflows.approvals import NOTIFY_REQUESTER_PATCH

APPROVAL = HISTORIES / "Approval"
BEFORE = [APPROVAL / f"{name}.json" for name in SCENARIOS["Approval"]]
AFTER = [APPROVAL / f"{name}+{NOTIFY_REQUESTER_PATCH}.json" for name in SCENARIOS["Approval"]]


def _histories(paths):
    return [h for path in paths for h in histories_from_path(path)]


def test_every_scenario_was_recorded_before_and_after_the_patch():
    before, after = _histories(BEFORE), _histories(AFTER)
    assert all(patch_ids(h) == [] for h in before)
    assert all(patch_ids(h) == [NOTIFY_REQUESTER_PATCH] for h in after)


async def test_histories_from_both_sides_of_the_patch_replay(converter):
    report = await replay(_histories(BEFORE + AFTER), converter=converter)
    assert report.summary.model_dump() == {"total": 8, "clean": 8, "diverged": 0}, report.verdicts


async def test_without_the_patch_guard_old_histories_diverge(converter):
    report = await replay(_histories(BEFORE), converter=converter, workflows=[ApprovalNotifyingUnguarded])
    assert report.summary.diverged == len(BEFORE)
    # The old run completed where the unguarded code now schedules the notification activity.
    assert {v.event_type for v in report.verdicts} == {"WorkflowExecutionCompleted"}


async def test_a_changed_workflow_gets_a_divergence_verdict_naming_the_event(converter):
    report = await replay(
        histories_from_path(APPROVAL / "approved.json"), converter=converter, workflows=[ApprovalWithUnpatchedPause]
    )
    verdict = report.verdicts[0]
    assert not verdict.ok and verdict.workflow_type == "Approval"
    # The history's first command scheduled the policy activity (event 5); the changed code starts a timer.
    assert (verdict.event_id, verdict.event_type) == (5, "ActivityTaskScheduled")
    assert "Nondeterminism" in verdict.reason


async def test_the_requester_hears_the_decision(env, worker, task_queue, sync_session):
    handle = await approval_approved(env, task_queue)
    with sync_session() as s:
        notices = s.scalars(
            select(Notification).where(Notification.workflow_id == handle.id, Notification.kind == "decided")
        ).all()
    assert [(n.recipient_user, n.message.split(":")[0]) for n in notices] == [("agent1", "Your request was decided")]
    assert "approve by supervisor1" in notices[0].message
