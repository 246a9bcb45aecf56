"""Static checks of the Docker Compose deployment.

There is no Docker engine on the development machines or in CI, so `docker compose config`
cannot run. These tests parse docker-compose.yml and the files it mounts instead, and pin
the wiring that code and docs rely on: service names, images, start-up order, the shared
application environment, published ports and the Temporal search attributes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from db.roles import APP_ROLE, OWNER_ROLE
from db.session import make_async_engine
from infra.settings import Settings
from workflows.common import search_attribute_types

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
INIT_NAMESPACE_SCRIPT = ROOT / "deploy/temporal/scripts/init-namespace.sh"
SHELL_SCRIPTS = sorted((ROOT / "deploy").rglob("*.sh"))

APP_SERVICES = ("migrate", "api", "worker")

EXPECTED_IMAGES = {
    "postgresql": "postgres:16",
    "temporal-schema": "temporalio/admin-tools:1.30.1",
    "temporal": "temporalio/server:1.30.1",
    "temporal-init": "temporalio/admin-tools:1.30.1",
    "temporal-ui": "temporalio/ui:2.34.0",
    "api-lb": "nginx:1.28.0-alpine",
}

SERVICES = set(EXPECTED_IMAGES) | set(APP_SERVICES)

AFTER_JOBS = {
    "migrate": "service_completed_successfully",
    "temporal-init": "service_completed_successfully",
}
EXPECTED_DEPENDS_ON = {
    "postgresql": {},
    "temporal-schema": {"postgresql": "service_healthy"},
    "temporal": {"temporal-schema": "service_completed_successfully"},
    "temporal-init": {"temporal": "service_healthy"},
    "temporal-ui": {"temporal": "service_healthy"},
    "migrate": {"postgresql": "service_healthy"},
    "api": AFTER_JOBS,
    "worker": AFTER_JOBS,
    "api-lb": {"api": "service_healthy"},
}

EXPECTED_COMMANDS = {
    "migrate": ["python", "-m", "db.migrate", "--seed"],
    "api": ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"],
    "worker": ["python", "worker.py"],
    "temporal-schema": ["/scripts/setup-postgres.sh"],
    "temporal-init": ["/scripts/init-namespace.sh"],
}

EXPECTED_PORTS = {"temporal": 7233, "temporal-ui": 8080, "api-lb": 8000}
# Run as several replicas: no fixed name, no host port, replicas from the environment with a default of 2 or more.
SCALED_SERVICES = ("api", "worker")
LB_CONFIG = ROOT / "deploy/nginx/api-lb.conf"
SIZING_DOC = ROOT / "docs/sizing.md"
# Worker settings that are not tuning (they time the heartbeat that readiness reads).
NOT_TUNING = {"worker_heartbeat_seconds", "worker_stale_seconds"}

APP_ENV = {
    "KEXIANG_ENV": "production",
    "DATABASE_URL": "postgresql+psycopg://kexiang_app:kexiang_app@postgresql:5432/kexiang",
    "TEMPORAL_ADDRESS": "temporal:7233",
    "TEMPORAL_NAMESPACE": "default",
    "TEMPORAL_TASK_QUEUE": "kexiang",
    "TOKEN_SECRET": "${TOKEN_SECRET:?set TOKEN_SECRET}",
    "PAYLOAD_ENCRYPTION_KEYS": "${PAYLOAD_ENCRYPTION_KEYS:?set key-id:base64key pairs}",
    "DEFAULT_TIMEZONE": "Asia/Shanghai",
    "JOURNAL_KEYS": "${JOURNAL_KEYS:?set key-id:base64key pairs (audit chain HMAC keys)}",
}
OWNER_URL = "postgresql+psycopg://kexiang:kexiang@postgresql:5432/kexiang"

# The one definition of our search attributes; the compose init script must register exactly these.
EXPECTED_SEARCH_ATTRIBUTES = search_attribute_types()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def _environment(service: dict) -> dict[str, str]:
    """A service's environment as a dict, whichever of the two compose syntaxes it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _depends_on(service: dict) -> dict[str, str]:
    """Dependency -> condition; the short list syntax means `service_started`."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _volume_mounts(service: dict) -> list[tuple[str | None, str]]:
    """(source, target) per volume entry; source is None for an anonymous volume."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            mounts.append((entry.get("source"), entry["target"]))
        else:
            parts = entry.split(":")
            mounts.append((None, parts[0]) if len(parts) == 1 else (parts[0], parts[1]))
    return mounts


def _published_ports(service: dict) -> set[tuple[int, int]]:
    """(host port, container port) pairs from short ("[ip:]host:container") or long syntax."""
    pairs = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            pairs.add((int(entry["published"]), int(entry["target"])))
        else:
            *_, host, container = str(entry).split(":")
            pairs.add((int(host), int(container.split("/")[0])))
    return pairs


def _search_attributes_in_script() -> dict[str, str]:
    assignments = re.findall(
        r'^SEARCH_ATTRIBUTES="([^"]*)"', INIT_NAMESPACE_SCRIPT.read_text(encoding="utf-8"), re.MULTILINE
    )
    assert len(assignments) == 1, "init-namespace.sh must define SEARCH_ATTRIBUTES exactly once"
    pairs = [pair.split("=", 1) for pair in assignments[0].split()]
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"duplicate search attributes: {names}"
    return dict(pairs)


def test_service_set(services: dict) -> None:
    assert set(services) == SERVICES


@pytest.mark.parametrize("name", sorted(EXPECTED_IMAGES))
def test_infrastructure_images_are_pinned(services: dict, name: str) -> None:
    image = services[name]["image"]
    assert image == EXPECTED_IMAGES[name]
    assert not image.endswith(":latest") and "auto-setup" not in image


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_the_repo_image(services: dict, name: str) -> None:
    assert services[name].get("build") == "."
    assert "image" not in services[name]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_depends_on_conditions(services: dict, name: str) -> None:
    assert _depends_on(services[name]) == EXPECTED_DEPENDS_ON[name]


@pytest.mark.parametrize(
    ("name", "probe"),
    [
        ("postgresql", "pg_isready"),
        ("temporal", "7233"),
        ("api", "urlopen('http://localhost:8000/healthz'"),
        ("api-lb", "http://127.0.0.1:8000/healthz"),
    ],
)
def test_healthchecks(services: dict, name: str, probe: str) -> None:
    test = services[name]["healthcheck"]["test"]
    command = test if isinstance(test, str) else " ".join(test)
    assert probe in command


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment(services: dict, name: str) -> None:
    env = _environment(services[name])
    assert {key: env.get(key) for key in APP_ENV} == APP_ENV


def test_temporal_init_uses_the_app_namespace(services: dict) -> None:
    env = _environment(services["temporal-init"])
    assert env["TEMPORAL_NAMESPACE"] == APP_ENV["TEMPORAL_NAMESPACE"]
    assert env["TEMPORAL_ADDRESS"] == APP_ENV["TEMPORAL_ADDRESS"]


def test_ui_talks_to_temporal_and_the_codec_endpoint(services: dict) -> None:
    env = _environment(services["temporal-ui"])
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8000/api/codec"


@pytest.mark.parametrize(("name", "port"), sorted(EXPECTED_PORTS.items()))
def test_published_ports(services: dict, name: str, port: int) -> None:
    assert (port, port) in _published_ports(services[name])


@pytest.mark.parametrize(("name", "command"), sorted(EXPECTED_COMMANDS.items()))
def test_commands(services: dict, name: str, command: list[str]) -> None:
    assert services[name]["command"] == command


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_bind_mounts_exist(services: dict, name: str) -> None:
    for source, _ in _volume_mounts(services[name]):
        if source and source.startswith("."):
            assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_only_declared_named_volumes(compose: dict, services: dict) -> None:
    declared = set(compose.get("volumes") or {})
    assert "pgdata" in declared
    for name, service in services.items():
        for source, target in _volume_mounts(service):
            assert source is not None, f"{name} has an anonymous volume at {target}"
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"
    assert ("pgdata", "/var/lib/postgresql/data") in _volume_mounts(services["postgresql"])


def test_dynamic_config_file_is_mounted(services: dict) -> None:
    temporal = services["temporal"]
    # The server resolves the relative path against its working directory, /etc/temporal.
    in_container = Path("/etc/temporal") / _environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"]
    for source, target in _volume_mounts(temporal):
        if in_container.is_relative_to(target):
            host_file = ROOT / source / in_container.relative_to(target)
            assert isinstance(yaml.safe_load(host_file.read_text(encoding="utf-8")), dict)
            return
    pytest.fail(f"{in_container} is not inside any volume mounted into temporal")


def test_app_database_matches_init_sql() -> None:
    sql = (ROOT / "deploy/postgres/init-app-db.sql").read_text(encoding="utf-8")
    assert "CREATE ROLE kexiang LOGIN PASSWORD 'kexiang'" in sql
    assert "CREATE ROLE kexiang_app LOGIN PASSWORD 'kexiang_app'" in sql
    assert "CREATE DATABASE kexiang OWNER kexiang" in sql
    for role in ("kexiang", "kexiang_app"):  # neither may step around the grants
        assert f"ALTER ROLE {role} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;" in sql


def test_only_the_migrate_job_signs_in_as_the_owner(services: dict) -> None:
    """Migrations run as the owner; the api and the worker as the app role, which may only append the journal."""
    owner, app = make_url(OWNER_URL), make_url(APP_ENV["DATABASE_URL"])
    assert (owner.username, app.username) == (OWNER_ROLE, APP_ROLE)
    assert (owner.host, owner.database) == (app.host, app.database) == ("postgresql", "kexiang")
    assert _environment(services["migrate"]).get("MIGRATION_DATABASE_URL") == OWNER_URL
    for name in ("api", "worker"):
        env = _environment(services[name])
        assert "MIGRATION_DATABASE_URL" not in env
        assert make_url(env["DATABASE_URL"]).username == APP_ROLE
    sql = (ROOT / "deploy/postgres/init-app-db.sql").read_text(encoding="utf-8")
    for url in (owner, app):  # the passwords in the URLs are the ones the init script sets
        assert f"CREATE ROLE {url.username} LOGIN PASSWORD '{url.password}'" in sql


def test_search_attributes() -> None:
    assert _search_attributes_in_script() == EXPECTED_SEARCH_ATTRIBUTES


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda path: path.name)
def test_shell_script_syntax(script: Path) -> None:
    sh = shutil.which("sh")
    assert sh, "no sh on PATH"
    result = subprocess.run([sh, "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert script.read_text(encoding="utf-8").startswith("#!/bin/sh\n")


def test_expected_shell_scripts_exist() -> None:
    assert {path.name for path in SHELL_SCRIPTS} >= {"setup-postgres.sh", "init-namespace.sh"}


def test_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert dockerfile.rstrip().endswith('CMD ["python", "worker.py"]')
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", ".data", ".env"} <= ignored


def _default_of(value: object) -> str:
    """What a `${NAME:-default}` value comes to when NAME is unset (other values as they are)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def _pool_connections(pool_size: int) -> int:
    """The most connections one of our engines opens: its pool and its overflow (db/session.py)."""
    pool = make_async_engine("postgresql+psycopg://nobody@nowhere/none", pool_size=pool_size).pool
    return pool.size() + pool._max_overflow  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", SCALED_SERVICES)
def test_scaled_services_have_replicas_and_nothing_fixed(services: dict, name: str) -> None:
    service = services[name]
    assert "container_name" not in service and "hostname" not in service
    assert not service.get("ports"), f"{name} replicas would fight over a host port"
    assert int(_default_of(service["deploy"]["replicas"])) >= 2


def test_no_container_names_and_no_host_port_clashes(services: dict) -> None:
    assert not [name for name, service in services.items() if "container_name" in service]
    host_ports = [host for service in services.values() for host, _ in _published_ports(service)]
    assert len(host_ports) == len(set(host_ports)), host_ports


def test_the_balancer_reaches_every_api_replica(services: dict) -> None:
    """api-lb publishes :8000 and proxies to the `api` service name, which Docker resolves to every replica."""
    conf = LB_CONFIG.read_text(encoding="utf-8")
    assert ("./deploy/nginx/api-lb.conf", "/etc/nginx/conf.d/default.conf") in _volume_mounts(services["api-lb"])
    api_port = int(services["api"]["command"][services["api"]["command"].index("--port") + 1])
    assert [str(api_port)] == [str(port) for port in services["api"]["expose"]]
    assert re.search(rf"^\s*server api:{api_port} resolve\b", conf, re.MULTILINE), "upstream must re-resolve `api`"
    assert re.search(r"^\s*zone \w+ \d+k;", conf, re.MULTILINE), "`resolve` needs a shared-memory zone"
    assert "resolver 127.0.0.11" in conf  # Docker's embedded DNS
    (listen,) = re.findall(r"^\s*listen (\d+);", conf, re.MULTILINE)
    assert (8000, int(listen)) in _published_ports(services["api-lb"])
    # The client's address reaches the sign-in throttle: set (not appended) by nginx, trusted by the api.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert _environment(services["api"])["FORWARDED_ALLOW_IPS"] == "*"
    # The API's own body limits answer (413), not nginx's.
    (body_limit,) = re.findall(r"client_max_body_size (\d+)m;", conf)
    assert int(body_limit) * 1024 * 1024 > Settings().max_upload_bytes
    assert "non_idempotent" not in conf  # a POST (an act, an intake) is never sent twice by the balancer


def test_history_shards_are_chosen_and_documented(services: dict) -> None:
    """The shard count is fixed when the cluster is created: it is set, a power of two, and docs/sizing.md says why."""
    shards = int(_environment(services["temporal"])["NUM_HISTORY_SHARDS"])
    assert shards >= 128 and shards & (shards - 1) == 0
    assert f"{shards} history shards" in SIZING_DOC.read_text(encoding="utf-8")


def test_postgres_has_connections_for_the_default_replicas(services: dict) -> None:
    """max_connections covers Temporal's pools, every api and worker replica at their most, and some to spare."""
    command = [_default_of(part) for part in services["postgresql"]["command"]]
    settings = {key: value for key, _, value in (part.partition("=") for part in command[2::2])}
    assert command[0] == "postgres" and set(command[1::2]) == {"-c"}
    temporal = _environment(services["temporal"])
    temporal_connections = int(_default_of(temporal["SQL_MAX_CONNS"])) + int(_default_of(temporal["SQL_VIS_MAX_CONNS"]))
    per_api = _pool_connections(10) + 1  # the request pool and the gateway's readiness connection
    per_worker = _pool_connections(Settings().worker_database_pool_size) + 2  # pool, heartbeat, outbox LISTEN
    replicas = {name: int(_default_of(services[name]["deploy"]["replicas"])) for name in SCALED_SERVICES}
    needed = temporal_connections + replicas["api"] * per_api + replicas["worker"] * per_worker + 10
    assert int(settings["max_connections"]) >= needed


def test_every_worker_tuning_setting_reaches_the_worker(services: dict) -> None:
    tuning = {name.upper() for name in Settings.model_fields if name.startswith("worker_")} - {
        name.upper() for name in NOT_TUNING
    }
    env = _environment(services["worker"])
    assert tuning <= set(env)
    for name in tuning:  # unset on the host: empty, which Settings reads as "use the default"
        assert env[name] == f"${{{name}:-}}"
    assert Settings.model_config.get("env_ignore_empty") is True


def test_sizing_doc_is_linked_from_the_readme() -> None:
    assert "docs/sizing.md" in (ROOT / "README.md").read_text(encoding="utf-8")
