"""`make run`: the whole system on embedded defaults, in one terminal; Ctrl-C stops everything it started.

Starts the Temporal dev server (file-backed under .data/, search attributes registered, web UI on),
an embedded PostgreSQL unless DATABASE_URL is set (with its owner and app roles: migrations and seed data
as the owner, the worker and the API as the app role), the worker and the API.
Data survives restarts: open workflows and their timers carry on after the next start.
A child that crashes (the dev server, the worker, the API) is restarted with a growing backoff, and the
console says so.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.client import Client

from db.migrate import migrate_and_seed
from db.roles import APP_ROLE, OWNER_ROLE, provision, role_url
from db.seed import DEMO_PASSWORD, DEMO_USERS
from infra.embedded_pg import sqlalchemy_url, start_embedded_postgres
from infra.settings import get_settings
from workflows.common import search_attribute_types

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def temporal_command(data_dir: Path, port: int, ui_port: int, *, codec_endpoint: str | None = None) -> list[str]:
    """The dev-server command line: SQLite file with WAL, our search attributes, the web UI (decoding via our API)."""
    command = [
        str(BIN / "temporal"),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "warn",
    ]
    if codec_endpoint:
        command += ["--ui-codec-endpoint", codec_endpoint]
    for name, kind in search_attribute_types().items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll `check` until it is true or fail with a clear message."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"devstack: {what} did not come up within {timeout:.0f} s")
        time.sleep(0.3)


def temporal_healthy(address: str) -> bool:
    """True when the Temporal frontend answers."""

    async def probe() -> bool:
        try:
            client = await Client.connect(address)
            return await client.service_client.check_health()
        except Exception:
            return False

    return asyncio.run(probe())


def http_ok(url: str) -> bool:
    """True when the URL answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status  # urlopen's stubs return Any
            return status == 200
    except Exception:
        return False


# A crashed child is restarted after 1 s, then 2, 4, … up to 30 s; a child that stayed up a minute starts over at 1 s.
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
RESTART_RESET_AFTER = 60.0


@dataclass
class Child:
    """One supervised process: how to start it again, and its restart bookkeeping."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0
    restart_at: float | None = None  # set while it waits out its backoff


class Stack:
    """The processes this command started, restarted when they crash, stopped in reverse order."""

    def __init__(self, *, say: Callable[..., None] = print) -> None:
        self.children: list[Child] = []
        self.postgres: PostgresServer | None = None
        self.say = say

    def _start(self, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def spawn(self, name: str, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        """Start a child in its own process group, logging to a file under .data/logs."""
        process = self._start(command, env, log)
        self.children.append(Child(name, command, env, log, process, started_at=time.monotonic()))
        self.say(f"devstack: started {name} (pid {process.pid})", flush=True)
        return process

    def supervise(self, now: float | None = None) -> None:
        """Restart every child that exited, each after its own backoff, and say so."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    if now - child.started_at >= RESTART_RESET_AFTER:
                        child.restarts = 0
                    continue
                delay = min(RESTART_FIRST_DELAY * 2**child.restarts, RESTART_MAX_DELAY)
                child.restart_at = now + delay
                self.say(
                    f"devstack: {child.name} exited with {code}; restarting in {delay:.0f} s "
                    f"(restart {child.restarts + 1}; see {child.log})",
                    flush=True,
                )
            elif now >= child.restart_at:
                child.process = self._start(child.command, child.env, child.log)
                child.started_at, child.restart_at = now, None
                child.restarts += 1
                self.say(f"devstack: restarted {child.name} (pid {child.process.pid})", flush=True)

    def stop(self) -> None:
        """SIGTERM every child (newest first), then SIGKILL stragglers, then stop PostgreSQL."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abandon the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(self.children):
            if child.process.poll() is None:
                os.killpg(child.process.pid, signal.SIGTERM)
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
        if self.postgres is not None:
            self.postgres.cleanup()


def _interrupt(*_: object) -> None:
    """SIGTERM stops the stack the same way Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> None:
    """Bring the stack up, print where everything is, and wait for Ctrl-C."""
    settings = get_settings()
    data_dir = (ROOT / settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    temporal_port = int(os.environ.get("KX_TEMPORAL_PORT", "7233"))
    ui_port = int(os.environ.get("KX_TEMPORAL_UI_PORT", "8233"))
    api_port = int(os.environ.get("KX_API_PORT", "8000"))
    address = f"127.0.0.1:{temporal_port}"
    stack = Stack()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        env = dict(os.environ, TEMPORAL_ADDRESS=address, PYTHONUNBUFFERED="1")
        env.setdefault("TEMPORAL_UI_URL", f"http://127.0.0.1:{ui_port}")  # the auditor's desk links runs there
        # The UI's browser calls the API's codec endpoint from the UI's origin.
        env.setdefault("CODEC_CORS_ORIGINS", f"http://127.0.0.1:{ui_port},http://localhost:{ui_port}")
        # The worker reports completed circuits to the group dispatch simulator the API mounts.
        env.setdefault("GROUP_DISPATCH_URL", f"http://127.0.0.1:{api_port}/sim/group-dispatch")
        # Mail to customers goes to a real local SMTP server that keeps it (listed at /sim/mail/messages); text
        # messages to the SMS gateway simulator the API mounts (/sim/sms/messages).
        smtp_port = int(os.environ.get("KX_SMTP_PORT", "2525"))
        env.setdefault("SMTP_HOST", "127.0.0.1")
        env.setdefault("SMTP_PORT", str(smtp_port))
        env.setdefault("MAIL_SINK_DIR", str(data_dir / "mail"))
        env.setdefault("SMS_GATEWAY_URL", f"http://127.0.0.1:{api_port}/sim/sms/messages")
        migration_url = settings.owner_database_url  # DATABASE_URL's owner side, when the user brings a database
        if not migration_url:
            postgres = stack.postgres = start_embedded_postgres(data_dir / "pg")
            # Migrations run as the owner role; the worker and API connect as the app role (db/roles.py).
            provision(postgres.get_uri(), "kexiang")
            superuser = sqlalchemy_url(postgres.get_uri(), "kexiang")
            migration_url = env["MIGRATION_DATABASE_URL"] = role_url(superuser, OWNER_ROLE, None)
            env["DATABASE_URL"] = role_url(superuser, APP_ROLE, None)
        codec = f"http://127.0.0.1:{api_port}/api/codec"
        stack.spawn(
            "temporal",
            temporal_command(data_dir, temporal_port, ui_port, codec_endpoint=codec),
            env,
            data_dir / "logs" / "temporal.log",
        )
        for line in migrate_and_seed(
            migration_url,
            calendar_name=settings.default_calendar,
            policy_name=settings.default_sla_policy,
            demo_users=settings.kexiang_env != "production",
        ):
            print(f"devstack: seeded {line}")
        wait_until(lambda: temporal_healthy(address), timeout=60, what="Temporal dev server")
        stack.spawn(
            "mail",
            [sys.executable, "-m", "infra.mail_sink", "--port", str(smtp_port), "--dir", env["MAIL_SINK_DIR"]],
            env,
            data_dir / "logs" / "mail.log",
        )
        stack.spawn("worker", [sys.executable, "worker.py"], env, data_dir / "logs" / "worker.log")
        # The center's own mailbox: every e-mail sent here becomes a customer message thread.
        inbound_port = int(os.environ.get("KX_INBOUND_SMTP_PORT", "2526"))
        stack.spawn(
            "inbound-mail",
            [sys.executable, "-m", "infra.mail_inbound", "--port", str(inbound_port)],
            env,
            data_dir / "logs" / "inbound-mail.log",
        )
        stack.spawn(
            "api",
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(api_port)],
            env,
            data_dir / "logs" / "api.log",
        )
        wait_until(lambda: http_ok(f"http://127.0.0.1:{api_port}/readyz"), timeout=90, what="API readiness (/readyz)")
        print(
            BANNER.format(
                api=api_port,
                ui=ui_port,
                temporal=address,
                logs=data_dir / "logs",
                password=DEMO_PASSWORD,
                users=", ".join(u[0] for u in DEMO_USERS),
                inbound=inbound_port,
            ),
            flush=True,
        )
        while True:
            stack.supervise()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\ndevstack: stopping…", flush=True)
    finally:
        stack.stop()
        print("devstack: stopped; data kept under", data_dir, flush=True)


BANNER = """
kexiang is running
  console      http://127.0.0.1:{api}/console   (sign in as below; 简体中文, English selectable)
  API docs     http://127.0.0.1:{api}/docs
  readiness    http://127.0.0.1:{api}/readyz
  Temporal UI  http://127.0.0.1:{ui}   (frontend {temporal})
  mail, SMS    http://127.0.0.1:{api}/sim/mail/messages, http://127.0.0.1:{api}/sim/sms/messages
  inbound mail smtp://127.0.0.1:{inbound}   (e-mail sent here becomes a customer message thread)
  logs         {logs}
  demo logins  {users}
               password: {password}   e.g. POST /api/auth/token username=supervisor1
Ctrl-C stops everything; data is kept for the next start.
"""

if __name__ == "__main__":
    main()
