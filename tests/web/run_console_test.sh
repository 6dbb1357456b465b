#!/usr/bin/env bash
# Console test: the sample organisation loaded with `tessera ingest`, then the web console
# driven in headless Chromium (Selenium): sign-in, the main flow, hostile text, sign-out,
# a reader, screenshots; console.py says what it checks.
#
#   run_console_test.sh TESSERAD TESSERA_CLI SOURCE_DIR [CONSOLE_ARGS...]
#
# CONSOLE_ARGS: e.g. --screenshots DIR (the screens as PNG), -v.
#
# It uses tests/scim/harness.sh and sample.sh: the sample's sources and tokens (sample.sh
# says which), and TESSERAD on a throwaway database with its gRPC and HTTP listeners on
# loopback port 0.
# Exit status: console.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../scim/harness.sh"
source "$(dirname "${BASH_SOURCE[0]}")/sample.sh"
web_runner console_test tests/web/console.py "$@"
