#!/usr/bin/env bash
# Start a local PostgreSQL (Debian packages) for Cairn's store tests and print the URL to use.
#
# Idempotent and fast when already done: installs the `postgresql` package only if no server
# binary is present, creates/starts the Debian cluster `<version>/main`, and creates the role
# `cairn` (password `cairn`) and the database `cairn_test` if missing. Must run as root.
# Usage: export CAIRN_TEST_POSTGRES_URL="$(scripts/start-postgres.sh)"
set -euo pipefail
log() { echo "start-postgres: $*" >&2; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null; then
  log "installing postgresql from Debian packages"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

ver="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
  log "creating cluster $ver/main"
  pg_createcluster "$ver" main >&2
fi
if ! pg_ctlcluster "$ver" main status >/dev/null 2>&1; then
  log "starting cluster $ver/main"
  pg_ctlcluster "$ver" main start >&2
fi
port="$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { print $3 }')"

for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$port" || { log "server did not become ready"; exit 1; }

psql_admin() { su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -p $port $*" >&2; }
psql_admin "-c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cairn') THEN CREATE ROLE cairn LOGIN PASSWORD 'cairn'; END IF; END \\\$\\\$;\""
if [ "$(su postgres -c "psql -X -tA -p $port -c \"SELECT 1 FROM pg_database WHERE datname = 'cairn_test'\"")" != "1" ]; then
  psql_admin "-c \"CREATE DATABASE cairn_test OWNER cairn\""
fi

echo "postgres://cairn:cairn@127.0.0.1:${port}/cairn_test"
