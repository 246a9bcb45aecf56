"""Closed-loop load, waiting for a population to settle, and percentiles."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class BenchError(RuntimeError):
    """An operation of the benchmark failed: its figures would mean nothing."""


@dataclass
class Run:
    """One closed-loop run: how long it took and each operation's latency in seconds."""

    elapsed: float
    latencies: list[float] = field(default_factory=list)  # of the operations that succeeded
    failures: list[str] = field(default_factory=list)  # why the others failed (e.g. the API's 503)

    @property
    def rate(self) -> float:
        """Completed operations per second."""
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


async def closed_loop(items: Sequence[T], concurrency: int, operation: Callable[[T], Awaitable[None]]) -> Run:
    """Run `operation` on every item with `concurrency` callers, each starting its next item when the last returns.

    An operation raising BenchError counts as failed (its message kept); anything else aborts the run.
    """
    pending = iter(items)
    latencies: list[float] = []
    failures: list[str] = []

    async def caller() -> None:
        for item in pending:  # one shared iterator: every item is taken exactly once
            began = time.perf_counter()
            try:
                await operation(item)
            except BenchError as failed:
                failures.append(str(failed))
            else:
                latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(min(concurrency, len(items))):
            group.create_task(caller())
    return Run(elapsed=time.perf_counter() - began, latencies=latencies, failures=failures)


async def settle(count: Callable[[], Awaitable[int]], expected: int, *, timeout: float, what: str) -> float:
    """Poll `count` until it reaches `expected`; the monotonic time (perf_counter) at which it did."""
    deadline = time.perf_counter() + timeout
    while (seen := await count()) < expected:
        if time.perf_counter() > deadline:
            raise BenchError(f"{what}: only {seen} of {expected} within {timeout:.0f} s")
        await asyncio.sleep(0.1)
    return time.perf_counter()


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share 0.5 → p50) of a sample; NaN when it is empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]
