#!/usr/bin/env bash
# Accessibility test: the sample organisation loaded with `tessera ingest`, then the web
# console in headless Chromium (Selenium) checked with axe-core (vendored in
# tests/web/vendor) on the sign-in, main, profile and search screens in English and
# French, and the main flow done with the keyboard only; a11y.py says what it checks.
#
#   run_a11y_test.sh TESSERAD TESSERA_CLI SOURCE_DIR [A11Y_ARGS...]
#
# A11Y_ARGS: e.g. -v (every case, and the minor and moderate violations as information).
#
# It uses tests/scim/harness.sh: tokens (web-agent: agent; loader: connector of the
# sample's sources), the sample's sources in a configuration, and TESSERAD on a throwaway
# database with its gRPC and HTTP listeners on loopback port 0.
# Exit status: a11y.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 TESSERAD TESSERA_CLI SOURCE_DIR [ARGS...]" >&2; exit 2; }
CLI=$2
TESSERAD=$1
shift 2
source "$(dirname "${BASH_SOURCE[0]}")/../scim/harness.sh"
harness_init a11y_test "$TESSERAD" "$@"
[ -x "$CLI" ] || harness_fail "the tessera command '$CLI' is not an executable"
harness_source hr csv 90
harness_source ldap ldap 80
harness_source crm crm 60
harness_source helpdesk helpdesk 50
harness_source wiki knowledge 45
harness_source social social 40
harness_token AGENT_TOKEN web-agent agent
harness_token LOADER_TOKEN loader connector hr,ldap,crm,helpdesk,wiki,social
HARNESS_TESSERAD_ARGS=(--default-region FR)  # the sample bank is French
harness_start
harness_run_python "$HARNESS_SRC/tests/web/a11y.py" --cli "$CLI" \
  --agent-token="$AGENT_TOKEN" --loader-token="$LOADER_TOKEN"
harness_finish
