#!/usr/bin/env bash
# Runs the browser tests against a real server: the given binary, on a free
# loopback port, with a fresh data dir, debug logging captured for the canary scan.
#   scripts/e2e.sh path/to/strongroom [playwright test arguments, e.g. a spec file]
set -euo pipefail
cd "$(dirname "$0")/.."
state="$(mktemp -d -t strongroom-e2e.XXXXXX)"
# The binary alone, run from an empty directory: it must serve its assets itself.
mkdir "$state/run"
cp "$(realpath "$1")" "$state/run/strongroom"
shift
bin="$state/run/strongroom"
unset STRONGROOM_SITE_ROOT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# The accounts the tests sign in with, made the way an operator makes them
# (with the server's root key: adding a user writes to the audit trail).
STRONGROOM_MASTER_KEY="$("$bin" keygen)"
export STRONGROOM_MASTER_KEY
export E2E_PASSWORD="e2e correct horse battery staple"
add_user() { printf '%s\n' "$E2E_PASSWORD" | "$bin" user add "$@" --data-dir "$state/data" >/dev/null; }
add_user admin --role admin --init
add_user editor --role editor --namespace finance
add_user auditor --role auditor --namespace finance

(cd "$state/run" && STRONGROOM_ADDR="127.0.0.1:$port" \
  STRONGROOM_WEBHOOK_ALLOW_CIDRS=127.0.0.1 STRONGROOM_WEBHOOK_FIRST_RETRY_SECS=1 \
  STRONGROOM_DATA_DIR="$state/data" RUST_LOG=debug exec "$bin" serve) >"$state/server.log" 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "server exited:"; cat "$state/server.log"; exit 1; }
  sleep 0.1
done

status=0
(cd end2end && BASE_URL="http://127.0.0.1:$port" E2E_STATE="$state" E2E_BIN="$bin" npx playwright test "$@") || status=$?
if [ "$status" != 0 ]; then
  echo "--- last server log lines ($state/server.log)"; tail -n 40 "$state/server.log"
else
  rm -rf "$state"
fi
exit "$status"
