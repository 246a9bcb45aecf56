"""The pure sign-in throttling rules: free failures, doubling waits with a cap, lockout, forgetting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.login_throttle import ThrottlePolicy, ThrottleState, after_failure, current, retry_after_seconds

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(
    free_failures=2,
    base_delay=timedelta(seconds=10),
    max_delay=timedelta(seconds=35),
    reset_after=timedelta(minutes=15),
    lockout_after=6,
    lockout=timedelta(minutes=30),
)


def _fail(times: int, policy: ThrottlePolicy = POLICY) -> list[ThrottleState]:
    states, state = [], ThrottleState()
    for _ in range(times):
        state = after_failure(state, policy, T0)
        states.append(state)
    return states


def test_free_failures_then_doubling_waits_capped_then_lockout():
    waits = [retry_after_seconds(s, T0) for s in _fail(6)]
    assert waits == [None, None, 10, 20, 35, 30 * 60]
    assert [s.locked for s in _fail(6)] == [False] * 5 + [True]


def test_address_policy_never_locks():
    address = ThrottlePolicy(
        free_failures=1, base_delay=timedelta(seconds=1), max_delay=timedelta(hours=1), reset_after=timedelta(hours=1)
    )
    state = _fail(100, address)[-1]
    assert not state.locked and retry_after_seconds(state, T0) == 3600


def test_retry_after_counts_down_and_rounds_up():
    state = _fail(3)[-1]  # blocked for 10 s from T0
    assert retry_after_seconds(state, T0 + timedelta(seconds=9.2)) == 1
    assert retry_after_seconds(state, T0 + timedelta(seconds=10)) is None


def test_a_quiet_counter_is_forgotten_but_not_while_blocked():
    state = _fail(2)[-1]
    assert current(state, POLICY, T0 + timedelta(minutes=14)) == state
    assert current(state, POLICY, T0 + timedelta(minutes=15)) == ThrottleState()
    locked = _fail(6)[-1]
    assert current(locked, POLICY, T0 + timedelta(minutes=20)) == locked  # the 30-minute lockout outlasts the window
    assert after_failure(state, POLICY, T0 + timedelta(hours=1)).failures == 1
