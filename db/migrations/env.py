"""Alembic environment: the target metadata is SQLModel's, the URL comes from the caller or settings."""

from alembic import context
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from db.session import make_sync_engine

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    """The URL passed by db.migrate, else the owner's URL from settings (MIGRATION_DATABASE_URL or DATABASE_URL)."""
    url = config.attributes.get("database_url")
    if url:
        return url
    from infra.settings import get_settings

    url = get_settings().owner_database_url
    if not url:
        raise RuntimeError("MIGRATION_DATABASE_URL (or DATABASE_URL) is not set")
    return url


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    engine = make_sync_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
