"""Database engines: async for the API and activities, sync for migrations and seeding."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from db.audit import session_info


def make_async_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine on psycopg 3 with liveness checks on pooled connections; errors never show parameters."""
    # hide_parameters: a failed statement's message would otherwise carry its values (names, phone numbers).
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, hide_parameters=True)


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

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
