"""Pooled connections the server closed are replaced on checkout, without a round trip per checkout."""

from __future__ import annotations

import psycopg
from sqlalchemy import text

from db.session import Database
from tests.support import eventually


async def test_a_connection_the_server_closed_is_replaced_on_checkout(database_urls, database_url):
    """The server ends the pool's only connection (as a restart or pg_terminate_backend does): the next session
    gets a new one and its query succeeds, no error reaching the caller."""
    db = Database(database_urls.app, pool_size=1)
    try:
        async with db.session() as session:
            first = await session.scalar(text("SELECT pg_backend_pid()"))
        with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as su:
            assert su.execute("SELECT pg_terminate_backend(%s)", (first,)).fetchone() == (True,)

            async def ended() -> bool:
                return su.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,)).fetchone() == (0,)

            await eventually(ended, what="the backend to end")
        async with db.session() as session:
            second = await session.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await db.dispose()


async def test_a_live_connection_is_reused(database_urls):
    """A connection nobody closed stays in use: the check on checkout does not churn the pool."""
    db = Database(database_urls.app, pool_size=1)
    try:
        pids = set()
        for _ in range(5):
            async with db.session() as session:
                pids.add(await session.scalar(text("SELECT pg_backend_pid()")))
        assert len(pids) == 1
    finally:
        await db.dispose()
