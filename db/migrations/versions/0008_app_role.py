"""app role: the API and worker connect as a role that may only read and append the audit journal

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:00:00
"""

from alembic import op

from db.roles import APP_ROLE

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Run as the owner (db/roles.py). The app role is created NOLOGIN when missing (and the migrating role may),
# so a database migrated without `provision` still gets its grants; `provision` makes it a login role.
UPGRADE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} NOLOGIN;
    END IF;
END $$;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO {APP_ROLE}', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_entry FROM {APP_ROLE};
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
"""

DOWNGRADE = f"""
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {APP_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP_ROLE};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE};
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE};
REVOKE USAGE ON SCHEMA public FROM {APP_ROLE};
DO $$
BEGIN
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM {APP_ROLE}', current_database());
END $$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
