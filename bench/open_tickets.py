"""Decision latency and memory with many items open: N real tickets and N baseline workflows kept open, then
decided by concurrent deciders, with the resident memory of every part of the stack sampled along the way.

    nice -n 10 .venv/bin/python -m bench.open_tickets --open 10000

starts its own stack (bench/stack.py, the same as bench.intake_and_decision), then:
 1. fill: N kexiang tickets through the API (the agent's TMF621 intake, as production starts them), then N
    baseline workflows, each side by `--concurrency` closed-loop callers that hold back while more than `--backlog`
    created items have not settled yet (routed | parked), so the fill runs at the settle rate without a queue of
    unstarted workflow tasks; progress, load and memory every `--progress` seconds;
 2. decisions, with every item of both sides open: `--decisions` random items of all N (most are no longer in the
    worker's workflow cache at large N), then the `--decisions` newest items (still cached), each set by
    `--decision-concurrency` callers, baseline first; p50/p95/p99 and the ratios against issue 18's targets;
 3. memory per part (RSS, PSS) during the fill and at the end, memory per open item fitted over the fill, and a
    linear projection to `--project` open items (a projection, printed as one, with the points it comes from).
Figures and analysis: bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import text

from bench.baseline import baseline_worker, ensure_baseline_table
from bench.intake_and_decision import Target
from bench.measure import BenchError, Run, closed_loop, percentile
from bench.sides import Baseline, Kexiang, Side, bearer
from db.seed import DEMO_PASSWORD

if TYPE_CHECKING:
    from temporalio.client import Client

    from bench.stack import BenchStack, Memory
    from db.session import Database

P50_TARGET = 1.5  # kexiang decision p50 at most this multiple of the baseline's (issue 18)
P99_TARGET = 2.0  # and p99 at most this multiple
SHARES = (0.5, 0.95, 0.99)
MIB = 1024  # KiB per MiB
SIDES = ("kexiang", "baseline")
KINDS = {  # the decision sets, in the order they run
    "random": "random of all open",
    "newest": "newest open (in the worker's cache)",
    "evicted": "random, after both workers restarted (none cached)",
}


@dataclass
class Sample:
    """The stack's memory at one moment of the fill."""

    filling: str  # the side being filled
    elapsed: float  # seconds since the first fill began
    settled: dict[str, int]  # items settled so far, per side
    memory: dict[str, Memory]  # per part
    load: float  # 1-minute load average


@dataclass
class Fill:
    """One side's fill: the items, the creation run, the seconds until the last one settled."""

    ids: list[str]
    run: Run
    seconds: float

    @property
    def rate(self) -> float:
        """Items settled per second over the fill."""
        return len(self.ids) / self.seconds if self.seconds else 0.0


@dataclass
class OpenFigures:
    """Everything one run measured."""

    open: int
    decision_concurrency: int
    fills: dict[str, Fill]
    decisions: dict[tuple[str, str], Run]  # (side, "random" | "newest") → the run
    samples: list[Sample]
    end_memory: dict[str, Memory]
    disk: dict[str, int]  # bytes: "temporal" (SQLite + WAL), "postgres" (the database)
    shared_buffers: str  # PostgreSQL's, as it reports it
    load: tuple[float, float]  # 1-minute load average at the start and at the end
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # phase → part → CPU seconds

    def decision_ms(self, side: str, kind: str, share: float) -> float:
        """A decision-latency percentile in milliseconds."""
        return percentile(self.decisions[(side, kind)].latencies, share) * 1000


def _load() -> float:
    return os.getloadavg()[0]


def _memory_line(memory: dict[str, Memory]) -> str:
    return " ".join(f"{part} {m.rss / MIB:.0f}" for part, m in sorted(memory.items())) + " MiB RSS"


async def fill(
    side: Side,
    count: int,
    *,
    concurrency: int,
    backlog: int,
    progress: float,
    on_progress: Callable[[int], None],
    stall: float = 300.0,
    poll: float = 1.0,
) -> Fill:
    """Create `count` items, holding back while more than `backlog` are created but not settled; wait until all
    settled. `on_progress(settled)` is called every `progress` seconds and at the end."""
    ids: list[str] = []
    settled = 0
    began = time.perf_counter()

    async def gated_create(_: int) -> None:
        while len(ids) - settled > backlog:
            await asyncio.sleep(0.05)
        try:
            await side.create(ids)
        except httpx.TransportError as err:  # e.g. the API closed a kept-alive connection: counted, not fatal
            raise BenchError(f"create: {type(err).__name__} {err}") from err

    async def watch(creating: asyncio.Task[Run]) -> float:
        nonlocal settled
        last_report = moved_at = time.perf_counter()
        while True:
            seen = await side.settled(list(ids))
            now = time.perf_counter()
            if seen > settled:
                settled, moved_at = seen, now
            if creating.done() and creating.exception():
                creating.result()  # the creation failed on something that is not a counted failure: raise it
            if creating.done() and settled >= len(ids):
                on_progress(settled)
                return now
            if now - moved_at > stall:
                raise BenchError(f"{side.name} fill: stuck at {settled} settled of {len(ids)} for {stall:.0f} s")
            if now - last_report >= progress:
                on_progress(settled)
                last_report = now
            await asyncio.sleep(poll)

    creating = asyncio.create_task(closed_loop(range(count), concurrency, gated_create))
    try:
        done = await watch(creating)
    finally:
        if not creating.done():
            creating.cancel()
    return Fill(ids=ids, run=creating.result(), seconds=done - began)


async def _postgres_size(target: Target) -> tuple[int, str]:
    """The database's bytes on disk, and PostgreSQL's shared_buffers (what bounds its resident memory)."""
    async with target.db.session() as session:
        size = int(await session.scalar(text("SELECT pg_database_size(current_database())")) or 0)
        return size, str(await session.scalar(text("SHOW shared_buffers")))


async def measure_open(
    target: Target,
    *,
    open_items: int,
    concurrency: int,
    backlog: int,
    decisions: int,
    decision_concurrency: int,
    warmup: int,
    progress: float,
    memory: Callable[[], dict[str, Memory]],
    temporal_disk: Callable[[], int] = lambda: 0,
    cpu: Callable[[], dict[str, float]] | None = None,
    restart_worker: Callable[[], None] | None = None,
    say: Callable[[str], None] = print,
) -> OpenFigures:
    """Fill both sides with `open_items` each, then time decisions on random and on the newest items; with
    `restart_worker` (blocking: stops the product worker and starts it again) also on random items once both
    workers' caches are empty, what a decision costs at N far above the cache (`evicted`)."""
    used: dict[str, dict[str, float]] = {}

    @asynccontextmanager
    async def phase(name: str) -> AsyncIterator[None]:
        before = cpu() if cpu else {}
        yield
        if cpu:
            after = cpu()
            used[name] = {part: after[part] - before.get(part, 0.0) for part in after}

    await ensure_baseline_table(target.db)
    load_at_start = _load()
    samples: list[Sample] = []
    settled: dict[str, int] = dict.fromkeys(SIDES, 0)
    began = time.perf_counter()
    limits = httpx.Limits(max_connections=max(concurrency, decision_concurrency) + 5)
    async with httpx.AsyncClient(base_url=target.api_url, timeout=60, limits=limits) as http:
        base_worker = baseline_worker(target.client, target.db, target.baseline_queue)
        await base_worker.__aenter__()
        try:
            kexiang = Kexiang(
                http,
                target.db,
                agent=await bearer(http, "agent1", DEMO_PASSWORD),
                engineer=await bearer(http, "engineer1", DEMO_PASSWORD),
            )
            baseline = Baseline(target.client, target.db, task_queue=target.baseline_queue, run_id=uuid.uuid4().hex[:8])
            sides: tuple[Side, Side] = (kexiang, baseline)
            for side in sides:  # warm caches, pools and the sandbox: created, settled and decided, not counted
                warm = await fill(
                    side, warmup, concurrency=concurrency, backlog=backlog, progress=1e9, on_progress=lambda _: None
                )
                await closed_loop(await side.decision_items(warm.ids), decision_concurrency, side.decide)
            fills: dict[str, Fill] = {}
            for side in sides:
                say(f"fill: {side.name}, {open_items} items at concurrency {concurrency}, backlog ≤ {backlog} …")
                last = [time.perf_counter(), 0]

                def on_progress(count: int, name: str = side.name, last: list[float] = last) -> None:
                    settled[name] = count
                    sample = Sample(name, time.perf_counter() - began, dict(settled), memory(), _load())
                    samples.append(sample)
                    now = time.perf_counter()
                    rate = (count - last[1]) / (now - last[0]) if now > last[0] else 0.0
                    last[:] = [now, count]
                    say(
                        f"  {name} {count}/{open_items} settled ({rate:.1f}/s now), "
                        f"load {sample.load:.1f} | {_memory_line(sample.memory)}"
                    )

                async with phase(f"{side.name} fill"):
                    fills[side.name] = await fill(
                        side,
                        open_items,
                        concurrency=concurrency,
                        backlog=backlog,
                        progress=progress,
                        on_progress=on_progress,
                    )
                say(f"fill: {side.name} done, {fills[side.name].rate:.1f} items/s")
            chosen = random.Random(7).sample(range(open_items), min(decisions, open_items))
            rest = sorted(set(range(open_items)) - set(chosen))
            newest = rest[-decisions:]
            rest = sorted(set(rest) - set(newest))
            sets = {"random": chosen, "newest": newest}
            runs: dict[tuple[str, str], Run] = {}

            async def decide(kinds: tuple[str, ...]) -> None:
                for side in reversed(sides):  # the baseline first, as bench.intake_and_decision does
                    ids = fills[side.name].ids  # fewer than `open_items` if some creations failed
                    for kind in kinds:
                        items = [ids[i] for i in sets[kind] if i < len(ids)]
                        say(f"decisions: {side.name}, {len(items)} {kind} of {len(ids)} open …")
                        async with phase(f"{side.name} decisions {kind}"):
                            runs[(side.name, kind)] = await closed_loop(
                                await side.decision_items(items), decision_concurrency, side.decide
                            )

            await decide(("random", "newest"))
            if restart_worker is not None and rest:
                say("restarting the product worker and the baseline's: their workflow caches start empty …")
                await base_worker.__aexit__(None, None, None)
                await asyncio.to_thread(restart_worker)
                base_worker = baseline_worker(target.client, target.db, target.baseline_queue)
                await base_worker.__aenter__()
                sets["evicted"] = random.Random(8).sample(rest, min(decisions, len(rest)))
                await decide(("evicted",))
        finally:
            await base_worker.__aexit__(None, None, None)
        end_memory = memory()
        postgres_bytes, shared_buffers = await _postgres_size(target)
        disk = {"temporal": temporal_disk(), "postgres": postgres_bytes}
    return OpenFigures(
        open=open_items,
        decision_concurrency=decision_concurrency,
        fills=fills,
        decisions=runs,
        samples=samples,
        end_memory=end_memory,
        disk=disk,
        shared_buffers=shared_buffers,
        load=(load_at_start, _load()),
        cpu=used,
    )


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x; 0 with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _parts(figures: OpenFigures) -> list[str]:
    return sorted(figures.end_memory)


def _fill_points(figures: OpenFigures, side: str, part: str, *, half: bool) -> list[tuple[float, float]]:
    """(settled, PSS KiB) of one part over one side's fill; the later half of it when `half`."""
    points = [
        (float(s.settled[side]), float(s.memory[part].pss))
        for s in figures.samples
        if s.filling == side and part in s.memory
    ]
    return [p for p in points if p[0] >= figures.open / 2] if half else points


def report(figures: OpenFigures, *, project: int, worker_cache: int = 1000) -> str:
    """The figures as bench/README.md records them."""
    k, b = figures.fills["kexiang"], figures.fills["baseline"]
    lines = [
        f"open-items bench: {figures.open} open per side, decisions at concurrency {figures.decision_concurrency}, "
        f"load {figures.load[0]:.1f} at the start, {figures.load[1]:.1f} at the end",
        f"{'':42}{'kexiang':>10}{'baseline':>10}{'ratio':>8}  target",
        f"{'fill: items settled/s (routed | parked)':42}{k.rate:>10.1f}{b.rate:>10.1f}{k.rate / b.rate:>8.2f}",
        f"{'fill: minutes':42}{k.seconds / 60:>10.1f}{b.seconds / 60:>10.1f}",
    ]
    for kind, what in KINDS.items():
        if ("kexiang", kind) not in figures.decisions:
            continue
        count = len(figures.decisions[("kexiang", kind)].latencies)
        lines.append(f"decisions on {count} {what}:")
        for share in SHARES:
            mine, theirs = (figures.decision_ms(side, kind, share) for side in SIDES)
            ratio = mine / theirs
            limit = {0.5: P50_TARGET, 0.99: P99_TARGET}.get(share)
            target = f"  <= {limit:.1f}  {_verdict(ratio <= limit)}" if limit else ""
            lines.append(f"{f'  p{round(share * 100)} ms':42}{mine:>10.0f}{theirs:>10.0f}{ratio:>8.2f}{target}")
        mine_rate, theirs_rate = (figures.decisions[(side, kind)].rate for side in SIDES)
        lines.append(f"{'  decisions/s':42}{mine_rate:>10.1f}{theirs_rate:>10.1f}{mine_rate / theirs_rate:>8.2f}")
    for fill_name, fill_run in figures.fills.items():
        if fill_run.run.failures:
            lines.append(f"{fill_name} fill: {len(fill_run.run.failures)} failed, e.g. {fill_run.run.failures[0]}")
    for (side, kind), run in figures.decisions.items():
        if run.failures:
            lines.append(f"{side} decisions {kind}: {len(run.failures)} failed, e.g. {run.failures[0]}")
    if figures.cpu:
        parts = sorted({part for used in figures.cpu.values() for part in used})
        lines.append("CPU ms per item" + " " * 29 + "".join(f"{part:>10}" for part in parts) + f"{'total':>10}")
        for name, used in figures.cpu.items():
            side, _, kind = name.partition(" ")
            runs = figures.fills[side].run if kind == "fill" else figures.decisions[(side, kind.split()[-1])]
            count = len(runs.latencies) or 1
            row = "".join(f"{used.get(part, 0.0) * 1000 / count:>10.1f}" for part in parts)
            lines.append(f"  {name:42}{row}{sum(used.values()) * 1000 / count:>10.1f}")
    parts = _parts(figures)
    lines.append("memory during the fill, MiB RSS (postgres: RSS summed over backends | PSS)")
    lines.append(f"  {'filling':10}{'settled k/b':>14}{'load':>6}" + "".join(f"{part:>16}" for part in parts))
    step = max(1, len(figures.samples) // 12)
    for index in sorted({*range(0, len(figures.samples), step), len(figures.samples) - 1} - {-1}):
        s = figures.samples[index]
        settled = f"{s.settled['kexiang']:>7}/{s.settled['baseline']:<6}"
        lines.append(f"  {s.filling:10}{settled}{s.load:>6.1f}" + _mem(s.memory, parts))
    lines.append(f"  {'end':10}{'':14}{figures.load[1]:>6.1f}" + _mem(figures.end_memory, parts))
    lines.append(
        f"memory per open item, KiB PSS (least squares over each fill; later half: from {figures.open // 2} open)"
    )
    lines.append(f"  {'':26}" + "".join(f"{part:>12}" for part in parts))
    for side in SIDES:
        for half in (False, True):
            row = "".join(f"{_slope(_fill_points(figures, side, part, half=half)):>12.1f}" for part in parts)
            lines.append(f"  {side + (' later half' if half else ' whole fill'):26}{row}")
    ends = [s for s in figures.samples if s.filling == "kexiang"]
    if ends and project > figures.open:
        at, count = ends[-1], ends[-1].settled["kexiang"]
        lines.append(
            f"PROJECTION to {project} open kexiang tickets (not measured): PSS at {count} open + whole-fill slope × "
            f"the open tickets still to come; the worker only up to its cache ({worker_cache} workflows), PostgreSQL "
            "not at all (its resident memory is shared_buffers and backends; its data grows on disk, below)"
        )
        total = 0.0
        for part in parts:
            slope = max(0.0, _slope(_fill_points(figures, "kexiang", part, half=False)))
            grows = {"worker": max(0, min(project, worker_cache) - count), "postgres": 0, "bench": 0}
            value = (at.memory[part].pss + slope * grows.get(part, project - count)) / MIB
            if part != "bench":
                total += value
            lines.append(f"  {part:26}{value:>10.0f} MiB")
        lines.append(f"  {'temporal+worker+api+postgres':26}{total:>10.0f} MiB")
        lines.append(
            f"  {'PostgreSQL on disk':26}{figures.disk['postgres'] / max(1, figures.open) * project / 2**30:>10.1f} GiB"
        )
    items = 2 * figures.open or 1
    lines.append(
        f"disk at the end ({figures.open} open per side): Temporal SQLite {figures.disk['temporal'] / 2**20:.0f} MiB, "
        f"PostgreSQL {figures.disk['postgres'] / 2**20:.0f} MiB "
        f"(≈ {figures.disk['temporal'] / items / 1024:.1f} and {figures.disk['postgres'] / figures.open / 1024:.1f} "
        f"KiB per item, both sides together | per ticket); PostgreSQL shared_buffers {figures.shared_buffers}"
    )
    return "\n".join(lines)


def _mem(memory: dict[str, Memory], parts: list[str]) -> str:
    cells = []
    for part in parts:
        m = memory.get(part)
        if m is None:
            cells.append(f"{'-':>16}")
        elif part == "postgres":
            cells.append(f"{f'{m.rss / MIB:.0f} | {m.pss / MIB:.0f}':>16}")
        else:
            cells.append(f"{m.rss / MIB:>16.0f}")
    return "".join(cells)


def _arguments() -> argparse.Namespace:
    from bench.stack import add_stack_arguments  # the stack needs the dev extra

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=1000, help="items opened and kept open on each side")
    parser.add_argument("--concurrency", type=int, default=10, help="closed-loop callers during the fill")
    parser.add_argument("--backlog", type=int, default=30, help="created items not yet settled before callers wait")
    parser.add_argument("--decisions", type=int, default=300, help="items decided per set (random, then newest)")
    parser.add_argument("--decision-concurrency", type=int, default=10, help="concurrent deciders")
    parser.add_argument("--warmup", type=int, default=20, help="items created and decided first, not counted")
    parser.add_argument("--progress", type=float, default=15.0, help="seconds between progress and memory lines")
    parser.add_argument(
        "--evicted",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a third set of decisions after restarting both workers (the cost of a decision at N above the cache)",
    )
    parser.add_argument("--project", type=int, default=100_000, help="open tickets to project memory to")
    parser.add_argument(
        "--worker-cache", type=int, default=1000, help="the worker's max_cached_workflows, for the projection"
    )
    add_stack_arguments(parser)
    return parser.parse_args()


def main() -> None:
    """Start the stack, fill, decide, print the figures, stop the stack."""
    from bench.stack import run_on_stack  # the stack needs the dev extra; measure_open() does not

    async def run(stack: BenchStack, client: Client, db: Database) -> OpenFigures:
        return await measure_open(
            Target(stack.api_url, client, db, baseline_queue="bench-baseline"),
            open_items=args.open,
            concurrency=args.concurrency,
            backlog=args.backlog,
            decisions=args.decisions,
            decision_concurrency=args.decision_concurrency,
            warmup=args.warmup,
            progress=args.progress,
            memory=stack.memory.sample,
            temporal_disk=stack.memory.temporal_disk,
            cpu=stack.meter.sample,
            restart_worker=stack.restart_worker if args.evicted else None,
            say=lambda line: print(f"bench: {line}", flush=True),
        )

    args = _arguments()
    figures = run_on_stack(args, run)
    print(report(figures, project=args.project, worker_cache=args.worker_cache), flush=True)


if __name__ == "__main__":
    main()
