#!/bin/bash
# Runs once, when the server starts on an empty data directory (the postgres image runs
# every script of /docker-entrypoint-initdb.d then, as the superuser, over the local
# socket). For each database mounted under /etc/threefold/databases/<name>/ (files
# username, password, database: one Secret per database, see the database components):
# a login role without any other right, and a database it owns. CONNECT is revoked from
# PUBLIC on every database, so a role reaches its own database and no other: database per
# service enforced by credentials, not by convention.
set -euo pipefail

DATABASES_DIR=${DATABASES_DIR:-/etc/threefold/databases}
superuser=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}")

for dir in "$DATABASES_DIR"/*/; do
  [ -f "$dir/database" ] || continue
  role=$(cat "$dir/username")
  database=$(cat "$dir/database")
  password=$(cat "$dir/password")
  # psql variables quote the names (:"...") and the password (:'...'): no SQL is built
  # by the shell.
  "${superuser[@]}" --dbname postgres \
    --set role="$role" --set database="$database" --set password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"database" OWNER :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
  echo "init-databases: database $database for role $role"
done

# Nobody but the superuser connects to the maintenance databases either.
"${superuser[@]}" --dbname postgres <<'SQL'
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
SQL
