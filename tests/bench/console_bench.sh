#!/usr/bin/env bash
# The console's latency beside FindExperts' (README "Benchmarks"):
#
#   tests/bench/console_bench.sh [--messages N]     (after deploy/build.sh)
#
# Starts tesserad on a throwaway database with the sample organisation (through
# tests/scim/harness.sh), then console_bench.py times each message in headless Chromium
# and over gRPC and prints a table.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TESSERA_BUILD_DIR:-$ROOT/build}
source "$ROOT/tests/scim/harness.sh"
harness_init console_bench "$BUILD/server/app/tesserad" "$ROOT" "$@"
for s in "hr csv 90" "ldap ldap 80" "crm crm 60" "helpdesk helpdesk 50" "wiki knowledge 45" "social social 40"; do
  # shellcheck disable=SC2086
  harness_source $s
done
harness_token AGENT_TOKEN bench-agent agent,reader
harness_token LOADER_TOKEN loader connector hr,ldap,crm,helpdesk,wiki,social
HARNESS_TESSERAD_ARGS=(--default-region FR)
harness_start
harness_run_python "$ROOT/tests/bench/console_bench.py" --cli "$BUILD/client/cli/tessera" \
  --agent-token="$AGENT_TOKEN" --loader-token="$LOADER_TOKEN"
harness_finish
