# The two commands a newcomer needs: `make run` and `make test`.
# Build output lives outside the clone so that every clone (and CI) reuses it.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
export CARGO_TARGET_DIR ?= $(HOME)/.cache/strongroom/target
export STRONGROOM_TOOLS ?= $(HOME)/.cache/strongroom/tools
WASM := --target wasm32-unknown-unknown --no-default-features --features hydrate

.PHONY: run dev test setup build-release build-debug lint unit e2e deb deb-check deb-test bench drill clean

## make run: set up, build (release), serve on 127.0.0.1:3000 with data in ./data
run: setup build-release
	$(CARGO_TARGET_DIR)/release/strongroom serve

## make dev: debug build, served like `make run`
dev: setup build-debug
	$(CARGO_TARGET_DIR)/debug/strongroom serve

## make test: set up, then format, lints (both builds), unit + HTTP tests, browser tests
test: setup lint unit e2e deb-check

setup:
	scripts/setup.sh

build-release:
	scripts/build.sh release

build-debug:
	scripts/build.sh debug

lint:
	cargo fmt --all --check
	python3 scripts/layers.py
	python3 scripts/drift.py
	$(STRONGROOM_TOOLS)/bin/typos
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --lib $(WASM) -- -D warnings

# One throw-away PostgreSQL for the run (the engine tests make a database each).
# Then the server suites again with every server on PostgreSQL (a database
# each), but for the few that read SQLite's own files (the file's bytes,
# SQLite triggers, Litestream, backups, crash and full-disk drills).
PG_SUITES := approle:: jwt:: http:: v1:: namespaces:: audit:: auth:: versions:: catalog:: clients:: keys:: metrics:: hardening:: reads:: fingerprints:: webhooks:: stream::udp stream::tls stream::two_nodes
PG_SKIP := --skip hardening::item_12 --skip hardening::item_17 --skip hardening::item_19
unit:
	scripts/with-postgres.sh bash -c 'cargo test --workspace && \
	  STRONGROOM_TEST_ENGINE=postgres cargo test -p strongroom --test it -- $(PG_SUITES) $(PG_SKIP)'

# Browser tests run against the release build: it is what `make run` serves,
# and it catches a broken wasm optimizer.
e2e: build-release
	scripts/e2e.sh $(CARGO_TARGET_DIR)/release/strongroom

## make deb: the Debian package, from the release binary (not built twice)
deb: build-release
	scripts/deb.sh $(CARGO_TARGET_DIR)/release/strongroom

# The package checked without installing it (part of `make test`).
deb-check: build-release
	scripts/deb-check.sh $(CARGO_TARGET_DIR)/release/strongroom

## make deb-test: install, use, upgrade and purge the package for real (as root; slow)
deb-test: build-release
	scripts/deb-test.sh $(CARGO_TARGET_DIR)/release/strongroom

## make bench: figures (sizes, memory), printed
bench: setup build-release
	scripts/bench.sh $(CARGO_TARGET_DIR)/release/strongroom

## make drill: the failover drill (about 2 minutes; not part of make test): two nodes on
## PostgreSQL kept by pg_auto_failover, the primary killed, then one node killed
drill: setup build-release
	scripts/drill.sh $(CARGO_TARGET_DIR)/release/strongroom

clean:
	rm -rf target/site
