#!/usr/bin/env bash
# JSON API test: the sample organisation loaded with `tessera ingest`, then every call of
# /api/v1/ compared with the same gRPC call for an agent and a reader, a hand-over, the
# face's refusals and the audit log; json_api.py says what it checks.
#
#   run_json_api_test.sh TESSERAD TESSERA_CLI SOURCE_DIR [JSON_API_ARGS...]
#
# It uses tests/scim/harness.sh and sample.sh: the sample's sources and tokens (sample.sh
# says which), and TESSERAD on a throwaway database with its gRPC and HTTP listeners on
# loopback port 0.
# Exit status: json_api.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../scim/harness.sh"
source "$(dirname "${BASH_SOURCE[0]}")/sample.sh"
web_runner json_api_test tests/web/json_api.py "$@"
