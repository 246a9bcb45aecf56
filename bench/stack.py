"""The bench's own stack on embedded parts, started the way `make run` starts it (infra/devstack.py).

Temporal dev server (SQLite file with WAL, our search attributes), an embedded PostgreSQL, migrations and
seed, the product worker (`worker.py`) and the API under uvicorn: each in its own process, on free ports,
with every file under the run's folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client

from db.migrate import migrate_and_seed
from db.session import Database
from infra.devstack import ROOT, Stack, http_ok, temporal_command, temporal_healthy, wait_until
from infra.embedded_pg import ensure_database, sqlalchemy_url, start_embedded_postgres
from infra.settings import Settings
from infra.temporal import connect

RPC_TIMEOUT_SECONDS = 60


def _free_ports(count: int) -> list[int]:
    """Ports nobody listens on right now (held open together so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class BenchStack:
    """Where the running stack answers."""

    api_url: str
    temporal_address: str
    database_url: str
    meter: CpuMeter
    memory: MemoryMeter
    stack: Stack

    def restart_worker(self) -> None:
        """Stop the product worker cleanly and start it again (its workflow cache starts empty); back when /readyz
        sees its heartbeat."""
        child = next(child for child in self.stack.children if child.name == "worker")
        os.killpg(child.process.pid, signal.SIGTERM)
        child.process.wait(timeout=60)
        child.process = subprocess.Popen(
            child.command,
            cwd=ROOT,
            env=child.env,
            stdout=child.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: http_ok(f"{self.api_url}/readyz"), timeout=90, what="the restarted worker (/readyz)")

    async def client(self) -> Client:
        """A Temporal client with the product's data converter (payloads encrypted like the API's)."""
        return await connect(Settings(temporal_address=self.temporal_address, database_url=self.database_url))


@contextmanager
def bench_stack(
    run_dir: Path,
    *,
    dynamic_config: Sequence[str] = (),
    sqlite_pragmas: Sequence[str] = (),
    worker_env: Mapping[str, str] | None = None,
) -> Iterator[BenchStack]:
    """Start everything under run_dir, yield where it answers, stop everything.

    `worker_env` is added to the product worker's environment alone (worker tuning, infra/settings.py WORKER_*).
    """
    settings = Settings()
    run_dir.mkdir(parents=True, exist_ok=True)
    logs = run_dir / "logs"
    stack = Stack()
    try:
        postgres = stack.postgres = start_embedded_postgres(run_dir / "pg")
        ensure_database(postgres.get_uri(), "kexiang")
        database_url = sqlalchemy_url(postgres.get_uri(), "kexiang")
        temporal_port, ui_port, api_port = _free_ports(3)
        address = f"127.0.0.1:{temporal_port}"
        # A slow decision is measured rather than cut off by the API's 503 after 5 s (make run's default).
        env = dict(
            os.environ,
            TEMPORAL_ADDRESS=address,
            DATABASE_URL=database_url,
            PYTHONUNBUFFERED="1",
            TEMPORAL_RPC_TIMEOUT_SECONDS=str(RPC_TIMEOUT_SECONDS),
        )
        command = temporal_command(run_dir, temporal_port, ui_port)
        for value in dynamic_config:
            command += ["--dynamic-config-value", value]
        for value in sqlite_pragmas:
            command += ["--sqlite-pragma", value]
        stack.spawn("temporal", command, env, logs / "temporal.log")
        migrate_and_seed(
            database_url,
            calendar_name=settings.default_calendar,
            policy_name=settings.default_sla_policy,
            demo_users=True,
        )
        wait_until(lambda: temporal_healthy(address), timeout=60, what="Temporal dev server")
        stack.spawn("worker", [sys.executable, "worker.py"], {**env, **(worker_env or {})}, logs / "worker.log")
        stack.spawn(
            "api",
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(api_port)],
            env,
            logs / "api.log",
        )
        api_url = f"http://127.0.0.1:{api_port}"
        # 3 min: on a shared 2-core box at load 15+ the API takes more than 90 s to import and connect
        wait_until(lambda: http_ok(f"{api_url}/readyz"), timeout=180, what="API readiness (/readyz)")
        yield BenchStack(
            api_url=api_url,
            temporal_address=address,
            database_url=database_url,
            meter=CpuMeter(stack, run_dir / "pg"),
            memory=MemoryMeter(stack, run_dir / "pg", temporal_db=run_dir / "temporal.db"),
            stack=stack,
        )
    finally:
        stack.stop()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used (Linux /proc); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """Direct children of a process (PostgreSQL's backends under its postmaster)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU seconds used by each part of the stack, to say where a phase's work went."""

    def __init__(self, stack: Stack, postgres_dir: Path) -> None:
        self._stack = stack
        self._postmaster = int((postgres_dir / "postmaster.pid").read_text().split()[0])

    def sample(self) -> dict[str, float]:
        """Cumulative CPU seconds per part (postgres: the postmaster and its live backends)."""
        usage = {child.name: _cpu_seconds(child.process.pid) for child in self._stack.children}  # a restart: new pid
        usage["bench"] = _cpu_seconds(os.getpid())  # load generator, and the baseline's worker
        usage["postgres"] = sum(_cpu_seconds(pid) for pid in [self._postmaster, *_children(self._postmaster)])
        return usage


def _status_kib(pid: int, path: str, key: str) -> int:
    """One "Key:   N kB" figure of a /proc file of a live process; 0 when it is gone or unreadable."""
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _parents() -> dict[int, int]:
    """Every live process's parent, from one pass over /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return found


def _tree(pid: int, parents: dict[int, int]) -> list[int]:
    """A process and all its descendants."""
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


@dataclass
class Memory:
    """Resident memory of one part of the stack in KiB: RSS summed over its processes, and PSS (shared pages split
    between the processes that map them, so PostgreSQL's shared buffers count once, not once per backend)."""

    rss: int
    pss: int


class MemoryMeter:
    """Resident memory of each part of the stack, and what the two databases hold on disk."""

    def __init__(self, stack: Stack, postgres_dir: Path, *, temporal_db: Path) -> None:
        self._stack = stack
        self._postmaster = int((postgres_dir / "postmaster.pid").read_text().split()[0])
        self._temporal_db = temporal_db

    def sample(self) -> dict[str, Memory]:
        """Memory per part now (each part's whole process tree; postgres: the postmaster and its backends)."""
        parents = _parents()
        trees = {child.name: _tree(child.process.pid, parents) for child in self._stack.children}
        trees["bench"] = [os.getpid()]  # the baseline's worker and cache; alone: the stack's processes are its children
        trees["postgres"] = _tree(self._postmaster, parents)
        return {
            name: Memory(
                rss=sum(_status_kib(pid, "status", "VmRSS") for pid in pids),
                pss=sum(_status_kib(pid, "smaps_rollup", "Pss") for pid in pids),
            )
            for name, pids in trees.items()
        }

    def temporal_disk(self) -> int:
        """Bytes of the dev server's SQLite file with its WAL (PostgreSQL's are asked with pg_database_size)."""
        return sum(p.stat().st_size for p in self._temporal_db.parent.glob(self._temporal_db.name + "*"))


T = TypeVar("T")


def add_stack_arguments(parser: argparse.ArgumentParser, *, tuning: bool = False) -> None:
    """The flags of every bench that starts its own stack: where runs live, keeping them, and (tuning) engine and
    worker settings for experiments."""
    parser.add_argument("--data-dir", type=Path, default=Path(".data/bench"), help="each run gets a fresh folder here")
    parser.add_argument("--keep-data", action="store_true", help="keep the run's folder (databases, logs)")
    if not tuning:
        return
    parser.add_argument(
        "--dynamic-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Temporal dev-server dynamic config, for experiments (make run sets none)",
    )
    parser.add_argument(
        "--sqlite-pragma",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra dev-server SQLite pragma, for experiments (make run sets journal_mode=wal)",
    )
    parser.add_argument(
        "--worker-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="worker tuning for the product worker, e.g. WORKER_MAX_CACHED_WORKFLOWS=100 (infra/settings.py)",
    )


def worker_env(pairs: Sequence[str]) -> dict[str, str]:
    """NAME=VALUE pairs as environment variables (names upper-cased, as Settings reads them)."""
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--worker-setting wants NAME=VALUE, not {pair!r}")
        env[name.strip().upper()] = value.strip()
    return env


def _abort(stack: BenchStack, run_dir: Path | None) -> None:
    stack.stack.stop()
    if run_dir is not None:
        shutil.rmtree(run_dir, ignore_errors=True)
    print("bench: stopped by SIGTERM", flush=True)
    os._exit(143)


def run_on_stack(
    args: argparse.Namespace,
    measure: Callable[[BenchStack, Client, Database], Awaitable[T]],
    *,
    run_name: str = "",
) -> T:
    """Start the stack in a fresh run folder under `--data-dir`, run `measure` with a Temporal client and the
    database, stop everything (a `kill`'s SIGTERM too) and remove the folder unless `--keep-data`."""
    # A background job ignores SIGINT; without this a `timeout` or kill would leave server, worker, API and PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_dir = (args.data_dir / datetime.now(UTC).strftime(f"{run_name}%Y%m%dT%H%M%S")).resolve()
    tuning = worker_env(getattr(args, "worker_setting", ()))
    try:
        with bench_stack(
            run_dir,
            dynamic_config=getattr(args, "dynamic_config", ()),
            sqlite_pragmas=getattr(args, "sqlite_pragma", ()),
            worker_env=tuning,
        ) as stack:
            # Once the stack is up, a SIGTERM stops it from the handler: unwinding asyncio.run waits for every
            # task to take its cancellation, and a Temporal worker polling a busy server can hold that for minutes.
            signal.signal(signal.SIGTERM, lambda *_: _abort(stack, None if args.keep_data else run_dir))
            load = os.getloadavg()[0]
            print(f"bench: stack up (logs in {run_dir / 'logs'}), worker {tuning or 'defaults'}, load {load:.1f}")

            async def go() -> T:
                client = await stack.client()
                db = Database(stack.database_url)
                try:
                    return await measure(stack, client, db)
                finally:
                    await db.dispose()

            return asyncio.run(go())
    finally:
        if not args.keep_data:
            shutil.rmtree(run_dir, ignore_errors=True)
