"""Database engines: async for the API and activities, sync for migrations and seeding."""

from __future__ import annotations

import select
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db.audit import session_info

# What a request meets when PostgreSQL is down, restarting or out of connections: answered 503 + Retry-After.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection came free in time
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
DATABASE_RETRY_AFTER = "5"


def _gone(driver_connection: psycopg.AsyncConnection[Any]) -> bool:
    """True when a pooled, idle connection is dead or has been told something: the server closed it (restart,
    pg_terminate_backend, idle timeout) or sent a message. An idle connection is owed nothing, so a readable socket
    means one of those; asked without a round trip."""
    pgconn = driver_connection.pgconn
    if driver_connection.closed or pgconn.status != pq.ConnStatus.OK:
        return True
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.OperationalError):
        return True
    return bool(readable)


def _check_on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    # Instead of pool_pre_ping (a SELECT round trip on every checkout): what the pre-ping does on a failed ping,
    # the pool then connects afresh (and drops the connections older than this one, like the pre-ping).
    if _gone(record.driver_connection):
        raise sa_exc.InvalidatePoolError("the pooled connection was closed by the server")


def make_async_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine on psycopg 3 with liveness checks on pooled connections; errors never show parameters."""
    # hide_parameters: a failed statement's message would otherwise carry its values (names, phone numbers).
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=10, hide_parameters=True)
    event.listen(engine.sync_engine, "checkout", _check_on_checkout)
    return engine


def make_sync_engine(url: str) -> Engine:
    """A sync engine for Alembic and seeding."""
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


class Database:
    """An async engine plus the session factory built on it (carrying the journal keys, if given)."""

    def __init__(self, url: str, *, pool_size: int = 10, journal_keys: Mapping[str, bytes] | None = None) -> None:
        self.engine = make_async_engine(url, pool_size=pool_size)
        # The audit chain's HMAC keys ride on every session (db/audit.py); without them nothing can be journaled.
        info = session_info(journal_keys) if journal_keys else {}
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False, info=info)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that rolls back on error."""
        async with self._sessions() as session:
            yield session

    def side_pool(self) -> Database:
        """A one-connection Database on the same URL, for housekeeping that must not queue behind requests."""
        return Database(self.engine.url.render_as_string(hide_password=False), pool_size=1)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
