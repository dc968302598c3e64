#!/usr/bin/env bash
# Prints size and memory figures of the release build.
#   scripts/bench.sh path/to/strongroom
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "$1")"
wasm=target/site/pkg/strongroom_bg.wasm
kib() { echo "$(( ($1 + 1023) / 1024 )) KiB"; }

echo "== release sizes"
echo "wasm raw:    $(kib "$(stat -c %s "$wasm")")"
echo "wasm gzip:   $(kib "$(gzip -9c "$wasm" | wc -c)")"
sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
if ! command -v brotli >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq brotli >/dev/null
fi
echo "wasm brotli: $(kib "$(brotli -c -q 11 "$wasm" | wc -c)") (target <= 300 KiB)"
echo "js glue:     $(kib "$(stat -c %s target/site/pkg/strongroom.js)")"
echo "server:      $(kib "$(stat -c %s "$bin")")"

echo "== idle memory of the release server"
state="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
STRONGROOM_MASTER_KEY="$("$bin" keygen)" STRONGROOM_ADDR="127.0.0.1:$port" STRONGROOM_DATA_DIR="$state" \
  RUST_LOG=warn "$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2 " KiB"}' "/proc/$pid/status"; }
echo "idle RSS after start:         $(rss) (target <= 30 MB)"
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/"; done
echo "RSS after 200 page renders:   $(rss)"

echo "== a namespace with 1,000 secrets (server/examples/page_bench.rs)"
cargo run -q --release -p strongroom --example page_bench -- "$bin"

echo "== sign-in burst (server/examples/signin_bench.rs)"
cargo run -q --release -p strongroom --example signin_bench -- "$bin"

echo "== workload reads vs OpenBao (server/examples/read_bench.rs)"
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk >/dev/null
cargo run -q --release -p strongroom --example read_bench -- "$bin" scripts/openbao-peer.sh

echo "== the same on PostgreSQL 15 (Strongroom, PostgreSQL and wrk share this machine; fsync on)"
# A throw-away PostgreSQL each (scripts/with-postgres.sh); the examples' binary inherits the URL.
on_postgres() {
  scripts/with-postgres.sh bash -c 'export STRONGROOM_DATABASE_URL="$STRONGROOM_TEST_DATABASE_URL"; \
    cargo run -q --release -p strongroom --example "$@"' -- "$@"
}
on_postgres read_bench -- "$bin" scripts/openbao-peer.sh
on_postgres page_bench -- "$bin"
OPS_SECRETS="${PG_OPS_SECRETS:-20000}" on_postgres ops_bench -- "$bin"   # seeding over the wire takes ~5 ms a secret
on_postgres audit_bench -- "$bin" "${AUDIT_ENTRIES:-1000000}"

echo "== audit trail at scale (server/examples/audit_bench.rs)"
cargo run -q --release -p strongroom --example audit_bench -- "$bin" "${AUDIT_ENTRIES:-1000000}"

echo "== operations: rotate, 50 writers + 200 readers, backup, rewrap (server/examples/ops_bench.rs)"
cargo run -q --release -p strongroom --example ops_bench -- "$bin"

echo "== kill -9 drill, 20 rounds (server/tests/it/crash.rs)"
STRONGROOM_CRASH_ROUNDS=20 cargo test -q -p strongroom --test it crash:: -- --nocapture 2>&1 | grep "kill -9 drill"
