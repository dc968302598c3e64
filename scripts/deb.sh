#!/usr/bin/env bash
# Builds the Debian package from the release binary `make` already built (no
# second build): scripts/deb.sh path/to/strongroom [out-dir]
# Prints the package's path. Needs dpkg-deb (Debian's dpkg) and binutils' strip.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "$1")"
out="${2:-${CARGO_TARGET_DIR:?set CARGO_TARGET_DIR or give an out dir}/deb}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
arch="$(dpkg --print-architecture)"
root="$(mktemp -d -t strongroom-deb.XXXXXX)"
trap 'rm -rf "$root"' EXIT

install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/strongroom" \
  "$root/usr/share/doc/strongroom"
strip --strip-all -o "$root/usr/bin/strongroom" "$bin"
chmod 0755 "$root/usr/bin/strongroom"
install -m 0644 packaging/deb/strongroom.service "$root/lib/systemd/system/strongroom.service"
install -m 0640 packaging/deb/strongroom.env "$root/etc/strongroom/strongroom.env"
install -m 0644 README.md "$root/usr/share/doc/strongroom/README.md"
install -m 0644 .env.example "$root/usr/share/doc/strongroom/env.example"
cat > "$root/usr/share/doc/strongroom/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: strongroom
License: $(sed -n 's/^license = "\(.*\)"/\1/p' Cargo.toml | head -1)
COPY
for script in preinst postinst prerm postrm; do
  install -m 0755 "packaging/deb/$script" "$root/DEBIAN/$script"
done
echo /etc/strongroom/strongroom.env > "$root/DEBIAN/conffiles"
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: strongroom
Version: $version
Architecture: $arch
Maintainer: Strongroom maintainers <strongroom@localhost>
Installed-Size: $size
Depends: adduser, libc6
Recommends: systemd
Section: admin
Priority: optional
Homepage: https://github.com/strongroom/strongroom
Description: self-hosted web admin for per-namespace secrets
 Admins add and rotate secrets in the browser through write-only fields;
 workloads read them with scoped tokens, an HTTP API, Vault KV v2 clients and
 exports in Kestra's and Prefect's formats. One binary, SQLite by default.
CONTROL
mkdir -p "$out"
deb="$out/strongroom_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz -z6 --build "$root" "$deb" >/dev/null
echo "$deb"
