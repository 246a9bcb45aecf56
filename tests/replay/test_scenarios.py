"""Each workflow type's main scenarios run live; their fresh histories replay, and a golden recording covers them.

With KX_RECORD_GOLDEN set (scripts/record_golden_histories.py does it) the fresh histories are
written as golden files, never over an existing one unless KX_RECORD_GOLDEN=force. With KX_EXPORT_HISTORIES
set to a folder, every fresh history is written there as well: what today's code records, for the replay bench.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audit.history import decode_history
from audit.replay import labelled, replay
from tests.replay.golden import EXPORT_ENV, RECORD_ENV, golden_path
from tests.replay.scenarios import DATABASE, SCENARIOS

CASES = [(workflow_type, name) for workflow_type, scenarios in SCENARIOS.items() for name in scenarios]


@pytest.mark.parametrize(("workflow_type", "scenario"), CASES, ids=[f"{t}/{s}" for t, s in CASES])
async def test_scenario_replays_and_has_a_golden_history(
    env, worker, task_queue, converter, db, workflow_type, scenario
):
    DATABASE.set(db)
    handle = await SCENARIOS[workflow_type][scenario](env, task_queue)
    history = await decode_history(await handle.fetch_history(), converter.payload_codec)
    report = await replay([history], converter=converter)
    assert report.verdicts[0].ok, report.verdicts[0].reason
    path = golden_path(workflow_type, scenario, history)
    if export := os.environ.get(EXPORT_ENV):
        exported = Path(export) / workflow_type / path.name
        exported.parent.mkdir(parents=True, exist_ok=True)
        exported.write_text(json.dumps(labelled(history)) + "\n", encoding="utf-8")
    mode = os.environ.get(RECORD_ENV)
    if mode and (mode == "force" or not path.exists()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(labelled(history), indent=2) + "\n", encoding="utf-8")
    assert path.exists(), (
        f"the current code records {path.name}, which no golden history covers: "
        "run `python scripts/record_golden_histories.py` and commit the new file"
    )
