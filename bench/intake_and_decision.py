"""Intake throughput and decision latency of kexiang next to a bare Temporal baseline, measured in one run.

    .venv/bin/python -m bench.intake_and_decision --tickets 2000

starts its own stack (bench/stack.py), then for kexiang and for the baseline alike:
 1. intake: N items created by `--concurrency` closed-loop callers; created/s counts acknowledgements
    (kexiang: HTTP 201; baseline: the start RPC returned), settled/s counts until every item reached its wait;
 2. decisions: with all N open, `--decisions` of them decided by `--decision-concurrency` callers; p50/p95/p99
    of the round trip.
What each side's "created", "settled" and "decision" mean is in bench/sides.py; figures and analysis in bench/README.md.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from temporalio.client import Client

from bench.baseline import baseline_worker, ensure_baseline_table
from bench.measure import Run, closed_loop, percentile, settle
from bench.sides import Baseline, Kexiang, Side, bearer
from db.seed import DEMO_PASSWORD
from db.session import Database

# Issue 18's targets, each against the baseline measured in the same run
CREATED_TARGET = 0.9  # kexiang created/s at least this share of the baseline's
SETTLED_TARGET = 0.8  # kexiang settled/s at least this share of the baseline's
DECISION_TARGETS = {0.5: 1.5, 0.99: 2.0}  # kexiang decision percentile at most this multiple of the baseline's
CPU_TARGET = 2.0  # kexiang CPU per ticket (intake until settled, plus a decision) at most this multiple
SHARES = (0.5, 0.95, 0.99)

if TYPE_CHECKING:
    from bench.stack import BenchStack


@dataclass
class Target:
    """Where the system under test runs: its API, its Temporal client and database, the baseline's task queue."""

    api_url: str
    client: Client
    db: Database
    baseline_queue: str


@dataclass
class SideFigures:
    """One side's measurements."""

    intake: Run
    settled_seconds: float
    decisions: Run
    ids: list[str]  # the measured items (ticket numbers, workflow ids)

    @property
    def settled_rate(self) -> float:
        """Items per second until the last one reached its wait."""
        return len(self.intake.latencies) / self.settled_seconds

    def decision_ms(self, share: float) -> float:
        """A decision-latency percentile in milliseconds."""
        return percentile(self.decisions.latencies, share) * 1000


@dataclass
class Figures:
    """Both sides and the run's parameters."""

    tickets: int
    concurrency: int
    decision_concurrency: int
    kexiang: SideFigures
    baseline: SideFigures
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # "kexiang intake" → part → CPU seconds

    @property
    def intake_ratio(self) -> float:
        """kexiang's created/s over the baseline's."""
        return self.kexiang.intake.rate / self.baseline.intake.rate

    @property
    def decision_ratio(self) -> float:
        """kexiang's decision p50 over the baseline's."""
        return self.kexiang.decision_ms(0.5) / self.baseline.decision_ms(0.5)


async def _intake(
    side: Side, count: int, concurrency: int, settle_per_item: float = 0.5
) -> tuple[Run, float, list[str]]:
    """Create `count` items closed-loop; the run, the seconds until all settled, their ids."""
    ids: list[str] = []
    began = time.perf_counter()
    run = await closed_loop(range(count), concurrency, lambda _: side.create(ids))
    timeout = max(120.0, count * settle_per_item)
    # only the creates that were answered can settle (a failed one is counted as failed, not waited for)
    done = await settle(lambda: side.settled(ids), len(ids), timeout=timeout, what=f"{side.name} settled")
    return run, done - began, ids


async def _decide(side: Side, ids: list[str], concurrency: int) -> Run:
    items = await side.decision_items(ids)
    return await closed_loop(items, concurrency, side.decide)


async def measure(
    target: Target,
    *,
    tickets: int,
    concurrency: int,
    decisions: int,
    decision_concurrency: int,
    warmup: int,
    settle_per_item: float = 0.5,
    say: Callable[[str], None] = print,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> Figures:
    """Run both sides against the target and return the figures (progress lines go to `say`).

    `cpu` (cumulative CPU seconds per part of the stack) is sampled around each phase when given.
    """
    used: dict[str, dict[str, float]] = {}

    @asynccontextmanager
    async def phase(name: str) -> AsyncIterator[None]:
        before = cpu() if cpu else {}
        yield
        if cpu:
            after = cpu()
            used[name] = {part: after[part] - before.get(part, 0.0) for part in after}

    await ensure_baseline_table(target.db)
    limits = httpx.Limits(max_connections=max(concurrency, decision_concurrency) + 5)
    async with (
        httpx.AsyncClient(base_url=target.api_url, timeout=60, limits=limits) as http,
        baseline_worker(target.client, target.db, target.baseline_queue),
    ):
        kexiang = Kexiang(
            http,
            target.db,
            agent=await bearer(http, "agent1", DEMO_PASSWORD),
            engineer=await bearer(http, "engineer1", DEMO_PASSWORD),
        )
        baseline = Baseline(target.client, target.db, task_queue=target.baseline_queue, run_id=uuid.uuid4().hex[:8])
        sides: tuple[Side, Side] = (kexiang, baseline)
        for side in sides:  # warm caches, pools and the workflow sandbox; not counted
            *_, warm = await _intake(side, warmup, concurrency)
            await _decide(side, warm, decision_concurrency)
        intake: dict[str, tuple[Run, float, list[str]]] = {}
        for side in sides:
            say(f"intake: {side.name}, {tickets} items at concurrency {concurrency} …")
            async with phase(f"{side.name} intake"):
                intake[side.name] = await _intake(side, tickets, concurrency, settle_per_item)
        chosen = random.Random(7).sample(range(tickets), min(decisions, tickets))
        runs: dict[str, Run] = {}
        for side in reversed(sides):  # the baseline first: neither side always runs on the fuller server
            say(f"decisions: {side.name}, {len(chosen)} of {tickets} open at concurrency {decision_concurrency} …")
            async with phase(f"{side.name} decisions"):
                ids = intake[side.name][2]  # fewer than `tickets` if some intakes failed
                runs[side.name] = await _decide(side, [ids[i] for i in chosen if i < len(ids)], decision_concurrency)
    kx, base = intake["kexiang"], intake["baseline"]
    return Figures(
        tickets=tickets,
        concurrency=concurrency,
        decision_concurrency=decision_concurrency,
        kexiang=SideFigures(kx[0], kx[1], runs["kexiang"], kx[2]),
        baseline=SideFigures(base[0], base[1], runs["baseline"], base[2]),
        cpu=used,
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _cpu_per_ticket(cpu: dict[str, dict[str, float]], name: str, side: SideFigures) -> float:
    """A side's CPU ms for one ticket's life here: its intake until settled plus one decision."""
    total = 0.0
    for phase in ("intake", "decisions"):
        count = len(getattr(side, phase).latencies) or 1
        total += sum(cpu.get(f"{name} {phase}", {}).values()) * 1000 / count
    return total


def report(figures: Figures) -> str:
    """The figures as the table README.md records."""
    k, b = figures.kexiang, figures.baseline
    lines = [
        f"kexiang bench: {figures.tickets} tickets, intake concurrency {figures.concurrency}, "
        f"{len(k.decisions.latencies)} decisions at concurrency {figures.decision_concurrency}",
        f"{'':34}{'kexiang':>10}{'baseline':>10}{'ratio':>8}  target",
        f"{'intake created/s':34}{k.intake.rate:>10.1f}{b.intake.rate:>10.1f}{figures.intake_ratio:>8.2f}"
        f"  >= {CREATED_TARGET:.2f}  {_verdict(figures.intake_ratio >= CREATED_TARGET)}",
        f"{'intake settled/s (routed | parked)':34}{k.settled_rate:>10.1f}{b.settled_rate:>10.1f}"
        f"{k.settled_rate / b.settled_rate:>8.2f}"
        f"  >= {SETTLED_TARGET:.2f}  {_verdict(k.settled_rate / b.settled_rate >= SETTLED_TARGET)}",
    ]
    for share in SHARES:
        name = f"decision p{round(share * 100)} ms"
        ratio = k.decision_ms(share) / b.decision_ms(share)
        bound = DECISION_TARGETS.get(share)
        target = f"  <= {bound:.1f}   {_verdict(ratio <= bound)}" if bound else ""
        lines.append(f"{name:34}{k.decision_ms(share):>10.0f}{b.decision_ms(share):>10.0f}{ratio:>8.2f}{target}")
    rate_ratio = k.decisions.rate / b.decisions.rate
    lines.append(f"{'decisions/s':34}{k.decisions.rate:>10.1f}{b.decisions.rate:>10.1f}{rate_ratio:>8.2f}")
    for phase in ("intake", "decisions"):
        for name, side in (("kexiang", k), ("baseline", b)):
            if failures := getattr(side, phase).failures:
                lines.append(f"{name} {phase}: {len(failures)} failed (not in the figures), e.g. {failures[0]}")
    if figures.cpu:
        parts = sorted({part for used in figures.cpu.values() for part in used})
        lines.append(
            "CPU ms per item (intake: until settled)  " + "".join(f"{part:>10}" for part in parts) + f"{'total':>10}"
        )
        for name, used in figures.cpu.items():
            side = k if name.startswith("kexiang") else b
            count = len((side.intake if name.endswith("intake") else side.decisions).latencies) or 1
            row = "".join(f"{used.get(part, 0.0) * 1000 / count:>10.1f}" for part in parts)
            lines.append(f"  {name:38}{row}{sum(used.values()) * 1000 / count:>10.1f}")
        per_ticket = {
            name: _cpu_per_ticket(figures.cpu, name, side) for name, side in (("kexiang", k), ("baseline", b))
        }
        if per_ticket["baseline"]:
            ratio = per_ticket["kexiang"] / per_ticket["baseline"]
            lines.append(
                f"{'CPU ms per ticket (intake + decision)':34}{per_ticket['kexiang']:>10.1f}"
                f"{per_ticket['baseline']:>10.1f}{ratio:>8.2f}  <= {CPU_TARGET:.1f}   {_verdict(ratio <= CPU_TARGET)}"
            )
    return "\n".join(lines)


def _arguments() -> argparse.Namespace:
    from bench.stack import add_stack_arguments  # the stack needs the dev extra

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2000, help="items created (and left open) on each side")
    parser.add_argument("--concurrency", type=int, default=50, help="closed-loop callers during intake")
    parser.add_argument("--decisions", type=int, default=500, help="items decided on each side (a random sample)")
    parser.add_argument("--decision-concurrency", type=int, default=10, help="closed-loop callers during decisions")
    parser.add_argument("--warmup", type=int, default=20, help="items created and decided first, not counted")
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=0.5,
        help="seconds per item the intake may take to settle before the run fails (at least 120 in all)",
    )
    add_stack_arguments(parser, tuning=True)
    return parser.parse_args()


def main() -> None:
    """Start the stack, measure, print the figures, stop the stack."""
    from bench.stack import run_on_stack  # the stack needs the dev extra; measure() does not

    async def run(stack: BenchStack, client: Client, db: Database) -> tuple[Figures, dict[str, float]]:
        figures = await measure(
            Target(stack.api_url, client, db, baseline_queue="bench-baseline"),
            tickets=args.tickets,
            concurrency=args.concurrency,
            decisions=args.decisions,
            decision_concurrency=args.decision_concurrency,
            warmup=args.warmup,
            settle_per_item=args.settle_seconds,
            say=lambda line: print(f"bench: {line}", flush=True),
            cpu=stack.meter.sample,
        )
        resident = stack.memory.sample()
        return figures, {part: resident[part].rss / 1024 for part in ("worker", "api", "temporal")}

    args = _arguments()
    figures, memory = run_on_stack(args, run)
    print(report(figures), flush=True)
    print("resident memory at the end (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in memory.items()), flush=True)


if __name__ == "__main__":
    main()
