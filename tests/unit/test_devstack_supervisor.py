"""`make run` restarts a crashed child with a growing backoff and says so (clock injected: no waiting)."""

from __future__ import annotations

import signal
import sys

import pytest

from infra.devstack import RESTART_MAX_DELAY, RESTART_RESET_AFTER, Stack


@pytest.fixture(autouse=True)
def _keep_signal_handlers():
    """Stack.stop() ignores SIGINT/SIGTERM for its own cleanup; give pytest its handlers back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_crashed_child_is_restarted_with_backoff_and_logged(tmp_path):
    said: list[str] = []
    stack = Stack(say=lambda line, **_: said.append(line))
    crash = [sys.executable, "-c", "import sys; sys.exit(3)"]
    stack.spawn("flaky", crash, {}, tmp_path / "flaky.log")
    child = stack.children[0]
    try:
        now = 0.0
        delays = []
        for _ in range(7):
            child.process.wait(timeout=30)
            stack.supervise(now)  # notices the exit, schedules the restart
            assert child.restart_at is not None
            delays.append(child.restart_at - now)
            stack.supervise(child.restart_at - 0.01)  # not yet
            assert child.restart_at is not None
            now = child.restart_at
            stack.supervise(now)  # restarts it
            assert child.restart_at is None
        assert delays == [1, 2, 4, 8, 16, RESTART_MAX_DELAY, RESTART_MAX_DELAY]
        assert said[0].startswith("devstack: started flaky (pid ")
        assert said[1] == f"devstack: flaky exited with 3; restarting in 1 s (restart 1; see {tmp_path / 'flaky.log'})"
        assert said[2].startswith("devstack: restarted flaky (pid ")
        assert sum("exited with 3" in line for line in said) == 7
    finally:
        stack.stop()


def test_a_child_that_stayed_up_starts_its_backoff_afresh(tmp_path):
    stack = Stack(say=lambda *_, **__: None)
    stack.spawn("steady", [sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path / "steady.log")
    child = stack.children[0]
    try:
        child.restarts = 4
        stack.supervise(child.started_at + RESTART_RESET_AFTER)
        assert child.restarts == 0 and child.restart_at is None and child.process.poll() is None
    finally:
        stack.stop()
