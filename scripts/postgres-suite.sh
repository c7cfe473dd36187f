#!/usr/bin/env bash
# The deployed end-to-end suite (tests/browser) and the ledger tests once more, on PostgreSQL: the ledger via
# TENKEN_DATABASE_URL, the Prefect server via PREFECT_API_DATABASE_CONNECTION_URL. A throwaway cluster is
# created in a temporary folder (Debian's postgresql, installed when missing) and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ]; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
.venv/bin/pip install -q -e '.[test,postgres]'

DATA=$(mktemp -d /tmp/tenken-pg-XXXXXX)
PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$DATA"
cleanup() { as_postgres "$PGBIN/pg_ctl" -D "$DATA/db" -m fast stop >/dev/null 2>&1 || true; rm -rf "$DATA"; }
trap cleanup EXIT
as_postgres "$PGBIN/initdb" -D "$DATA/db" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_postgres "$PGBIN/pg_ctl" -D "$DATA/db" -l "$DATA/postgres.log" -w \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
for db in tenken prefect; do as_postgres "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$db"; done

echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
# The ledger tests make a database each; the CLI tests among them must not see a shared TENKEN_DATABASE_URL.
TENKEN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres" .venv/bin/pytest -q tests/collect
TENKEN_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/tenken" \
PREFECT_API_DATABASE_CONNECTION_URL="postgresql+asyncpg://postgres@127.0.0.1:$PORT/prefect" \
  .venv/bin/pytest -q tests/browser
