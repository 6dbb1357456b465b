#!/usr/bin/env bash
# The README's second command: installs the Debian packages, builds everything and
# runs the whole CTest suite (unit, integration with the real tesserad, crash test,
# fuzz-corpus replay, benchmark smoke runs). Extra arguments go to ctest, e.g.
# `tests/run.sh -L unit` or `tests/run.sh -R server_test`.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
deploy/build.sh
ctest --test-dir "${TESSERA_BUILD_DIR:-build}" --output-on-failure -j2 --timeout 900 "$@"
