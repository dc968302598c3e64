#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL (scripts/postgres.sh) for its
# duration: STRONGROOM_TEST_DATABASE_URL names it (tests make a fresh
# database each). Stopped and removed however the command ends.
#   scripts/with-postgres.sh cargo test --workspace
set -euo pipefail
here="$(dirname "$0")"
parent="$(mktemp -d "${TMPDIR:-/tmp}/strongroom-pg.XXXXXX")"
chmod 0755 "$parent" # the cluster inside belongs to `postgres` when run as root
trap 'bash "$here/postgres.sh" stop "$parent/pg"; rm -rf "$parent"' EXIT
STRONGROOM_TEST_DATABASE_URL="$(bash "$here/postgres.sh" start "$parent/pg")"
export STRONGROOM_TEST_DATABASE_URL
"$@"
