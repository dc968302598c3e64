#!/usr/bin/env bash
# A throw-away PostgreSQL 15 on loopback, for tests and benchmarks.
#   scripts/postgres.sh start DIR   prints a URL: postgres://strongroom@127.0.0.1:PORT/strongroom
#   scripts/postgres.sh stop DIR    stops it and removes DIR
# DIR is made here (it must not exist). PostgreSQL refuses to run as root, so
# as root the cluster belongs to the `postgres` user (Debian's package makes
# it) and initdb/pg_ctl run through runuser. Trust authentication, loopback
# only, fsync on (what is measured is what production does).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
cmd="${1:-}"; dir="${2:-}"
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
start)
  [ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL 15 is missing (scripts/setup.sh installs it)" >&2; exit 1; }
  mkdir "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  as_owner "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE strongroom LOGIN CREATEDB" -c "CREATE DATABASE strongroom OWNER strongroom" >/dev/null
  echo "$port" >"$dir/port"
  echo "postgres://strongroom@127.0.0.1:$port/strongroom"
  ;;
stop)
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2
  ;;
esac
