#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the fleet server's tests (MOTE_TEST_POSTGRES) and
# prints its URL: data under out/pg, a free port on 127.0.0.1, trust authentication, no fsync.
# Installs PostgreSQL with apt-get only if no server binaries are found. initdb refuses to run
# as root, so as root the server runs as the `postgres` user (created if missing).
# Idempotent: a server already running from out/pg is reused.  `scripts/postgres-env.sh stop`
# stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is not installed and this is not root: apt-get install postgresql" >&2; exit 1; fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bin=$(find_bin)
fi
dir=$PWD/out/pg
run=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  run=(runuser -u postgres --)
fi
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
if ! "${run[@]}" test -w "$dir"; then
  # The checkout is not reachable by the server's user: keep the data in /tmp instead.
  dir=$(mktemp -d /tmp/mote-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  mkdir -p out && ln -sfn "$dir" out/pg
fi
pgctl() { "${run[@]}" "$bin/pg_ctl" -D "$dir/data" "$@"; }
if [ "${1:-}" = stop ]; then
  pgctl stop -m fast >&2 || true
  exit 0
fi
if [ -f "$dir/port" ] && pgctl status >/dev/null 2>&1; then
  echo "postgres://mote@127.0.0.1:$(cat "$dir/port")/postgres"
  exit 0
fi
rm -rf "$dir/data" "$dir/sock"
"${run[@]}" mkdir -p "$dir/sock"
"${run[@]}" "$bin/initdb" -D "$dir/data" -U mote --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "$port" | "${run[@]}" tee "$dir/port" >/dev/null
pgctl -l "$dir/server.log" -w -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
  start >&2 || { cat "$dir/server.log" >&2; exit 1; }
echo "postgres://mote@127.0.0.1:$port/postgres"
