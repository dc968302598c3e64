#!/usr/bin/env bash
# The failover drill (`make drill`, not part of `make test`): two Strongroom
# nodes on one PostgreSQL store kept by pg_auto_failover survive the loss of a
# machine.
#   scripts/drill.sh BINARY
# On loopback, in a temp dir: a pg_auto_failover monitor and two data nodes
# with synchronous replication; two `strongroom serve` on the multi-host URL
#   postgres://strongroom:PW@127.0.0.1:P1,127.0.0.1:P2/strongroom?target_session_attrs=read-write
# Then scripts/drill.py puts load through both (editors rotating secrets
# through the server functions, workloads reading through hvac), kills the
# PostgreSQL primary for real (kill -9 of its pg_autoctl keeper and of its
# postgres: a keeper alone restarts a killed postgres, which is no failover),
# then kills one Strongroom node, and checks that nothing acknowledged is lost,
# that every 200 read has its audit entry and that the audit chain verifies.
# Before all that: PostgreSQL unreachable at start makes `strongroom serve`
# exit non-zero with a one-line error. Exits non-zero if any check fails.
#
# PostgreSQL refuses to run as root, so as root the clusters belong to the
# `postgres` user and its commands run through runuser. Every cluster is made
# by initdb here (not by pg_autoctl, whose initdb trusts every local
# connection): peer authentication on a socket in an owner-only directory,
# scram-sha-256 over TCP for every role (pg_autoctl's autoctl_node and
# pgautofailover_replicator included, with random passwords in a 0600 passfile),
# TLS between the pg_auto_failover nodes (--ssl-self-signed). The one `trust`
# rule is pg_auto_failover's own, for its health-check role
# pgautofailover_monitor (it can log in, nothing more). Strongroom connects
# without TLS (loopback only).
# -E: the ERR trap fires inside functions too.
set -eEuo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BINARY" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "drill.sh: run as root (it installs packages and runs PostgreSQL as postgres)" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
bin_in="$1"
[ -x "$bin_in" ] || { echo "drill.sh: no executable at $bin_in" >&2; exit 2; }
pgbin=/usr/lib/postgresql/15/bin
python="${STRONGROOM_PYENV:-$HOME/.cache/strongroom/pyenv}/bin/python"
say() { printf 'drill: %s\n' "$*" >&2; }
started=$(date +%s)

# pg_auto_failover from Debian, only when missing.
if [ ! -x /usr/bin/pg_autoctl ] || [ ! -f /usr/lib/postgresql/15/lib/pgautofailover.so ] || [ ! -x "$pgbin/initdb" ]; then
  say "installing Debian's pg_auto_failover (postgresql-15-auto-failover, pg-auto-failover-cli)"
  mkdir -p /etc/postgresql-common/createcluster.d # no default cluster: nothing runs as a service
  [ -f /etc/postgresql-common/createcluster.d/strongroom.conf ] \
    || echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/strongroom.conf
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    postgresql-15 postgresql-15-auto-failover pg-auto-failover-cli >/dev/null
fi
"$python" -c 'import hvac' 2>/dev/null || { echo "drill.sh: hvac missing from $python (scripts/setup.sh installs it)" >&2; exit 1; }

# Layout: $T (0755) holds pg/ (0700, postgres: the clusters, their passfile,
# pg_autoctl's config/state/pid files) and sr/ (0700, root: the root key, the
# database password, the Strongroom nodes' data dirs and logs).
T="$(mktemp -d "${TMPDIR:-/tmp}/strongroom-drill.XXXXXX")"
chmod 0755 "$T"
P="$T/pg" S="$T/sr"
mkdir -m 0700 "$P" "$S"
chown postgres: "$P"
for d in run cfg share sock; do mkdir -m 0700 "$P/$d"; done
chown postgres: "$P"/*
keep="${DRILL_KEEP:-}" # DRILL_KEEP=1: leave the temp dir (logs) behind

# Everything started here, stopped however the drill ends.
sr_pids=() wrappers=() py_pid=""
pgdirs=("$P/node2" "$P/node1" "$P/monitor")
pg_pids() { # every pid of the pg_autoctl service and postgres of one data dir
  local dir="$1" f
  f="$P/run/pg_autoctl$dir/pg_autoctl.pid"
  [ -f "$f" ] && awk 'NR==1 || NF==2 {print $1}' "$f" | grep -E '^[0-9]+$' || true
  [ -f "$dir/postmaster.pid" ] && head -1 "$dir/postmaster.pid" || true
}
cleanup() {
  local rc=$? dir pid
  trap - EXIT INT TERM ERR
  set +e
  [ -n "$py_pid" ] && kill -9 "$py_pid" 2>/dev/null
  for pid in "${sr_pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for dir in "${pgdirs[@]}"; do
    [ -d "$dir" ] && as_pg timeout 20 pg_autoctl stop --pgdata "$dir" >/dev/null 2>&1
  done
  sleep 1
  for dir in "${pgdirs[@]}"; do
    for pid in $(pg_pids "$dir"); do kill -9 "$pid" 2>/dev/null; done
  done
  for pid in "${wrappers[@]}"; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$keep" ]; then say "kept $T"; else rm -rf "$T"; fi
  say "took $(( $(date +%s) - started )) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cp "$bin_in" "$S/strongroom" # a stable copy: the build may replace the original meanwhile
BIN="$S/strongroom"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Hex: a password never starts with '-', which a command would read as an option.
secret() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }
# A command as postgres, with pg_autoctl's files kept in $P (not in ~postgres).
# `env -i`: nothing of this shell's environment (the root key, the database URL
# with its password) reaches the postgres account's processes.
pg_env=(env -i PATH="$pgbin:/usr/local/bin:/usr/bin:/bin" HOME="$P" XDG_RUNTIME_DIR="$P/run" XDG_CONFIG_HOME="$P/cfg"
  XDG_DATA_HOME="$P/share" PGHOST="$P/sock" PGPASSFILE="$P/pgpass")
as_pg() { runuser -u postgres -- "${pg_env[@]}" "$@"; }
psql_pg() { as_pg psql -X -q -v ON_ERROR_STOP=1 -p "$1" -d "$2"; } # SQL on stdin: no password in `ps`

# --- Fault: PostgreSQL unreachable at start --------------------------------
say "fault check: PostgreSQL unreachable at start"
dead=$(free_port) # nothing listens there
mkdir -m 0700 "$S/fault"
set +e
STRONGROOM_DATABASE_URL="postgres://strongroom:canary-pw-1234@127.0.0.1:$dead,127.0.0.1:$dead/strongroom?target_session_attrs=read-write" \
  STRONGROOM_MASTER_KEY="$("$BIN" keygen)" STRONGROOM_ADDR="127.0.0.1:$(free_port)" STRONGROOM_DATA_DIR="$S/fault" \
  RUST_LOG=info timeout 60 "$BIN" serve >"$S/fault.out" 2>"$S/fault.err" </dev/null
fault_rc=$?
set -e
# Log lines start with a timestamp; what is left is the error for people.
grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z +(INFO|WARN|DEBUG|TRACE) ' "$S/fault.err" "$S/fault.out" \
  | grep -v '^$' >"$S/fault.msg" || true
fault_lines=$(wc -l <"$S/fault.msg")
printf '%s\n' "$fault_rc" >"$S/fault.rc"

# --- pg_auto_failover: monitor + two data nodes ----------------------------
read -r PM P1 P2 < <(echo "$(free_port) $(free_port) $(free_port)")
su_pw=$(secret) node_pw=$(secret) repl_pw=$(secret) app_pw=$(secret)
(
  umask 077
  echo "$su_pw" >"$P/su.pw"
  printf '127.0.0.1:%s:*:autoctl_node:%s\n*:*:*:pgautofailover_replicator:%s\n' "$PM" "$node_pw" "$repl_pw" >"$P/pgpass"
  echo "$app_pw" >"$S/db.pw"
)
chown postgres: "$P/su.pw" "$P/pgpass"

initdb_here() { # DIR: scram over TCP, peer on the private socket, loopback only
  as_pg initdb -D "$1" -U postgres --auth-local=peer --auth-host=scram-sha-256 --pwfile="$P/su.pw" \
    --encoding=UTF8 --locale=C.UTF-8 >"$P/initdb.log" 2>&1 || { cat "$P/initdb.log" >&2; false; }
  # postgresql.auto.conf is read last: it wins over pg_autoctl's include file.
  cat >>"$1/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$P/sock'
shared_buffers = '128MB'
max_connections = 200
CONF
}
run_service() { # DIR NAME: `pg_autoctl run` in the background, logs in $P/NAME.log
  setsid runuser -u postgres -- "${pg_env[@]}" pg_autoctl run --pgdata "$1" >"$P/$2.log" 2>&1 </dev/null &
  wrappers+=($!)
}
wait_sql() { # PORT DB: until postgres answers on the socket
  local i
  for i in $(seq 150); do
    as_pg psql -X -p "$1" -d "$2" -tAc 'select 1' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "drill.sh: postgres on port $1 did not come up" >&2; return 1
}
monitor_uri="postgres://autoctl_node@127.0.0.1:$PM/pg_auto_failover?sslmode=require"
create_node() { # NAME PORT
  as_pg pg_autoctl create postgres --pgdata "$P/$1" --pgport "$2" --listen 127.0.0.1 --hostname 127.0.0.1 \
    --name "$1" --auth scram-sha-256 --ssl-self-signed --monitor "$monitor_uri" >"$P/$1-create.log" 2>&1 \
    || { tail -40 "$P/$1-create.log" >&2; false; }
  as_pg pg_autoctl config set --pgdata "$P/$1" replication.password "$repl_pw" >/dev/null
}

say "pg_auto_failover monitor on 127.0.0.1:$PM"
initdb_here "$P/monitor"
as_pg pg_autoctl create monitor --pgdata "$P/monitor" --pgport "$PM" --hostname 127.0.0.1 \
  --auth scram-sha-256 --ssl-self-signed >"$P/monitor-create.log" 2>&1 || { tail -40 "$P/monitor-create.log" >&2; false; }
as_pg pg_autoctl config set --pgdata "$P/monitor" postgresql.listen_addresses 127.0.0.1 >/dev/null
run_service "$P/monitor" monitor
wait_sql "$PM" pg_auto_failover
psql_pg "$PM" pg_auto_failover <<SQL
ALTER ROLE autoctl_node PASSWORD '$node_pw';
SQL

say "data node node1 on 127.0.0.1:$P1"
initdb_here "$P/node1"
create_node node1 "$P1"
run_service "$P/node1" node1
wait_sql "$P1" postgres
psql_pg "$P1" postgres <<SQL
ALTER ROLE pgautofailover_replicator PASSWORD '$repl_pw';
CREATE ROLE strongroom LOGIN PASSWORD '$app_pw';
CREATE DATABASE strongroom OWNER strongroom;
SQL
# Strongroom's own rule (node2 gets a copy through pg_basebackup).
echo "host strongroom strongroom 127.0.0.1/32 scram-sha-256 # the Strongroom nodes (no TLS in their client)" \
  >>"$P/node1/pg_hba.conf"
psql_pg "$P1" postgres <<<'SELECT pg_reload_conf();' >/dev/null

say "data node node2 on 127.0.0.1:$P2 (pg_basebackup from node1)"
# pg_basebackup waits for a spread checkpoint (minutes when idle): ask node1 for
# an immediate one meanwhile.
( for _ in $(seq 60); do sleep 2; psql_pg "$P1" postgres <<<'CHECKPOINT;' >/dev/null 2>&1 || true; done ) &
ckpt=$!
create_node node2 "$P2"
kill "$ckpt" 2>/dev/null || true
wait "$ckpt" 2>/dev/null || true
run_service "$P/node2" node2

say "waiting for primary + secondary with synchronous replication"
for i in $(seq 120); do
  states=$(as_pg psql -X -p "$PM" -d pg_auto_failover -tAc \
    "select string_agg(reportedstate || '/' || goalstate, ' ' order by reportedstate) from pgautofailover.node" \
    2>/dev/null || true)
  sync=$(as_pg psql -X -p "$P1" -d postgres -tAc 'show synchronous_standby_names' 2>/dev/null || true)
  [ "$states" = "primary/primary secondary/secondary" ] && [ -n "$sync" ] && break
  [ "$i" = 120 ] && { echo "drill.sh: the formation did not reach primary+secondary: $states" >&2; as_pg pg_autoctl show state --pgdata "$P/node1" >&2; false; }
  sleep 1
done
as_pg pg_autoctl show state --pgdata "$P/node1" >&2
say "synchronous_standby_names on node1: $sync"

# --- Strongroom: the store, users, tokens, two nodes -----------------------
export STRONGROOM_DATABASE_URL="postgres://strongroom:$app_pw@127.0.0.1:$P1,127.0.0.1:$P2/strongroom?target_session_attrs=read-write"
STRONGROOM_MASTER_KEY="$("$BIN" keygen)"
export STRONGROOM_MASTER_KEY
mkdir -m 0700 "$S/cli" "$S/a" "$S/b"
# The CLI on PostgreSQL sometimes aborts (exit 134, "Cannot start a runtime from
# within a runtime" as the store's connection is dropped) after its work is
# done: recorded in $S/cli-aborts (drill.py fails a check on it), not fatal here.
: >"$S/cli-aborts"
cli() {
  local rc=0
  RUST_BACKTRACE=0 "$BIN" "$@" 2>"$S/cli.err" || rc=$?
  if [ "$rc" = 134 ] && grep -q 'Cannot start a runtime from within a runtime' "$S/cli.err"; then
    echo "strongroom $1 $2" >>"$S/cli-aborts"
    say "strongroom $1 $2 aborted on exit (134) after its work: recorded"
    return 0
  fi
  [ "$rc" = 0 ] || { cat "$S/cli.err" >&2; return "$rc"; }
}
admin_pw='correct horse battery staple'
printf '%s\n' "$admin_pw" | cli user add admin --role admin --init --data-dir "$S/cli" >/dev/null
for e in editor-a editor-b; do printf '%s\n' "$admin_pw" | cli user add "$e" --role editor --data-dir "$S/cli" >/dev/null; done
(
  umask 077
  for t in reader-a reader-b verifier; do
    cli token create "drill-$t" --namespace drill --data-dir "$S/cli" >"$S/token-$t"
    grep -q '^sr_' "$S/token-$t" || { echo "drill.sh: no token printed for drill-$t" >&2; exit 1; }
  done
)
PA=$(free_port) PB=$(free_port)
start_node() { # NAME PORT
  STRONGROOM_ADDR="127.0.0.1:$2" STRONGROOM_DATA_DIR="$S/$1" STRONGROOM_KEEP_VERSIONS=1000 RUST_LOG=info \
    "$BIN" serve >"$S/node-$1.log" 2>&1 </dev/null &
  sr_pids+=($!)
  echo $! >"$S/node-$1.pid"
}
start_node a "$PA"
start_node b "$PB"
for port in "$PA" "$PB"; do
  for i in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    [ "$i" = 100 ] && { echo "drill.sh: strongroom on $port never became ready" >&2; tail -20 "$S"/node-*.log >&2; false; }
    sleep 0.2
  done
done
say "strongroom nodes: a on 127.0.0.1:$PA (pid $(cat "$S/node-a.pid")), b on 127.0.0.1:$PB (pid $(cat "$S/node-b.pid"))"

# --- The load, the kills, the checks (scripts/drill.py) --------------------
cat >"$S/drill.json" <<JSON
{
  "bin": "$BIN",
  "tmp": "$T",
  "pg": {"dir": "$P", "pgbin": "$pgbin", "monitor_port": $PM,
         "nodes": {"node1": {"port": $P1, "pgdata": "$P/node1"}, "node2": {"port": $P2, "pgdata": "$P/node2"}}},
  "fault": {"rc": $fault_rc, "lines": $fault_lines, "msg_file": "$S/fault.msg", "canary": "canary-pw-1234"},
  "nodes": {"a": {"url": "http://127.0.0.1:$PA", "pid": $(cat "$S/node-a.pid"), "log": "$S/node-a.log"},
            "b": {"url": "http://127.0.0.1:$PB", "pid": $(cat "$S/node-b.pid"), "log": "$S/node-b.log"}},
  "admin_password": "$admin_pw",
  "tokens": {"a": "$S/token-reader-a", "b": "$S/token-reader-b", "verifier": "$S/token-verifier"},
  "audit_dir": "$S/cli",
  "cli_aborts": "$S/cli-aborts"
}
JSON
chmod 0600 "$S/drill.json"
set +e
"$python" "$here/drill.py" "$S/drill.json" &
py_pid=$!
wait "$py_pid"
drill_rc=$?
py_pid=""
set -e
if [ "$drill_rc" != 0 ]; then
  say "FAILED (drill.py exit $drill_rc); Strongroom logs: $S/node-*.log, pg_auto_failover logs: $P/*.log (DRILL_KEEP=1 keeps them)"
  if [ -z "$keep" ]; then
    for f in "$S"/node-*.log "$P"/node1.log "$P"/node2.log "$P"/monitor.log; do
      echo "---- last lines of $(basename "$f")" >&2; grep -v 'path=/readyz' "$f" | tail -15 >&2
    done
  fi
fi
exit "$drill_rc"
