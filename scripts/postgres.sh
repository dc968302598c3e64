#!/usr/bin/env bash
# A throw-away PostgreSQL 15 on loopback, for tests and benchmarks.
#   scripts/postgres.sh start DIR   prints a URL: postgres://strongroom:PASSWORD@127.0.0.1:PORT/strongroom
#   scripts/postgres.sh stop DIR    stops it and removes DIR
# DIR is made here (it must not exist). PostgreSQL refuses to run as root, so
# as root the cluster belongs to the `postgres` user (Debian's package makes
# it) and initdb/pg_ctl run through runuser. Password authentication (random
# passwords in DIR, mode 0600), loopback only, the socket in DIR (mode 0700):
# no other local user gets in. Text sorts by a linguistic collation (ICU
# en-US) by default, as on most real servers, so tests notice a column that
# forgets Strongroom's byte-wise `COLLATE "C"`. fsync on: what is measured is
# what production does.
# -E: the ERR trap that cleans up a failed start also fires inside functions.
set -eEuo pipefail
bin=/usr/lib/postgresql/15/bin
cmd="${1:-}"; dir="${2:-}"
[ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop() {
  if [ -d "$dir/data" ] && ! as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1; then
    # Still running (or never started): leave nothing behind either way.
    [ -f "$dir/data/postmaster.pid" ] && kill -9 "$(head -1 "$dir/data/postmaster.pid")" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

case "$cmd" in
start)
  [ -x "$bin/initdb" ] || { echo "postgres.sh: PostgreSQL 15 is missing (scripts/setup.sh installs it)" >&2; exit 1; }
  mkdir -m 0700 "$dir"
  trap 'stop' ERR
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
  admin_pw="$(secret)"; user_pw="$(secret)"
  (umask 077; echo "$admin_pw" >"$dir/admin.pw")
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/admin.pw"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 --pwfile="$dir/admin.pw" \
    --encoding=UTF8 --locale=C.UTF-8 --locale-provider=icu --icu-locale=en-US >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; false; }
  # A free port, asked of the kernel; another process may take it first: try again.
  for attempt in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    [ "$attempt" = 3 ] && { cat "$dir/server.log" >&2; false; }
  done
  # The SQL on standard input: a password in psql's arguments would show in `ps`.
  PGPASSWORD="$admin_pw" as_owner "$bin/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    >/dev/null <<SQL
CREATE ROLE strongroom LOGIN CREATEDB PASSWORD '$user_pw';
CREATE DATABASE strongroom OWNER strongroom;
SQL
  echo "$port" >"$dir/port"
  trap - ERR
  echo "postgres://strongroom:$user_pw@127.0.0.1:$port/strongroom"
  ;;
stop)
  stop
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2
  ;;
esac
