#!/usr/bin/env bash
# The README's second command, and what CI runs (.ci/run): installs the Debian
# packages, then
#   1. static checks: clang-format and layering            (tests/static.sh)
#   2. the GCC build with -Werror and the whole CTest suite (unit, integration with the
#      real tesserad, slapd, Samba AD DC, Chromium, crash test, fuzz-corpus replay,
#      benchmark smoke runs)
#   3. the clang AddressSanitizer + UBSan build, and the unit and integration tests
#      under it                                             (tests/sanitize.sh asan)
#   4. clang-tidy over the units changed since the last whole-tree clean run
#      (tests/tidy-baseline), with step 3's compile database  (tests/static.sh tidy)
# and prints what each step cost. Extra arguments go to step 2's ctest only and skip
# steps 3 and 4, e.g. `tests/run.sh -L unit` or `tests/run.sh -R server_test`.
# ThreadSanitizer (tests/sanitize.sh tsan) and clang-tidy over the whole tree
# (tests/static.sh tidy-all) are separate commands: README "Safety checks".
set -euo pipefail
cd "$(dirname "$0")/.."
declare -a COST=()
step() {
  local name=$1 start
  shift
  start=$(date +%s)
  "$@"
  COST+=("$(printf '%-44s %5d s' "$name" $(($(date +%s) - start)))")
}
step "install-deps" deploy/install-deps.sh
step "static: format, layering" tests/static.sh format layering
step "build (GCC, -Werror)" deploy/build.sh
step "ctest (GCC build)" \
  ctest --test-dir "${TESSERA_BUILD_DIR:-build}" --output-on-failure -j2 --timeout 900 "$@"
if [ $# -eq 0 ]; then
  step "ASan+UBSan: build and unit+integration tests" tests/sanitize.sh asan
  step "static: clang-tidy (changed since baseline)" tests/static.sh tidy
fi
echo "tests/run.sh: all passed; cost per step:"
printf '  %s\n' "${COST[@]}"
