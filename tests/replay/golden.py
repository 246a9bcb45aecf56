"""Where golden histories live and how a recording is named.

A file is named after its scenario and the patches its history went through:
`approved.json` was recorded before any patch, `approved+approval-notify-requester.json` with that
patch. Recording never overwrites an existing file, so the histories of every code path that
running workflows may still be on stay in the set until their patch is removed (docs/versioning.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import WorkflowHistory

HISTORIES = Path(__file__).resolve().parent / "histories"
RECORD_ENV = "KX_RECORD_GOLDEN"  # set by scripts/record_golden_histories.py
EXPORT_ENV = "KX_EXPORT_HISTORIES"  # a folder: every fresh history is written there too (bench/replay_speed.py)
_PATCH_MARKER = "core_patch"


def patch_ids(history: WorkflowHistory) -> list[str]:
    """The patch ids a (decoded) history recorded, in order."""
    ids = []
    for event in history.events:
        marker = event.marker_recorded_event_attributes
        if event.HasField("marker_recorded_event_attributes") and marker.marker_name == _PATCH_MARKER:
            ids.append(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return ids


def golden_path(workflow_type: str, scenario: str, history: WorkflowHistory) -> Path:
    """The file a recording of `scenario` belongs in, given the patches it went through."""
    label = "+".join([scenario, *sorted(set(patch_ids(history)))])
    return HISTORIES / workflow_type / f"{label}.json"


def golden_files() -> list[Path]:
    """Every committed golden history."""
    return sorted(HISTORIES.rglob("*.json"))
