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
# It uses tests/scim/harness.sh and sample.sh: the sample's sources and tokens (sample.sh
# says which), and TESSERAD on a throwaway database with its gRPC and HTTP listeners on
# loopback port 0.
# Exit status: a11y.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../scim/harness.sh"
source "$(dirname "${BASH_SOURCE[0]}")/sample.sh"
web_runner a11y_test tests/web/a11y.py "$@"
