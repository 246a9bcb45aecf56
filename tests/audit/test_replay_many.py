"""Replaying a file of many histories: progress as each run is judged, and a summary (API and CLI).

The histories are the committed golden ones (every workflow type); a deliberately changed ServiceTicket
makes the ticket histories diverge while the others still replay cleanly.
"""

from __future__ import annotations

import io
import json
import re

from audit import cli as audit_cli
from audit.replay import ReplayProgress, Verdict
from tests.replay.changed_workflows import ServiceTicketWithUnpatchedPause
from tests.replay.golden import golden_files
from workflows.registry import ALL_WORKFLOWS
from workflows.tickets import ServiceTicketWorkflow

DOCUMENTS = [json.loads(path.read_text(encoding="utf-8")) for path in golden_files()]
TICKETS = sum(path.parent.name == "ServiceTicket" for path in golden_files())
# The first command after the start: an activity, or under read-model-local the patch marker before a local one.
FIRST_COMMAND = re.compile(r"at event 5 \((ActivityTaskScheduled|MarkerRecorded)\)")
CHANGED = [ServiceTicketWithUnpatchedPause if w is ServiceTicketWorkflow else w for w in ALL_WORKFLOWS]


async def test_api_streams_a_verdict_per_history_then_the_summary(http, login):
    response = await http.post(
        "/api/audit/replay",
        params={"progress": "true"},
        json={"histories": DOCUMENTS},
        headers=await login("auditor1"),
        timeout=180,  # every golden history replays in this one request; the set grows with each patch
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    *progress, last = [json.loads(line) for line in response.text.splitlines()]
    assert [p["index"] for p in progress] == list(range(1, len(DOCUMENTS) + 1))
    assert [p["verdict"]["workflow_id"] for p in progress] == [d["workflow_id"] for d in DOCUMENTS]
    assert all(p["verdict"]["ok"] for p in progress)
    assert last == {"summary": {"total": len(DOCUMENTS), "clean": len(DOCUMENTS), "diverged": 0}}


async def test_cli_replays_a_file_of_many_histories_with_progress_and_summary(env, tmp_path):
    path = tmp_path / "many.json"
    path.write_text(json.dumps(DOCUMENTS), encoding="utf-8")
    out = io.StringIO()
    code = await audit_cli.run(["replay", "--file", str(path)], client=env.client, out=out, workflows=CHANGED)
    *lines, summary = out.getvalue().splitlines()
    assert code == 1
    assert [line.split("]")[0] for line in lines] == [f"[{i}" for i in range(1, len(DOCUMENTS) + 1)]
    diverged = [line for line in lines if "DIVERGED" in line]
    assert len(diverged) == TICKETS >= 6 and all(
        "ServiceTicket" in line and FIRST_COMMAND.search(line) for line in diverged
    )
    assert summary == f"replayed {len(DOCUMENTS)}: {len(DOCUMENTS) - TICKETS} clean, {TICKETS} diverged"


async def test_cli_quiet_unsandboxed_replay_shows_progress_and_only_the_divergences(env, tmp_path):
    path = tmp_path / "many.json"
    path.write_text(json.dumps(DOCUMENTS), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    argv = ["replay", "--file", str(path), "--quiet", "--unsandboxed", "--progress-every", "0"]
    code = await audit_cli.run(argv, client=env.client, out=out, err=err, workflows=CHANGED)
    *lines, summary = out.getvalue().splitlines()
    assert code == 1
    assert len(lines) == TICKETS and all("DIVERGED" in line and FIRST_COMMAND.search(line) for line in lines)
    assert summary == f"replayed {len(DOCUMENTS)}: {len(DOCUMENTS) - TICKETS} clean, {TICKETS} diverged"
    progress = err.getvalue().splitlines()
    total = len(DOCUMENTS)
    assert [line.split(" replayed")[0] for line in progress] == [f"progress: {i}/{total}" for i in range(1, total + 1)]
    assert progress[-1].endswith(f"/min), {TICKETS} diverged")


def test_progress_writes_a_line_per_interval_and_after_the_last_history():
    ticks = iter([0.0, 1.0, 6.0, 6.0, 7.0, 9.0, 9.0])  # start, then one reading per verdict (two when written)
    written: list[str] = []
    progress = ReplayProgress(written.append, total=3, every=5.0, clock=lambda: next(ticks))
    progress(1, Verdict(workflow_id="a", ok=True))  # 1 s: too soon
    progress(2, Verdict(workflow_id="b", ok=False))  # 6 s: a line
    progress(3, Verdict(workflow_id="c", ok=True))  # 7 s: the last one, a line
    assert written == ["progress: 2/3 replayed (20/min), 1 diverged", "progress: 3/3 replayed (20/min), 1 diverged"]
