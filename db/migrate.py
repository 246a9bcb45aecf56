"""Bring a database to the latest schema and (optionally) seed defaults: `python -m db.migrate --seed`."""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session

from db.session import make_sync_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    """Alembic configuration pointing at this repository's migrations and the given database."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "db" / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Apply every pending migration."""
    command.upgrade(alembic_config(database_url), "head")


def migrate_and_seed(database_url: str, *, calendar_name: str, policy_name: str, demo_users: bool) -> list[str]:
    """Upgrade to head, then seed what is missing."""
    from db.seed import seed_defaults

    upgrade(database_url)
    engine = make_sync_engine(database_url)
    try:
        with Session(engine) as session:
            return seed_defaults(session, calendar_name=calendar_name, policy_name=policy_name, demo_users=demo_users)
    finally:
        engine.dispose()


def main() -> None:
    """Command-line entry point used by the dev stack and the compose `migrate` job."""
    from infra.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--seed", action="store_true", help="seed the default calendar, SLA policy and (in dev) demo users"
    )
    args = parser.parse_args()
    settings = get_settings()
    url = settings.owner_database_url  # the owner role: the app role may not create or alter tables
    if not url:
        raise SystemExit("MIGRATION_DATABASE_URL (or DATABASE_URL) is not set")
    if args.seed:
        created = migrate_and_seed(
            url,
            calendar_name=settings.default_calendar,
            policy_name=settings.default_sla_policy,
            demo_users=settings.kexiang_env != "production",
        )
        for line in created:
            print(f"seeded {line}")
    else:
        upgrade(url)


if __name__ == "__main__":
    main()
