#!/usr/bin/env bash
# SCIM replay test: Entra ID and Okta traffic (idp_replay.json) against the real tesserad.
#
#   run_replay_test.sh TESSERAD SOURCE_DIR [REPLAY_ARGS...]
#
# harness.sh makes the tokens (scim-idp: connector bound to source scim-test; ops: admin
# and reader, for the gRPC checks), the principals file and a configuration registering
# scim-test, and starts TESSERAD on a throwaway database with its gRPC and HTTP listeners
# on loopback port 0; then replay.py runs with /usr/bin/python3 (Debian's python3-grpcio,
# python3-grpc-tools), and tesserad is stopped with SIGTERM. REPLAY_ARGS (e.g. -v,
# --only entra-groups) go to replay.py.
# Exit status: replay.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
harness_init scim_replay_test "$@"
FIXTURE="$HARNESS_SRC/tests/scim/idp_replay.json"
[ -f "$FIXTURE" ] || harness_fail "no fixture at $FIXTURE"
harness_token OPS_TOKEN ops admin,reader
harness_start
harness_run_python "$HARNESS_SRC/tests/scim/replay.py" --fixture "$FIXTURE"
harness_finish
