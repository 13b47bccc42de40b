#!/usr/bin/env bash
# Start a throw-away PostgreSQL (Debian package) for the store tests; print its URL.
# Usage: eval "$(.ci/postgres.sh start DIR PORT)"   and later   .ci/postgres.sh stop DIR
set -euo pipefail
action=$1 dir=$2
port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
if [ "$action" = stop ]; then
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  exit 0
fi
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; } >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
mkdir -p "$dir"
chown postgres "$dir"
# The server refuses to run as root: it runs as the Debian package's `postgres` user.
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U radagree -E UTF8 >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" start >&2
echo "export RADAGREE_TEST_PG_URL=postgresql+psycopg://radagree@127.0.0.1:$port/postgres"
