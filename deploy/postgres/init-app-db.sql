-- kexiang's application database, next to Temporal's own databases (temporal,
-- temporal_visibility), which belong to the `temporal` superuser.
--
-- Two roles (db/roles.py): `kexiang` owns the database and every table, and is what the
-- `migrate` job signs in as; `kexiang_app` is what the api and the worker sign in as. The
-- migrations grant it SELECT, INSERT, UPDATE, DELETE on the tables but only SELECT and INSERT
-- on the audit journal; not being owner or superuser, it cannot disable the journal's
-- trigger or set session_replication_role either.
--
-- The postgres image runs this file with psql only when the data directory is empty,
-- i.e. on the first start with a fresh `pgdata` volume. It is still written to be
-- safe to run again by hand:
--   docker compose exec -T postgresql psql -U temporal -d temporal < deploy/postgres/init-app-db.sql
-- Change both passwords (ALTER ROLE ... PASSWORD) and the URLs in docker-compose.yml for real use.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kexiang') THEN
        CREATE ROLE kexiang LOGIN PASSWORD 'kexiang';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kexiang_app') THEN
        CREATE ROLE kexiang_app LOGIN PASSWORD 'kexiang_app';
    END IF;
END
$$;
ALTER ROLE kexiang NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
ALTER ROLE kexiang_app NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;

-- CREATE DATABASE has no IF NOT EXISTS and cannot run inside a DO block.
SELECT 'CREATE DATABASE kexiang OWNER kexiang'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'kexiang')
\gexec

-- Only the owner creates objects (PostgreSQL 15+ no longer lets PUBLIC create in public).
\connect kexiang
ALTER SCHEMA public OWNER TO kexiang;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
