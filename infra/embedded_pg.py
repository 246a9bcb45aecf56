"""An embedded PostgreSQL (pgserver) for dev and tests when DATABASE_URL is not set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import psycopg

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer


def start_embedded_postgres(data_dir: Path, *, keep_running: bool = False) -> PostgresServer:
    """Start (or reuse) a PostgreSQL server whose files live in data_dir; returns the pgserver handle."""
    from pgserver.postgres_server import get_server  # imported lazily: only dev and tests need it

    data_dir.mkdir(parents=True, exist_ok=True)
    return get_server(data_dir, cleanup_mode=None if keep_running else "stop")


def sqlalchemy_url(libpq_uri: str, database: str | None = None) -> str:
    """Turn pgserver's libpq URI into a SQLAlchemy psycopg URL, optionally for another database."""
    parsed = urlparse(libpq_uri)
    socket_dir = parse_qs(parsed.query).get("host", [""])[0]
    user = parsed.username or "postgres"
    dbname = database or parsed.path.lstrip("/") or "postgres"
    return f"postgresql+psycopg://{user}@/{dbname}?host={socket_dir}"


def ensure_database(libpq_uri: str, database: str) -> None:
    """Create the database on the server if it does not exist."""
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def drop_database(libpq_uri: str, database: str) -> None:
    """Drop a database, disconnecting anyone still on it."""
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
