#!/usr/bin/env bash
# Installs the Debian package for real, exercises it, upgrades it and purges it:
#   scripts/deb-test.sh path/to/strongroom      (as root; `make deb-test`)
# Refuses to run where Strongroom is installed or its data dir exists.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "deb-test: run as root (it installs a package)" >&2; exit 2; }
if dpkg -s strongroom >/dev/null 2>&1 || [ -e /var/lib/strongroom ] || [ -e /etc/strongroom ]; then
  echo "deb-test: Strongroom is installed here (or its files are); not touching it" >&2; exit 2
fi
deb="$(scripts/deb.sh "$1")"
log="$(mktemp -t strongroom-deb-test.XXXXXX)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  dpkg -P strongroom >/dev/null 2>&1 || true
  rm -rf /var/lib/strongroom /etc/strongroom
  deluser --system strongroom >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() { echo "deb-test: $*" >&2; cat "$log" >&2; exit 1; }
mode() { stat -c '%a %U:%G' "$1"; }

dpkg -i "$deb" >"$log" 2>&1 || fail "dpkg -i failed"
getent passwd strongroom >/dev/null || fail "no strongroom user"
[ "$(mode /var/lib/strongroom)" = "700 strongroom:strongroom" ] || fail "data dir: $(mode /var/lib/strongroom)"
[ "$(mode /etc/strongroom/root.key)" = "600 strongroom:strongroom" ] || fail "root key: $(mode /etc/strongroom/root.key)"
[ "$(mode /etc/strongroom/strongroom.env)" = "640 root:strongroom" ] || fail "env file: $(mode /etc/strongroom/strongroom.env)"
[ "$(base64 -d /etc/strongroom/root.key | wc -c)" = 32 ] || fail "the root key is not 32 bytes"

# As root, the CLI refuses to make root-owned files in strongroom's data dir, and says what to run.
if out="$(printf 'a long enough password here\n' | strongroom user add admin --role admin --init 2>&1)"; then
  fail "root was allowed to write into strongroom's data dir"
fi
grep -q 'sudo -u strongroom strongroom user add' <<<"$out" || fail "the refusal does not say what to run: $out"
# As strongroom, with the packaged settings (no flags): the same data dir and key as the server.
printf 'a long enough password here\n' | runuser -u strongroom -- strongroom user add admin --role admin --init \
  >>"$log" 2>&1 || fail "user add as strongroom failed"
[ "$(stat -c %U /var/lib/strongroom/strongroom.db)" = strongroom ] || fail "the database is not strongroom's"

# The server runs as the unit would (no systemd here: the same user and settings).
runuser -u strongroom -- strongroom serve >>"$log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:3000/healthz >/dev/null && break; sleep 0.1; done
curl -sf http://127.0.0.1:3000/login | grep -q 'Sign in' || fail "the packaged server does not serve its sign-in page"
kill "$server"; wait "$server" 2>/dev/null || true; server=""

# An upgrade backs the database up before the new binary migrates it.
dpkg -i "$deb" >>"$log" 2>&1 || fail "the upgrade failed"
ls /var/lib/strongroom/backups/before-*.db >/dev/null 2>&1 || fail "no backup before the upgrade"

# Removing keeps the data and the key; purging removes the settings, never the secrets.
dpkg -r strongroom >>"$log" 2>&1 || fail "dpkg -r failed"
[ -f /var/lib/strongroom/strongroom.db ] && [ -f /etc/strongroom/root.key ] || fail "remove lost the data or the key"
dpkg -P strongroom >>"$log" 2>&1 || fail "dpkg -P failed"
[ ! -e /etc/strongroom/strongroom.env ] || fail "purge left the settings"
[ -f /var/lib/strongroom/strongroom.db ] || fail "purge deleted the data"
echo "deb-test: installed, used, upgraded (backup made), removed and purged $(basename "$deb")"
