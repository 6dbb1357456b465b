#!/usr/bin/env bash
# The console's latency beside FindExperts' (README "Benchmarks"):
#
#   tests/bench/console_bench.sh [--messages N] [--db DIR]     (after deploy/build.sh)
#
# Starts tesserad on a throwaway database with the sample organisation (through
# tests/scim/harness.sh), then console_bench.py times each message in headless Chromium
# and over gRPC and prints a table. --db DIR serves an existing database instead, e.g.
# the 2M-evidence one `expertise_bench --keep-db DIR` leaves (nothing is loaded; the
# sample's messages are the queries).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TESSERA_BUILD_DIR:-$ROOT/build}
ARGS=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--db" ]; then
    [ $# -ge 2 ] && [ -d "$2" ] || { echo "console_bench: --db needs an existing database folder" >&2; exit 2; }
    HARNESS_DB=$(cd "$2" && pwd)
    ARGS+=(--no-load --label "database $2")
    shift 2
  else
    ARGS+=("$1")
    shift
  fi
done
source "$ROOT/tests/scim/harness.sh"
source "$ROOT/tests/web/sample.sh"
harness_init console_bench "$BUILD/server/app/tesserad" "$ROOT" ${ARGS[@]+"${ARGS[@]}"}
web_sample_start "$BUILD/client/cli/tessera"
web_run_python "$ROOT/tests/bench/console_bench.py"
harness_finish
