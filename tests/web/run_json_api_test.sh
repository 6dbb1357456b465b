#!/usr/bin/env bash
# JSON API test: the sample organisation loaded with `tessera ingest`, then every call of
# /api/v1/ compared with the same gRPC call for an agent and a reader, a hand-over, the
# face's refusals and the audit log; json_api.py says what it checks.
#
#   run_json_api_test.sh TESSERAD TESSERA_CLI SOURCE_DIR [JSON_API_ARGS...]
#
# It uses tests/scim/harness.sh: tokens (web-agent: agent; web-reader: reader; ops:
# admin, reader and auditor; loader: connector of the sample's sources), the sample's sources in a configuration, and TESSERAD on a
# throwaway database with its gRPC and HTTP listeners on loopback port 0.
# Exit status: json_api.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 TESSERAD TESSERA_CLI SOURCE_DIR [ARGS...]" >&2; exit 2; }
CLI=$2
TESSERAD=$1
shift 2
source "$(dirname "${BASH_SOURCE[0]}")/../scim/harness.sh"
harness_init json_api_test "$TESSERAD" "$@"
[ -x "$CLI" ] || harness_fail "the tessera command '$CLI' is not an executable"
harness_source hr csv 90
harness_source ldap ldap 80
harness_source crm crm 60
harness_source helpdesk helpdesk 50
harness_source wiki knowledge 45
harness_source social social 40
harness_token OPS_TOKEN ops admin,reader,auditor
harness_token AGENT_TOKEN web-agent agent
harness_token READER_TOKEN web-reader reader
harness_token LOADER_TOKEN loader connector hr,ldap,crm,helpdesk,wiki,social
HARNESS_TESSERAD_ARGS=(--default-region FR)  # the sample bank is French
harness_start
harness_run_python "$HARNESS_SRC/tests/web/json_api.py" --cli "$CLI" \
  --agent-token="$AGENT_TOKEN" --reader-token="$READER_TOKEN" --loader-token="$LOADER_TOKEN"
harness_finish
