#!/usr/bin/env bash
# SCIM erasure test: a user provisioned over SCIM is erased with Admin.Erase, and her
# resource, indexes and memberships leave the SCIM store too; provisioning her again is
# refused with an actionable 403. erasure.py says what it checks, over SCIM and gRPC.
#
#   run_erasure_test.sh TESSERAD SOURCE_DIR [ERASURE_ARGS...]
#
# harness.sh makes the tokens (scim-idp: connector bound to scim-test; ops: admin, reader
# and auditor, for Erase, the gRPC checks and the audit log), the principals file and a
# configuration registering scim-test, and starts TESSERAD on a throwaway database with
# its gRPC and HTTP listeners on loopback port 0. ERASURE_ARGS (e.g. -v) go to erasure.py.
# Exit status: erasure.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
harness_init scim_erasure_test "$@"
harness_token OPS_TOKEN ops admin,reader,auditor
harness_start
harness_run_python "$HARNESS_SRC/tests/scim/erasure.py"
harness_finish
