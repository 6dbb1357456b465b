#!/usr/bin/env bash
# SCIM concurrency test: 16 threads PATCH one group's members at once (none lost), and 16
# threads POST one userName in different cases at once (one user made, the rest 409);
# concurrency.py says what it checks, over SCIM and over gRPC.
#
#   run_concurrency_test.sh TESSERAD SOURCE_DIR [CONCURRENCY_ARGS...]
#
# harness.sh makes the tokens (scim-idp: connector bound to scim-test; ops: admin and
# reader, for the gRPC checks), the principals file and a configuration registering
# scim-test, and starts TESSERAD on a throwaway database with its gRPC and HTTP listeners
# on loopback port 0. CONCURRENCY_ARGS (e.g. -v, --seed N, --threads 8) go to
# concurrency.py.
# Exit status: concurrency.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
harness_init scim_concurrency_test "$@"
harness_token OPS_TOKEN ops admin,reader
harness_start
harness_run_python "$HARNESS_SRC/tests/scim/concurrency.py"
harness_finish
