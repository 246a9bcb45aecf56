"""Replay speed: recorded histories replayed against today's workflow code on one core, histories per minute.

    .venv/bin/python -m bench.replay_speed --histories 1000           # the golden histories, repeated
    .venv/bin/python -m bench.replay_speed --source exported/ --histories 5000
    python scripts/record_golden_histories.py --export /tmp/current   # what today's code records, then
    .venv/bin/python -m bench.replay_speed --source /tmp/current --histories 500

The histories (tests/replay/histories by default, or any file or folder `audit.cli replay --file` reads) are
parsed once and repeated up to `--histories`, then replayed the way `python -m audit.cli replay` replays them
(`audit.replay.replay`: one Replayer for the batch, the product's data converter and sandbox) in this process,
pinned to one core (`--cpu`). Progress is printed every few seconds. Printed: histories per minute of wall-clock
time, and per minute of this process's CPU time (what one idle core would do: the machine is shared, so the
wall-clock figure is only as good as the core we got), with the load average next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
from pathlib import Path

from temporalio.client import WorkflowHistory

from audit.replay import ReplayProgress, histories_from_path, prepare_replayer_process, replay
from infra.settings import Settings
from infra.temporal import data_converter

TARGET_PER_MINUTE = 1000
GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "replay" / "histories"


def _say_with_load(line: str) -> None:
    print(f"replay: {line}, load {os.getloadavg()[0]:.1f}", flush=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--histories", type=int, default=1000, help="histories replayed (the source repeated)")
    parser.add_argument("--source", type=Path, default=GOLDEN, help="a history file or folder (default: golden)")
    parser.add_argument("--cpu", type=int, help="the core to pin to (default: the first this process may use)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between progress lines")
    parser.add_argument("--unsandboxed", action="store_true", help="as `audit.cli replay --unsandboxed`")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="as the auditor's command ran before: compile per history"
    )
    return parser.parse_args()


async def _replay(histories: list[WorkflowHistory], progress: ReplayProgress, *, sandboxed: bool) -> int:
    converter = data_converter(Settings(kexiang_env="test"))  # the key the golden histories were recorded with
    report = await replay(histories, converter=converter, on_verdict=progress, sandboxed=sandboxed)
    return report.summary.diverged


def main() -> None:
    """Pin to one core, load, replay with progress, print the figures."""
    args = _arguments()
    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})  # before the Replayer starts its threads: they inherit it
    if not args.no_bytecode_cache:
        prepare_replayer_process(Settings().data_dir)
    began = time.perf_counter()
    source = histories_from_path(args.source)
    loaded = time.perf_counter() - began
    batch = list(itertools.islice(itertools.cycle(source), args.histories))
    events = sum(len(h.events) for h in batch)
    print(
        f"replay: {len(source)} distinct histories from {args.source} parsed in {loaded:.1f} s; "
        f"replaying {len(batch)} ({events} events) on cpu {cpu}, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    cpu_began, wall_began = time.process_time(), time.perf_counter()
    progress = ReplayProgress(_say_with_load, total=len(batch), every=args.every)
    diverged = asyncio.run(_replay(batch, progress, sandboxed=not args.unsandboxed))
    wall, used = time.perf_counter() - wall_began, time.process_time() - cpu_began
    per_wall, per_cpu = len(batch) / wall * 60, len(batch) / used * 60
    verdict = "met" if per_cpu >= TARGET_PER_MINUTE else "MISSED"
    print(f"replayed {len(batch)} histories ({events / len(batch):.0f} events each on average), {diverged} diverged")
    print(f"wall-clock   {wall:8.1f} s  {per_wall:8.0f} histories/min")
    print(f"CPU (1 core) {used:8.1f} s  {per_cpu:8.0f} histories/min  {used / len(batch) * 1000:.1f} ms each")
    print(f"target >= {TARGET_PER_MINUTE}/min on one core: {verdict}; load {os.getloadavg()[0]:.1f} at the end")
    raise SystemExit(1 if diverged else 0)


if __name__ == "__main__":
    main()
