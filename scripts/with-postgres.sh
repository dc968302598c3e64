#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL (scripts/postgres.sh) for its
# duration: STRONGROOM_TEST_DATABASE_URL names it (tests make a fresh
# database each). Stopped and removed however the command ends.
#   scripts/with-postgres.sh cargo test --workspace
set -euo pipefail
here="$(dirname "$0")"
dir="$(mktemp -u -d "${TMPDIR:-/tmp}/strongroom-pg.XXXXXX")"
trap 'bash "$here/postgres.sh" stop "$dir"' EXIT
STRONGROOM_TEST_DATABASE_URL="$(bash "$here/postgres.sh" start "$dir")"
export STRONGROOM_TEST_DATABASE_URL
"$@"
