-- kexiang's application database, next to Temporal's own databases (temporal,
-- temporal_visibility), which belong to the `temporal` superuser.
--
-- The postgres image runs this file with psql only when the data directory is empty,
-- i.e. on the first start with a fresh `pgdata` volume. It is still written to be
-- safe to run again by hand:
--   docker compose exec -T postgresql psql -U temporal -d temporal < deploy/postgres/init-app-db.sql

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kexiang') THEN
        CREATE ROLE kexiang LOGIN PASSWORD 'kexiang';
    END IF;
END
$$;

-- CREATE DATABASE has no IF NOT EXISTS and cannot run inside a DO block.
SELECT 'CREATE DATABASE kexiang OWNER kexiang'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'kexiang')
\gexec
