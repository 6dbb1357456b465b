#!/usr/bin/env bash
# Configures and builds Tessera in build/ with ccache: `deploy/build.sh [targets...]`
# (all targets when none are named). Used by quickstart.sh and tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TESSERA_BUILD_DIR:-build}
JOBS=${TESSERA_JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DTESSERA_WERROR=ON >/dev/null
if [ $# -eq 0 ]; then
  cmake --build "$BUILD_DIR" -j"$JOBS"
else
  for t in "$@"; do cmake --build "$BUILD_DIR" -j"$JOBS" --target "$t"; done
fi
