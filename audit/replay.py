"""Replay verification: run recorded histories through today's workflow code, one verdict per run.

A clean verdict means the current code makes exactly the decisions the history recorded; otherwise
the verdict names the first event where it diverges and why (Temporal's nondeterminism message).
Sources: a history document (`temporal workflow show --output json`, an export, a golden file),
a file or folder of them, one workflow in Temporal, or every workflow closed in a time range.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError
from temporalio.worker import Replayer, WorkflowReplayResult

from audit.history import WorkflowFilter, fetch_history, list_runs
from infra.bytecode import cache_bytecode
from infra.sandbox import workflow_runner
from workflows.registry import ALL_WORKFLOWS

# e.g. "... Activity machine does not handle this event: HistoryEvent(id: 5, UpsertWorkflowSearchAttributes)"
_EVENT = re.compile(r"HistoryEvent\(id: (\d+), (\w+)")
_EVENT_ID = re.compile(r"\bevent(?: id)?[ :#]+(\d+)", re.IGNORECASE)
_PATCH = re.compile(r"patch marker encountered for change ([\w.-]+)")  # a patch the replaying code never asks for
_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')  # the failure inside core's debug dump
_PAGE = 200


class Verdict(BaseModel):
    """How one run replayed: cleanly, or where and why it diverged."""

    workflow_id: str
    run_id: str | None = None
    workflow_type: str | None = None
    ok: bool
    event_id: int | None = None
    event_type: str | None = None
    reason: str | None = None


class Summary(BaseModel):
    """Counts over a replay run."""

    total: int
    clean: int
    diverged: int


class ReplayReport(BaseModel):
    """Every verdict of a run, in order, and the summary."""

    verdicts: list[Verdict]
    summary: Summary

    @classmethod
    def of(cls, verdicts: list[Verdict]) -> ReplayReport:
        """A report with its summary computed."""
        clean = sum(v.ok for v in verdicts)
        return cls(verdicts=verdicts, summary=Summary(total=len(verdicts), clean=clean, diverged=len(verdicts) - clean))


def prepare_replayer_process(data_dir: str | Path) -> None:
    """Set this process up for replaying many histories: the sandbox re-imports the workflow modules for every
    history, so keep their compiled bytecode (under data_dir) instead of compiling them from source each time."""
    cache_bytecode(data_dir)


def divergence_point(message: str) -> tuple[int | None, str | None]:
    """(event id, event type) named by a nondeterminism message, as far as it names them."""
    if match := _EVENT.search(message):
        return int(match.group(1)), match.group(2)
    if match := _EVENT_ID.search(message):
        return int(match.group(1)), None
    return None, None


def verdict_of(result: WorkflowReplayResult) -> Verdict:
    """The verdict for one replay result."""
    history = result.history
    started = history.events[0].workflow_execution_started_event_attributes if history.events else None
    verdict = Verdict(
        workflow_id=history.workflow_id,
        ok=result.replay_failure is None,
        run_id=history.run_id if started is not None else None,
        workflow_type=started.workflow_type.name if started is not None else None,
    )
    if result.replay_failure is not None:
        text = str(result.replay_failure)
        inner = _CORE_MESSAGE.search(text)
        verdict.reason = inner.group(1) if inner else f"{type(result.replay_failure).__name__}: {text}"
        verdict.event_id, verdict.event_type = divergence_point(verdict.reason)
        if verdict.event_id is None and (patch := _PATCH.search(verdict.reason)):
            verdict.event_id, verdict.event_type = patch_marker_event(history, patch.group(1))
    return verdict


def patch_marker_event(history: WorkflowHistory, patch_id: str) -> tuple[int | None, str | None]:
    """(event id, "MarkerRecorded") of the marker that recorded `patch_id`, when the history has it."""
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            details = event.marker_recorded_event_attributes.details
            if "patch-data" in details and details["patch-data"].payloads:
                data = json.loads(details["patch-data"].payloads[0].data or b"{}")
                if data.get("id") == patch_id:
                    return event.event_id, "MarkerRecorded"
    return None, None


class ReplayProgress:
    """An `on_verdict` that writes a progress line every `every` seconds and after the last history (when the total
    is known): how many are judged, at what rate per minute, how many diverged."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        total: int | None = None,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write, self.total, self._every, self._clock = write, total, every, clock
        self._began = self._last = clock()
        self.judged = self.diverged = 0

    def __call__(self, index: int, verdict: Verdict) -> None:
        """Count one verdict; write a line when it is time (or it was the last)."""
        self.judged, self.diverged = index, self.diverged + (not verdict.ok)
        now = self._clock()
        if now - self._last >= self._every or index == self.total:
            self._last = now
            self._write(self.line())

    def line(self) -> str:
        """The progress as one line, e.g. `progress: 500/1000 replayed (640/min), 0 diverged`."""
        elapsed = self._clock() - self._began
        rate = f"{self.judged / elapsed * 60:.0f}/min" if elapsed > 0 else "-"
        of = f"/{self.total}" if self.total is not None else ""
        return f"progress: {self.judged}{of} replayed ({rate}), {self.diverged} diverged"


async def replay(
    histories: AsyncIterable[WorkflowHistory] | Iterable[WorkflowHistory],
    *,
    converter: DataConverter,
    workflows: Sequence[type] | None = None,
    on_verdict: Callable[[int, Verdict], None] | None = None,
    sandboxed: bool = True,
) -> ReplayReport:
    """Replay each history against `workflows` (every registered workflow by default), reporting as it goes.

    One Replayer judges the whole batch. `sandboxed=False` runs the workflow code outside the sandbox: about twice
    as fast, and still every divergence from the recorded commands is found, but not the sandbox's refusals of
    non-deterministic calls (the golden-history gate in CI keeps the sandbox and catches those).
    """
    replayer = Replayer(
        workflows=ALL_WORKFLOWS if workflows is None else workflows,
        data_converter=converter,
        workflow_runner=workflow_runner(sandboxed=sandboxed),
    )
    verdicts: list[Verdict] = []
    async with replayer.workflow_replay_iterator(_aiter(histories)) as results:
        async for result in results:
            verdicts.append(verdict_of(result))
            if on_verdict is not None:
                on_verdict(len(verdicts), verdicts[-1])
    return ReplayReport.of(verdicts)


async def replay_progress(
    histories: AsyncIterable[WorkflowHistory] | Iterable[WorkflowHistory],
    *,
    converter: DataConverter,
    workflows: Sequence[type] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Replay as `replay` does, yielding {"index", "verdict"} as each run is judged, then {"summary"}.

    A source that fails part-way (Temporal unreachable while fetching) ends the run with {"error"}.
    """
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def run() -> None:
        try:
            report = await replay(
                histories,
                converter=converter,
                workflows=workflows,
                on_verdict=lambda i, v: queue.put_nowait({"index": i, "verdict": v.model_dump(mode="json")}),
            )
            queue.put_nowait({"summary": report.summary.model_dump()})
        except RPCError as err:
            queue.put_nowait({"error": f"fetching the histories failed: {err.message}"})
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(run())
    try:
        while (item := await queue.get()) is not None:
            yield item
    finally:
        task.cancel()  # the reader went away: stop replaying


async def _aiter(items: AsyncIterable[WorkflowHistory] | Iterable[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


# ---- sources ----------------------------------------------------------------------------------


def history_of(document: dict[str, Any], workflow_id: str | None, *, name: str = "history") -> WorkflowHistory:
    """A history from its JSON document and the id of its workflow.

    The id matters: workflow code may derive values from it (task ids do), so replaying under another
    id can diverge falsely. Servers that record it in the start event make `workflow_id` optional.
    """
    history = WorkflowHistory.from_json(workflow_id or "", document)
    if not history.events or not history.events[0].HasField("workflow_execution_started_event_attributes"):
        raise ValueError(f"{name}: not a workflow history (the first event must start the workflow)")
    recorded = history.events[0].workflow_execution_started_event_attributes.workflow_id
    if workflow_id and recorded and workflow_id != recorded:
        raise ValueError(f"{name}: the history belongs to workflow {recorded!r}, not {workflow_id!r}")
    if not (workflow_id or recorded):
        raise ValueError(f"{name}: the history does not name its workflow; give its workflow id")
    return WorkflowHistory(workflow_id or recorded, history.events)


def histories_in(document: Any, *, name: str, workflow_id: str | None = None) -> list[WorkflowHistory]:
    """Histories in a parsed JSON document: one history, {"workflow_id", "history"}, or a list of those."""
    if isinstance(document, list):
        return [h for i, item in enumerate(document) for h in histories_in(item, name=f"{name}[{i}]")]
    if isinstance(document, dict) and "history" in document:
        return [history_of(document["history"], document.get("workflow_id"), name=name)]
    if isinstance(document, dict) and "events" in document:
        return [history_of(document, workflow_id, name=name)]
    raise ValueError(f"{name}: expected a history ({{'events': [...]}}), {{'workflow_id', 'history'}} or a list")


def histories_from_path(path: Path, *, workflow_id: str | None = None) -> list[WorkflowHistory]:
    """Histories in a JSON file, or in every *.json file under a folder."""
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    out: list[WorkflowHistory] = []
    for file in files:
        document = json.loads(file.read_text(encoding="utf-8"))
        out += histories_in(document, name=str(file), workflow_id=workflow_id)
    return out


def labelled(history: WorkflowHistory) -> dict[str, Any]:
    """The {"workflow_id", "history"} document: a history that replays without being told its workflow."""
    return {"workflow_id": history.workflow_id, "history": history.to_json_dict()}


async def histories_of_workflow(
    client: Client, workflow_id: str, run_id: str | None = None
) -> AsyncIterator[WorkflowHistory]:
    """The history of one run (the latest when run_id is None)."""
    yield await fetch_history(client, workflow_id, run_id)


async def histories_closed_between(
    client: Client,
    since: datetime | None,
    until: datetime | None,
    *,
    workflow_type: str | None = None,
    limit: int | None = None,
) -> AsyncIterator[WorkflowHistory]:
    """The history of every run closed in [since, until), fetched one at a time."""
    wanted = WorkflowFilter(closed_since=since, closed_until=until, workflow_type=workflow_type)
    token: bytes | None = None
    seen = 0
    while True:
        runs, token = await list_runs(client, wanted, page_size=_PAGE, page_token=token)
        for run in runs:
            if limit is not None and seen >= limit:
                return
            seen += 1
            yield await fetch_history(client, run.workflow_id, run.run_id)
        if token is None:
            return
