#!/usr/bin/env bash
# SCIM bad-input test: bad requests against the real tesserad are refused with the right
# status and SCIM error, and write nothing (bad_input.py says what each case checks).
#
#   run_bad_input_test.sh TESSERAD SOURCE_DIR [BAD_INPUT_ARGS...]
#
# harness.sh makes the tokens, the principals file and a configuration registering the
# sources scim-test and other-src, and starts TESSERAD on a throwaway database with its
# gRPC and HTTP listeners on loopback port 0. Tokens: scim-idp (connector bound to
# scim-test), ops (admin, reader: the gRPC checks), reader-only (reader: must get 403),
# other-idp (connector bound to other-src: must get 403 on scim-test), audit (auditor:
# reads the audit log). BAD_INPUT_ARGS (e.g. -v, --only 'PATCH') go to bad_input.py.
# Exit status: bad_input.py's; 1 as well when tesserad does not stop cleanly.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
harness_init scim_bad_input_test "$@"
harness_source other-src employee 40
harness_token OPS_TOKEN ops admin,reader
harness_token READER_TOKEN reader-only reader
harness_token OTHER_TOKEN other-idp connector other-src
harness_token AUDITOR_TOKEN audit auditor
HARNESS_HTTP_CONFIG='"read_timeout_ms": 1500'  # the 408 case waits this long
harness_start
harness_run_python "$HARNESS_SRC/tests/scim/bad_input.py" \
  --reader-token="$READER_TOKEN" --reader-principal reader-only \
  --other-token="$OTHER_TOKEN" --other-principal other-idp \
  --auditor-token="$AUDITOR_TOKEN"
harness_finish
