"""Timer storm: N deadlines falling due within one minute, and how late each fires; kexiang next to bare timers.

    .venv/bin/python -m bench.timer_storm --deadlines 10000    # the issue's size (setup takes most of the run)
    .venv/bin/python -m bench.timer_storm --deadlines 1000     # a quick look

Starts its own stack (bench/stack.py: the real dev server, so lateness is wall-clock), then for each side:
 1. calibrate: `--warmup` items armed (not counted) to learn how fast this box arms them now;
 2. setup: N items started, their deadlines spread evenly over one minute that begins when setup should be done
    (N / the calibrated rate × `--lead-factor`, or `--lead` seconds); progress every few seconds;
 3. storm: wait until every deadline fired (or `--grace` seconds after the minute), progress every few seconds.

baseline: `BenchTimer` (bench/baseline_workflow.py), one plain `workflow.sleep` to the due instant, then one row
written. Lateness observed = the workflow's clock when it woke (`workflow.now()`) − due; written = the row's
`clock_timestamp()` − due.

kexiang: real service tickets (`ServiceTicket`, complete intake, routed to an engineer department): the accept task's
response deadline is the durable timer, and its firing is the breach (sla_breach row, audit, notifications, the
ticket escalated a tier and saved). Two things differ from an intake through the API, both to make 10,000 real
deadlines fall due inside one minute: the bench starts the workflows with the client (numbered by
`allocate_ticket_no`, the same input the API sends, the read-model row written by the workflow's first save), and it
backdates each ticket's `created_at` (a `TicketInput` field) by the response budget so that the deadline lands on
its instant in the minute; and the tickets run under the SLA policy `storm`, the seeded policy with a ladder of the
breach rung only (no 50 %/75 % reminders, which would otherwise be due before the ticket was even started).
Lateness observed = `sla_breach.breached_at` (the workflow's clock when it fired) − `due_at`; written = when the
breach row was inserted (a trigger in the bench's schema) − `due_at`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from api.tickets.service import ticket_types
from api.tickets.tmf621 import TroubleTicketCreate, intake_of
from api.tickets.tmf621_examples import complete_intake
from bench.baseline import baseline_worker, ensure_baseline_table
from bench.baseline_workflow import BASELINE_TIMER_WORKFLOW
from bench.measure import BenchError, closed_loop, percentile
from core.calendar import Budget
from core.records import PolicyRef
from core.roles import Actor, Role
from core.sla import LadderStep
from core.tickets import Intake, TicketInput
from db.models import SlaPolicyVersion
from db.policies import latest_policy
from db.session import Database
from db.tickets import allocate_ticket_no, workflow_id_for
from infra.settings import Settings
from workflows.common import BUSINESS_REF, ORDER_KIND

STORM_POLICY = "storm"
WINDOW_SECONDS = 60.0
MEDIAN_TARGET = 1.0  # seconds
P99_TARGET = 5.0
SHARES = (0.5, 0.95, 0.99)

# The bench's own record of when each breach row was written (the product's table has no such column).
_BREACH_SEEN_DDL = (
    "CREATE SCHEMA IF NOT EXISTS bench",
    "CREATE TABLE IF NOT EXISTS bench.breach_seen (key text PRIMARY KEY, "
    "seen_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    "CREATE OR REPLACE FUNCTION bench.note_breach() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN INSERT INTO bench.breach_seen (key) VALUES (NEW.key) ON CONFLICT DO NOTHING; RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS bench_breach_seen ON sla_breach",
    "CREATE TRIGGER bench_breach_seen AFTER INSERT ON sla_breach FOR EACH ROW EXECUTE FUNCTION bench.note_breach()",
)

if TYPE_CHECKING:
    from bench.stack import BenchStack


@dataclass(frozen=True)
class Firing:
    """One deadline's record: when it was due, when the workflow armed it, woke for it, and wrote it down."""

    due: datetime
    armed: datetime
    observed: datetime
    written: datetime


class StormSide(Protocol):
    """What the bench needs from a system under measurement."""

    name: str

    async def start(self, due: datetime) -> str:
        """Start one item whose deadline is `due`; its id once the server accepted the start."""

    async def armed(self, ids: Sequence[str]) -> int | None:
        """How many of these items have armed their deadline's timer (None: not observable before it fires)."""

    async def fired(self, ids: Sequence[str]) -> int:
        """How many of these items have recorded their deadline's firing."""

    async def firings(self, ids: Sequence[str]) -> list[Firing]:
        """The recorded firings of these items."""


async def _scalar(db: Database, sql: str, ids: Sequence[str]) -> int:
    async with db.session() as session:
        return int(await session.scalar(text(sql), {"ids": list(ids)}) or 0)


async def _firings(db: Database, sql: str, ids: Sequence[str]) -> list[Firing]:
    async with db.session() as session:
        rows = await session.execute(text(sql), {"ids": list(ids)})
        return [Firing(*row) for row in rows]


class BareTimers:
    """`BenchTimer` workflows through the Temporal client: one plain sleep each."""

    name = "baseline"

    def __init__(self, client: Client, db: Database, *, task_queue: str) -> None:
        self.client, self.db, self.task_queue = client, db, task_queue
        self._run = uuid.uuid4().hex[:8]
        self._serial = 0

    async def start(self, due: datetime) -> str:
        """Start one sleeper."""
        self._serial += 1
        workflow_id = f"timer-{self._run}-{self._serial:05d}"
        try:
            await self.client.start_workflow(BASELINE_TIMER_WORKFLOW, due, id=workflow_id, task_queue=self.task_queue)
        except RPCError as err:
            raise BenchError(f"start: {err}") from err
        return workflow_id

    async def armed(self, ids: Sequence[str]) -> int | None:
        """Not observable without a write of its own, which a bare timer does not do (its row says when, later)."""
        return None

    async def fired(self, ids: Sequence[str]) -> int:
        """Rows written by the firing activity."""
        return await _scalar(self.db, "SELECT count(*) FROM bench.timer_fired WHERE workflow_id = ANY(:ids)", ids)

    async def firings(self, ids: Sequence[str]) -> list[Firing]:
        """Each row's due, armed, fired and written instants."""
        return await _firings(
            self.db,
            "SELECT due_at, armed_at, fired_at, written_at FROM bench.timer_fired WHERE workflow_id = ANY(:ids)",
            ids,
        )


class Tickets:
    """Real service tickets whose accept task's response deadline falls on the given instant."""

    name = "kexiang"

    def __init__(self, client: Client, db: Database, settings: Settings, *, intake: Intake, budget: Budget) -> None:
        self.client, self.db, self.settings, self.intake = client, db, settings, intake
        self._budget = timedelta(hours=budget.amount)
        self.policy = PolicyRef(policy=STORM_POLICY)
        self._agent = Actor(username="agent1", roles=(Role.AGENT,))

    @classmethod
    async def prepare(cls, client: Client, db: Database, settings: Settings) -> Tickets:
        """Publish the `storm` policy (the seeded one, breach rung only), note breaches, build the intake."""
        async with db.session() as session:
            seeded = await latest_policy(session, settings.default_sla_policy)
            if seeded is None:
                raise BenchError(f"SLA policy {settings.default_sla_policy} is not seeded")
            intake = intake_of(TroubleTicketCreate.model_validate(complete_intake()), await ticket_types(session))
            assert intake.priority is not None
            budget = seeded.priorities[intake.priority].response
            if budget.unit != "hours":
                raise BenchError(f"the {intake.priority} response budget is {budget.unit}: backdating needs hours")
            ladder = tuple(step for step in seeded.ladder if step.percent >= 100) or (
                LadderStep(percent=100, action="escalate", notify_roles=(Role.SUPERVISOR,)),
            )
            storm = seeded.model_copy(update={"name": STORM_POLICY, "version": 1, "ladder": ladder})
            session.add(
                SlaPolicyVersion(name=STORM_POLICY, version=1, spec=storm.model_dump(mode="json"), created_by="bench")
            )
            for statement in _BREACH_SEEN_DDL:
                await session.execute(text(statement))
            await session.commit()
        return cls(client, db, settings, intake=intake, budget=budget)

    async def start(self, due: datetime | None, *, policy: PolicyRef | None = None) -> str:
        """Number a ticket and start its workflow, created one response budget before `due` (None: now)."""
        async with self.db.session() as session:
            ticket_no = await allocate_ticket_no(session, datetime.now(UTC))
            await session.commit()
        workflow_id = workflow_id_for(ticket_no)
        start = TicketInput(
            ticket_no=ticket_no,
            intake=self.intake,
            created_by=self._agent,
            request_id=str(uuid.uuid4()),
            policy=policy or self.policy,
            created_at=None if due is None else due - self._budget,
        )
        try:
            await self.client.start_workflow(
                "ServiceTicket",
                start,
                id=workflow_id,
                task_queue=self.settings.temporal_task_queue,
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(ORDER_KIND, "ticket"), SearchAttributePair(BUSINESS_REF, ticket_no)]
                ),
            )
        except RPCError as err:
            raise BenchError(f"start: {err}") from err
        return workflow_id

    async def armed(self, ids: Sequence[str]) -> int | None:
        """Tickets routed: the accept task is open (its ladder armed) and the cycle is in the read model."""
        return await _scalar(
            self.db, "SELECT count(*) FROM ticket WHERE workflow_id = ANY(:ids) AND response_due IS NOT NULL", ids
        )

    async def fired(self, ids: Sequence[str]) -> int:
        """Accept-task breaches recorded."""
        return await _scalar(
            self.db, "SELECT count(*) FROM sla_breach WHERE workflow_id = ANY(:ids) AND kind = 'accept'", ids
        )

    async def firings(self, ids: Sequence[str]) -> list[Firing]:
        """Each breach's due, the accept task's opening, the workflow's clock at the breach, the row's insert."""
        return await _firings(
            self.db,
            "SELECT b.due_at, t.opened_at, b.breached_at, s.seen_at FROM sla_breach b"
            " JOIN bench.breach_seen s ON s.key = b.key JOIN human_task t ON t.task_id = b.task_id"
            " WHERE b.workflow_id = ANY(:ids) AND b.kind = 'accept'",
            ids,
        )


@dataclass
class StormFigures:
    """One side's storm."""

    name: str
    deadlines: int
    calibrated_rate: float  # items armed per second during calibration
    window_start: datetime
    setup_started: float  # perf_counter when the first start was sent
    started_seconds: float  # until every start was accepted
    armed_seconds: float | None  # until every item armed (None: not all armed before the storm)
    setup_began_at: datetime
    firings: list[Firing]
    failures: list[str]
    load: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # phase → os.getloadavg()
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # phase → part → CPU seconds

    def lateness(self, kind: str) -> list[float]:
        """Seconds late of each firing, by the workflow's clock ("observed") or the row's ("written")."""
        return [(getattr(f, kind) - f.due).total_seconds() for f in self.firings]

    @property
    def armed_late(self) -> int:
        """Deadlines whose timer was armed only after they were due (setup overran the lead)."""
        return sum(1 for f in self.firings if f.armed > f.due)

    @property
    def armed_rate(self) -> float:
        """Items armed per second over the setup, from the workflows' own arming instants."""
        if not self.firings:
            return 0.0
        last = max(f.armed for f in self.firings)
        return len(self.firings) / max((last - self.setup_began_at).total_seconds(), 1e-3)


def _say(line: str) -> None:
    print(f"storm: {line}", flush=True)


def _load() -> tuple[float, float, float]:
    return os.getloadavg()


async def _progress(
    what: str, count: Callable[[], Awaitable[int | None]], total: int, every: float, say: Callable[[str], None]
) -> None:
    """Print `what: n/total` every `every` seconds until cancelled."""
    began = time.perf_counter()
    while True:
        await asyncio.sleep(every)
        done = await count()
        shown = "?" if done is None else str(done)
        say(f"{what}: {shown}/{total} after {time.perf_counter() - began:.0f} s (load {_load()[0]:.1f})")


async def _wait_for(count: Callable[[], Awaitable[int | None]], expected: int, until: float) -> int | None:
    """Poll `count` every second until it reaches `expected` or perf_counter passes `until`; the last count."""
    while True:
        seen = await count()
        if seen is None or seen >= expected or time.perf_counter() > until:
            return seen
        await asyncio.sleep(1.0)


async def _calibrate(side: StormSide, warmup: int, concurrency: int, start: Callable[[], Awaitable[str]]) -> float:
    """Arm `warmup` items (not counted; a side that cannot show arming: fire them) and return items per second."""
    ids: list[str] = []

    async def one(_: int) -> None:
        ids.append(await start())

    async def reached() -> int:
        armed = await side.armed(ids)
        return await side.fired(ids) if armed is None else armed

    began = time.perf_counter()
    await closed_loop(range(warmup), concurrency, one)
    timeout = max(120.0, warmup * 2.0)
    seen = await _wait_for(reached, len(ids), began + timeout)
    if seen is None or seen < len(ids):
        raise BenchError(f"{side.name}: the warmup did not arm within {timeout:.0f} s")
    return len(ids) / (time.perf_counter() - began)


async def storm(
    side: StormSide,
    *,
    deadlines: int,
    warmup: int,
    concurrency: int,
    lead: float | None,
    lead_factor: float,
    grace: float,
    warm_start: Callable[[], Awaitable[str]],
    cpu: Callable[[], dict[str, float]] | None = None,
    say: Callable[[str], None] = _say,
) -> StormFigures:
    """Calibrate, set `deadlines` items up due within one minute, wait for the storm; the figures."""
    used: dict[str, dict[str, float]] = {}
    loads: dict[str, tuple[float, float, float]] = {}

    @asynccontextmanager
    async def phase(name: str) -> AsyncIterator[None]:
        loads[f"{name} (before)"] = _load()
        before = cpu() if cpu else {}
        yield
        if cpu:
            after = cpu()
            used[name] = {part: after[part] - before.get(part, 0.0) for part in after}
        loads[f"{name} (after)"] = _load()

    say(f"{side.name}: calibrating with {warmup} items …")
    rate = await _calibrate(side, warmup, concurrency, warm_start)
    seconds = lead if lead is not None else max(60.0, deadlines / rate * lead_factor + 30.0)
    window_start = datetime.now(UTC) + timedelta(seconds=seconds)
    say(
        f"{side.name}: armed {rate:.1f} items/s in calibration; {deadlines} deadlines due from "
        f"{window_start:%H:%M:%S} UTC (in {seconds:.0f} s) over {WINDOW_SECONDS:.0f} s"
    )
    dues = [window_start + timedelta(seconds=WINDOW_SECONDS * i / deadlines) for i in range(deadlines)]
    ids: list[str] = []
    failures: list[str] = []

    async def start_one(due: datetime) -> None:
        ids.append(await side.start(due))

    storm_at = time.perf_counter() + seconds
    setup_began_at = datetime.now(UTC)
    async with phase("setup"):
        began = time.perf_counter()
        reporter = asyncio.create_task(
            _progress(f"{side.name} setup, armed", lambda: side.armed(ids), deadlines, 10.0, say)
        )
        try:
            run = await closed_loop(dues, concurrency, start_one)
            failures += run.failures
            started = time.perf_counter() - began
            say(f"{side.name}: {len(ids)} started in {started:.0f} s ({len(ids) / started:.1f}/s)")
            armed = await _wait_for(lambda: side.armed(ids), len(ids), storm_at - 5.0)
        finally:
            reporter.cancel()
        armed_seconds = time.perf_counter() - began if armed is not None and armed >= len(ids) else None
    if armed is None:
        say(f"{side.name}: arming is not observable before the storm (each row says when it armed)")
    elif armed_seconds is None:
        say(f"{side.name}: only {armed}/{len(ids)} armed when the storm is due: the rest fire late")
    else:
        say(f"{side.name}: all armed in {armed_seconds:.0f} s ({len(ids) / armed_seconds:.1f}/s)")
    await asyncio.sleep(max(0.0, storm_at - 2.0 - time.perf_counter()))
    async with phase("storm"):
        fired_so_far = lambda: side.fired(ids)  # noqa: E731
        reporter = asyncio.create_task(_progress(f"{side.name} storm, fired", fired_so_far, len(ids), 5.0, say))
        try:
            fired = await _wait_for(fired_so_far, len(ids), storm_at + WINDOW_SECONDS + grace) or 0
        finally:
            reporter.cancel()
    if fired < len(ids):
        failures.append(f"{len(ids) - fired} of {len(ids)} deadlines had not fired {grace:.0f} s after the window")
    return StormFigures(
        name=side.name,
        deadlines=len(ids),
        calibrated_rate=rate,
        window_start=window_start,
        setup_started=began,
        started_seconds=started,
        armed_seconds=armed_seconds,
        setup_began_at=setup_began_at,
        firings=await side.firings(ids),
        failures=failures,
        load=loads,
        cpu=used,
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(sides: Sequence[StormFigures]) -> str:
    """The figures as bench/README.md records them: kexiang, baseline, ratio, target."""
    kx, base = sides
    lines = [
        f"timer storm: {kx.deadlines} deadlines due within {WINDOW_SECONDS:.0f} s (kexiang) | "
        f"{base.deadlines} (baseline)",
        f"{'':38}{'kexiang':>10}{'baseline':>10}{'ratio':>8}  target",
    ]

    def row(name: str, k: float, b: float, target: str = "", fmt: str = ".2f") -> None:
        ratio = k / b if b else float("nan")
        lines.append(f"{name:38}{k:>10{fmt}}{b:>10{fmt}}{ratio:>8.2f}{target}")

    row("setup: started/s", kx.deadlines / kx.started_seconds, base.deadlines / base.started_seconds, fmt=".1f")
    row("setup: armed/s (routed | sleeping)", kx.armed_rate, base.armed_rate, fmt=".1f")
    lines.append(f"{'fired':38}{len(kx.firings):>10}{len(base.firings):>10}")
    lines.append(f"{'armed only after due':38}{kx.armed_late:>10}{base.armed_late:>10}")
    for kind in ("observed", "written"):
        k, b = kx.lateness(kind), base.lateness(kind)
        for share in SHARES:
            target = ""
            if kind == "observed" and share in (0.5, 0.99):
                goal = MEDIAN_TARGET if share == 0.5 else P99_TARGET
                met = percentile(k, share) <= goal and len(kx.firings) == kx.deadlines
                target = f"  <= {goal:.0f} s  {_verdict(met)}"
            row(f"lateness {kind} p{round(share * 100)} s", percentile(k, share), percentile(b, share), target)
        row(f"lateness {kind} max s", max(k, default=float("nan")), max(b, default=float("nan")))
    for figures in sides:
        for failure in figures.failures:
            lines.append(f"{figures.name}: {failure}")
    for figures in sides:
        loads = ", ".join(f"{phase} {value[0]:.1f}" for phase, value in figures.load.items())
        lines.append(f"{figures.name} uptime load: {loads}")
    parts = sorted({part for figures in sides for used in figures.cpu.values() for part in used})
    if parts:
        lines.append("CPU ms per item              " + "".join(f"{part:>10}" for part in parts) + f"{'total':>10}")
        for figures in sides:
            for phase, used in figures.cpu.items():
                count = max(figures.deadlines, 1)
                cells = "".join(f"{used.get(part, 0.0) * 1000 / count:>10.1f}" for part in parts)
                lines.append(f"  {figures.name + ' ' + phase:27}{cells}{sum(used.values()) * 1000 / count:>10.1f}")
    return "\n".join(lines)


def _arguments() -> argparse.Namespace:
    from bench.stack import add_stack_arguments  # the stack needs the dev extra

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deadlines", type=int, default=10_000, help="deadlines due within the minute, each side")
    parser.add_argument("--baseline-deadlines", type=int, help="the baseline's count (default: --deadlines)")
    parser.add_argument("--warmup", type=int, default=100, help="items armed first to calibrate the lead, not counted")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent starts during setup")
    parser.add_argument("--lead", type=float, help="seconds from the setup's start to the minute (default: calibrated)")
    parser.add_argument("--lead-factor", type=float, default=1.5, help="calibrated setup time × this, plus 30 s")
    parser.add_argument("--grace", type=float, default=300.0, help="seconds after the minute to wait for stragglers")
    parser.add_argument("--only", choices=("kexiang", "baseline"), help="measure one side only (no ratios)")
    add_stack_arguments(parser)
    return parser.parse_args()


async def _measure(args: argparse.Namespace, client: Client, db: Database, cpu: Callable[[], dict[str, float]]) -> str:
    settings = Settings()
    results: list[StormFigures] = []
    common = dict(
        warmup=args.warmup,
        concurrency=args.concurrency,
        lead=args.lead,
        lead_factor=args.lead_factor,
        grace=args.grace,
        cpu=cpu,
    )
    await ensure_baseline_table(db)
    async with baseline_worker(client, db, "bench-baseline"):
        if args.only != "kexiang":  # the baseline first, on the empty server
            bare = BareTimers(client, db, task_queue="bench-baseline")
            soon = lambda: bare.start(datetime.now(UTC) + timedelta(seconds=2))  # noqa: E731
            results.append(
                await storm(bare, deadlines=args.baseline_deadlines or args.deadlines, warm_start=soon, **common)
            )
        if args.only != "baseline":
            tickets = await Tickets.prepare(client, db, settings)
            standard = PolicyRef()  # the warmup's deadlines are hours away under the seeded policy

            async def warm() -> str:
                return await tickets.start(None, policy=standard)

            results.insert(0, await storm(tickets, deadlines=args.deadlines, warm_start=warm, **common))
    if len(results) == 1:
        only = results[0]
        return report_one(only)
    return report(results)


def report_one(figures: StormFigures) -> str:
    """One side's figures (with --only)."""
    lines = [f"timer storm ({figures.name}): {figures.deadlines} deadlines due within {WINDOW_SECONDS:.0f} s"]
    started = figures.deadlines / figures.started_seconds
    lines.append(f"setup: started/s {started:.1f}, armed/s {figures.armed_rate:.1f}")
    lines.append(f"fired {len(figures.firings)}, armed only after due {figures.armed_late}")
    for kind in ("observed", "written"):
        late = figures.lateness(kind)
        cells = ", ".join(f"p{round(s * 100)} {percentile(late, s):.2f}" for s in SHARES)
        lines.append(f"lateness {kind} s: {cells}, max {max(late, default=float('nan')):.2f}")
    lines += [f"{figures.name}: {failure}" for failure in figures.failures]
    return "\n".join(lines)


def main() -> None:
    """Start the stack, measure both sides, print the figures, stop the stack."""
    from bench.stack import run_on_stack  # the stack needs the dev extra

    async def run(stack: BenchStack, client: Client, db: Database) -> str:
        return await _measure(args, client, db, stack.meter.sample)

    args = _arguments()
    print(run_on_stack(args, run, run_name="storm-"), flush=True)


if __name__ == "__main__":
    main()
