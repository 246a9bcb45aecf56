#!/bin/sh
# Create or upgrade Temporal's persistence and visibility schemas in PostgreSQL.
# Runs in temporalio/admin-tools as the one-shot `temporal-schema` service.
#
# Safe to re-run: `create` ignores an existing database, `setup-schema -v 0.0` leaves an
# already versioned schema alone, and `update-schema` applies only the missing versions
# (which is also how a server upgrade gets its schema changes).
set -eu

DB_HOST="${POSTGRES_SEEDS:-postgresql}"
DB_PORT="${DB_PORT:-5432}"
DB_USER="${POSTGRES_USER:-temporal}"
# temporal-sql-tool reads the password from SQL_PASSWORD itself, keeping it off the command line.
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
MAIN_DB="${DBNAME:-temporal}"
VISIBILITY_DB="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_ROOT=/etc/temporal/schema/postgresql/v12
MAX_ATTEMPTS=30

attempt=1
until nc -z -w 5 "$DB_HOST" "$DB_PORT"; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "PostgreSQL at $DB_HOST:$DB_PORT is unreachable after $MAX_ATTEMPTS attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep 2
done

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$DB_HOST" -p "$DB_PORT" -u "$DB_USER" "$@"
}

# setup_database NAME SCHEMA_DIR
setup_database() {
  echo "Setting up database $1 from $2"
  sql_tool --db "$1" create
  sql_tool --db "$1" setup-schema -v 0.0
  sql_tool --db "$1" update-schema -d "$2"
}

setup_database "$MAIN_DB" "$SCHEMA_ROOT/temporal/versioned"
setup_database "$VISIBILITY_DB" "$SCHEMA_ROOT/visibility/versioned"
echo "Temporal schemas are up to date"
