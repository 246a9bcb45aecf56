"""Sign-in throttling rules: how many failures are free, how the backoff grows, when an account locks.

Pure and clock-free: callers pass `now`. Two counters apply to every attempt, one per attempted
username and one per client address; each is a `ThrottleState` held in PostgreSQL so every API
replica sees the same counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ThrottleKind(StrEnum):
    """What a counter is keyed on."""

    USER = "user"
    ADDRESS = "address"


@dataclass(frozen=True)
class ThrottlePolicy:
    """The numbers of one kind of counter."""

    free_failures: int  # failures allowed before any wait
    base_delay: timedelta  # the first wait; each further failure doubles it
    max_delay: timedelta
    reset_after: timedelta  # a counter whose last failure is older starts again from zero
    lockout_after: int | None = None  # consecutive failures that lock the account (user counters only)
    lockout: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class ThrottleState:
    """One counter as stored."""

    failures: int = 0
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None
    locked: bool = False  # blocked_until is a lockout, which an administrator may lift


def retry_after_seconds(state: ThrottleState, now: datetime) -> int | None:
    """Whole seconds until the next attempt is allowed (for Retry-After), None when it is allowed now."""
    if state.blocked_until is None or state.blocked_until <= now:
        return None
    return max(1, math.ceil((state.blocked_until - now).total_seconds()))


def current(state: ThrottleState, policy: ThrottlePolicy, now: datetime) -> ThrottleState:
    """The counter as it stands at `now`: forgotten once quiet for `reset_after` and no longer blocked."""
    quiet = state.last_failure_at is None or now - state.last_failure_at >= policy.reset_after
    if quiet and retry_after_seconds(state, now) is None:
        return ThrottleState()
    return state


def after_failure(state: ThrottleState, policy: ThrottlePolicy, now: datetime) -> ThrottleState:
    """Count one more failed attempt: past the free ones, wait base·2^k (capped); lock at `lockout_after`.

    Attempts refused while blocked are not counted, so a result with `locked` is always a new lockout.
    """
    failures = current(state, policy, now).failures + 1
    if policy.lockout_after is not None and failures >= policy.lockout_after:
        return ThrottleState(failures, now, now + policy.lockout, locked=True)
    blocked_until = None
    if failures > policy.free_failures:
        exponent = min(failures - policy.free_failures - 1, 30)
        blocked_until = now + min(policy.base_delay * 2**exponent, policy.max_delay)
    return ThrottleState(failures, now, blocked_until)
