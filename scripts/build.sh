#!/usr/bin/env bash
# Builds the browser bundle into target/site and the `strongroom` server.
#   scripts/build.sh debug|release
# Without cargo-leptos: cargo for wasm32, wasm-bindgen, wasm-opt (release), then
# the server. The server is told the bundle's name and place at run time; without
# LEPTOS_OUTPUT_NAME at compile time, Leptos loads wasm-bindgen's own `NAME_bg.wasm`.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-debug}"
: "${CARGO_TARGET_DIR:?set CARGO_TARGET_DIR (the Makefile does)}"
TOOLS="${STRONGROOM_TOOLS:-$HOME/.cache/strongroom/tools}"
site=target/site
wasm_flags=(-p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate)

case "$profile" in
  debug) cargo build "${wasm_flags[@]}"; wasm_dir=debug; server_flags=() ;;
  release) cargo build "${wasm_flags[@]}" --profile wasm-release; wasm_dir=wasm-release; server_flags=(--release) ;;
  *) echo "usage: $0 debug|release" >&2; exit 2 ;;
esac

rm -rf "$site" && mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name strongroom \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/app.wasm"
if [ "$profile" = release ]; then
  "$TOOLS/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    -o "$site/pkg/strongroom_bg.wasm" "$site/pkg/strongroom_bg.wasm"
fi
cp style/main.css "$site/pkg/strongroom.css"
cp -r public/. "$site/"
if [ "$profile" = release ]; then
  # Precompressed copies beside each bundle file, chosen by Accept-Encoding (see server/src/assets.rs).
  for f in "$site"/pkg/*.wasm "$site"/pkg/*.js "$site"/pkg/*.css; do
    brotli -q 11 -k -f "$f"
    gzip -9 -k -f "$f"
  done
fi

# After the site: a release server embeds it (rust-embed).
cargo build -p strongroom "${server_flags[@]}"
