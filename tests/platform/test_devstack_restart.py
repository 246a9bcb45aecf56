"""`make run`'s stack survives a restart: a workflow started before Ctrl-C keeps running and its timer fires after."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from db.seed import DEMO_PASSWORD
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.devstack


class DevStack:
    """`python -m infra.devstack` as a child process on private ports and a private data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.api_port = free_port()
        self.inbound_port = free_port()  # the center's inbound mail (infra/mail_inbound.py)
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")},
            "DATA_DIR": str(data_dir),
            "KEXIANG_ENV": "dev",
            "KX_API_PORT": str(self.api_port),
            "KX_TEMPORAL_PORT": str(free_port()),
            "KX_TEMPORAL_UI_PORT": str(free_port()),
            "KX_INBOUND_SMTP_PORT": str(self.inbound_port),
        }
        self.log = data_dir / "devstack-output.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        """Start and wait until /readyz is green."""
        data = Path(self.env["DATA_DIR"])
        data.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.devstack"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError("dev stack did not become ready:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        """Ctrl-C, as a person would, and wait for every child to be gone."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)


def _wait_for(probe, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_open_workflow_and_its_timer_survive_a_restart(tmp_path):
    stack = DevStack(tmp_path / "data")
    try:
        stack.start()
        client = httpx.Client(base_url=stack.url, timeout=30)

        def headers(user: str) -> dict[str, str]:
            token = client.post("/api/auth/token", data={"username": user, "password": DEMO_PASSWORD}).json()[
                "access_token"
            ]
            return {"Authorization": f"Bearer {token}"}

        # 0.02 h = 72 s: reminders at 36 s and 54 s, escalation at 72 s, all durable timers.
        created = client.post(
            "/api/approvals",
            json={"subject": "Survives restarts", "reason": "test", "budget": {"amount": 0.02, "unit": "hours"}},
            headers=headers("agent1"),
        )
        assert created.status_code == 201, created.text
        workflow_id = created.json()["workflow_id"]
        task = _wait_for(
            lambda: (
                client.get(f"/api/approvals/{workflow_id}", headers=headers("agent1")).json().get("tasks") or [None]
            )[0],
            timeout=30,
            what="task recorded",
        )
        stack.stop()
        assert stack.process.returncode == 0, stack.log.read_text()[-3000:]

        stack.start()
        client = httpx.Client(base_url=stack.url, timeout=30)
        supervisor = headers("supervisor1")

        def escalated():
            items = client.get("/api/notifications", params={"workflow_id": workflow_id}, headers=supervisor).json()[
                "items"
            ]
            return [n for n in items if n["kind"] == "escalate"]

        assert _wait_for(escalated, timeout=120, what="escalation after the restart")
        view = client.get(f"/api/approvals/{workflow_id}", headers=supervisor).json()["tasks"][0]
        assert view["status"] == "open" and view["escalation_level"] == 1 and view["overdue"]
        decided = client.post(f"/api/tasks/{task['task_id']}/decision", json={"outcome": "approve"}, headers=supervisor)
        assert decided.status_code == 200 and decided.json()["status"] == "done"
    finally:
        stack.stop()


def test_a_crashed_worker_is_restarted_not_the_stack_torn_down(tmp_path):
    """SIGKILL the worker `make run` started: the supervisor says so, restarts it after its backoff, and the
    stack becomes ready again without a restart of its own."""
    stack = DevStack(tmp_path / "data")
    try:
        stack.start()
        started = _wait_for(
            lambda: re.search(r"devstack: started worker \(pid (\d+)\)", stack.log.read_text()),
            timeout=10,
            what="the worker's pid in the devstack output",
        )
        os.kill(int(started.group(1)), signal.SIGKILL)
        _wait_for(
            lambda: "devstack: worker exited with -9; restarting in 1 s" in stack.log.read_text(),
            timeout=30,
            what="the supervisor noticing the crash",
        )
        restarted = _wait_for(
            lambda: re.search(r"devstack: restarted worker \(pid (\d+)\)", stack.log.read_text()),
            timeout=30,
            what="the worker restarted",
        )
        assert restarted.group(1) != started.group(1)
        assert _wait_for(
            lambda: httpx.get(f"{stack.url}/readyz", timeout=5).status_code == 200, timeout=90, what="ready again"
        )
        assert stack.process.poll() is None, stack.log.read_text()[-3000:]
        stack.stop()
        assert stack.process.returncode == 0, stack.log.read_text()[-3000:]
    finally:
        stack.stop()
