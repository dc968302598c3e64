#!/usr/bin/env bash
# Checks the Debian package without installing it: its fields and contents,
# and its extracted tree — the binary runs and is stripped, the unit passes
# `systemd-analyze verify`, and its `security` exposure is at most 2.5.
#   scripts/deb-check.sh path/to/strongroom
set -euo pipefail
cd "$(dirname "$0")/.."
deb="$(scripts/deb.sh "$1")"
tree="$(mktemp -d -t strongroom-deb-x.XXXXXX)"
trap 'rm -rf "$tree"' EXIT
fail() { echo "deb-check: $*" >&2; exit 1; }

info="$(dpkg-deb -I "$deb")"
for field in "Package: strongroom" "Depends: adduser, libc6" "Architecture: $(dpkg --print-architecture)"; do
  grep -qF "$field" <<<"$info" || fail "control lacks '$field'"
done
for script in preinst postinst prerm postrm conffiles; do
  grep -qE "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$script" <<<"$info" || fail "no $script in the control archive"
done
contents="$(dpkg-deb -c "$deb")"
expect() { grep -qE "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \./$2$" <<<"$contents" || fail "no $2 with mode $1"; }
expect -rwxr-xr-x usr/bin/strongroom
expect -rw-r--r-- lib/systemd/system/strongroom.service
expect -rw-r----- etc/strongroom/strongroom.env
expect -rw-r--r-- usr/share/doc/strongroom/copyright
if grep -qE '(master|root)\.key|\.db$' <<<"$contents"; then fail "the package carries a key or a database"; fi

dpkg-deb -x "$deb" "$tree"
bin="$tree/usr/bin/strongroom"
"$bin" --version | grep -q '^strongroom ' || fail "the packaged binary does not run"
[ "$("$bin" keygen | base64 -d | wc -c)" = 32 ] || fail "keygen in the package does not make a 32-byte key"
if readelf -S "$bin" | grep -q '\.symtab'; then fail "the binary is not stripped"; fi
grep -q '^STRONGROOM_MASTER_KEY_FILE=/etc/strongroom/root.key$' "$tree/etc/strongroom/strongroom.env" \
  || fail "the env file does not name the packaged root key"

unit="$tree/lib/systemd/system/strongroom.service"
# `verify` wants ExecStart's binary where the unit says: check a copy naming the extracted one.
sed "s|^ExecStart=/usr/bin/strongroom|ExecStart=$bin|" "$unit" > "$tree/strongroom.service"
verify="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tree/strongroom.service" 2>&1 || true)"
# Outside a booted system `verify` may only say that it cannot reach the manager's user database.
problems="$(grep -v -e 'Failed to resolve user' -e 'Failed to resolve group' -e 'Cannot find unit' \
  -e 'cannot resolve' -e 'No such file or directory' -e '^$' <<<"$verify" | grep -i -e error -e warn -e unknown -e invalid || true)"
[ -z "$problems" ] || fail "systemd-analyze verify: $problems"
security="$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)"
score="$(sed -n 's/.*Overall exposure level for strongroom.service: \([0-9.]*\).*/\1/p' <<<"$security")"
[ -n "$score" ] || { echo "$security" | tail -5; fail "no exposure score"; }
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "$security" | grep -v '^✓' | head -40; fail "exposure $score > 2.5"; }
size="$(stat -c %s "$deb")"
echo "deb-check: $(basename "$deb") $((size / 1024 / 1024)) MiB ($(stat -c %s "$bin") bytes installed binary); systemd-analyze security exposure $score"
