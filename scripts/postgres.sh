#!/usr/bin/env bash
# A throw-away PostgreSQL 15 on loopback, for tests and benchmarks.
#   scripts/postgres.sh start DIR   prints a URL: postgres://strongroom:PASSWORD@127.0.0.1:PORT/strongroom
#   scripts/postgres.sh start DIR tls
#                                   with TLS: a throw-away CA and a certificate for `localhost`
#                                   in DIR/tls; prints a URL for localhost with
#                                   sslmode=verify-full&sslrootcert=DIR/tls/ca.crt
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
cmd="${1:-}"; dir="${2:-}"; with_tls="${3:-}"
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
  options=""
  if [ "$with_tls" = tls ]; then
    tls="$dir/tls"; mkdir -m 0700 "$tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=strongroom test CA" \
      -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
      -extfile "$tls/server.ext" -out "$tls/server.crt" 2>/dev/null
    chmod 0644 "$tls/ca.crt"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$tls"
    options="-c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key"
  fi
  # A free port, asked of the kernel; another process may take it first: try again.
  for attempt in 1 2 3; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 $options" \
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
  if [ "$with_tls" = tls ]; then
    echo "postgres://strongroom:$user_pw@localhost:$port/strongroom?sslmode=verify-full&sslrootcert=$dir/tls/ca.crt"
  else
    echo "postgres://strongroom:$user_pw@127.0.0.1:$port/strongroom"
  fi
  ;;
stop)
  stop
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2
  ;;
esac
