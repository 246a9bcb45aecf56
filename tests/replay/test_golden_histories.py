"""CI gate: every committed golden history replays against today's workflow code.

A change that would break workflows already running fails here. Covering a new workflow type or a
new patch is a matter of adding files (scripts/record_golden_histories.py), not tests.
"""

from __future__ import annotations

import pytest

from audit.replay import histories_from_path, replay
from tests.replay.golden import HISTORIES, golden_files
from tests.replay.scenarios import AWAITING_SCENARIOS, SCENARIOS
from workflows.registry import ALL_WORKFLOWS

FILES = golden_files()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(HISTORIES)) for p in FILES])
async def test_golden_history_replays(path, converter):
    report = await replay(histories_from_path(path), converter=converter)
    verdict = report.verdicts[0]
    assert verdict.ok, (
        f"{path.name} no longer replays at event {verdict.event_id} ({verdict.event_type}): {verdict.reason}"
    )
    assert verdict.workflow_type == path.parent.name


def test_every_workflow_type_has_scenarios_and_golden_histories():
    """A registered workflow type without recorded scenarios would slip past the replay gate."""
    registered = {workflow.__temporal_workflow_definition.name for workflow in ALL_WORKFLOWS}
    assert registered - set(SCENARIOS) >= AWAITING_SCENARIOS, "AWAITING_SCENARIOS lists a type that has scenarios now"
    for name in sorted(registered - AWAITING_SCENARIOS):
        assert SCENARIOS.get(name), f"add {name}'s main scenarios to tests/replay/scenarios.py"
        recorded = {p.name.split("+")[0].removesuffix(".json") for p in (HISTORIES / name).glob("*.json")}
        assert set(SCENARIOS[name]) <= recorded, (
            f"record golden histories for {name}: scripts/record_golden_histories.py"
        )
