"""The two database roles: the owner migrations run as, and the app role the API and the worker use.

The owner owns every table (and so could disable triggers); the app role is neither owner nor superuser and
may only SELECT and INSERT the audit journal (SELECT, INSERT, UPDATE, DELETE elsewhere, never TRUNCATE).
Migrations grant (db/migrations/versions/0008_app_role.py); `provision` creates the roles and the database
with a superuser's connection (`make run` and the tests; compose does it in deploy/postgres/init-app-db.sql).
"""

from __future__ import annotations

import contextlib

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

OWNER_ROLE = "kexiang"
APP_ROLE = "kexiang_app"

# Owner-side objects that an older, superuser-run setup left owned by someone else (tables, sequences, views).
_OWNED_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}


def role_url(url: str, role: str, password: str | None) -> str:
    """The same SQLAlchemy URL signed in as another role."""
    return make_url(url).set(username=role, password=password).render_as_string(hide_password=False)


def _ensure_role(conn: psycopg.Connection, role: str, password: str | None) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    statement = sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS").format(
        sql.SQL(verb), sql.Identifier(role)
    )
    if password is not None:
        statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
    # Another process may create it between the check and here (concurrent CREATE ROLE can also collide).
    with contextlib.suppress(psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        conn.execute(statement)


def provision(
    superuser_uri: str, database: str, *, owner_password: str | None = None, app_password: str | None = None
) -> None:
    """Create (or fix) both roles and the database owned by the owner role; safe to run again."""
    with psycopg.connect(superuser_uri, autocommit=True) as conn:
        _ensure_role(conn, OWNER_ROLE, owner_password)
        _ensure_role(conn, APP_ROLE, app_password)
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(OWNER_ROLE))
            )
        else:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(OWNER_ROLE))
            )
    # A database first migrated by a superuser: hand its objects to the owner so later migrations may alter them.
    target = psycopg.conninfo.make_conninfo(superuser_uri, dbname=database)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(OWNER_ROLE)))
        for kind, keyword in _OWNED_KINDS.items():  # tables first: their sequences follow them
            rows = conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = %s AND pg_get_userbyid(c.relowner) <> %s",
                (kind, OWNER_ROLE),
            ).fetchall()
            for (name,) in rows:
                conn.execute(
                    sql.SQL("ALTER {} public.{} OWNER TO {}").format(
                        sql.SQL(keyword), sql.Identifier(name), sql.Identifier(OWNER_ROLE)
                    )
                )
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> %s",
            (OWNER_ROLE,),
        ).fetchall()
        for (signature,) in functions:
            conn.execute(
                sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(sql.SQL(signature), sql.Identifier(OWNER_ROLE))
            )
