#!/usr/bin/env bash
# Builds Tessera with clang under sanitizers in its own folder and runs the tests there.
#
#   tests/sanitize.sh [asan|tsan] [ctest arguments...]
#
#   asan  AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer, in build-asan/;
#         runs the unit and integration tests (ctest -L 'unit|integration') unless ctest
#         arguments are given. tests/run.sh (and so CI) runs this.
#   tsan  ThreadSanitizer, in build-tsan/; runs the concurrent tests (server, ingest with
#         several streams, audit group commit, Watch, connectors with batches in flight,
#         SCIM under concurrent PATCH, the HTTP listener) unless ctest arguments are given.
#
# The first report fails the test: UBSan does not recover, ASan and TSan exit non-zero.
# Known-benign reports are suppressed in tests/sanitizers/*.supp, each with its reason.
# Builds use ccache and -Werror, without the benchmarks. See README "Sanitizers".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=${1:-asan}
[ $# -gt 0 ] && shift
case "$MODE" in
  asan)
    DIR=${TESSERA_ASAN_DIR:-build-asan}
    SANITIZE=address,undefined
    DEFAULT_ARGS=(-L 'unit|integration')
    ;;
  tsan)
    DIR=${TESSERA_TSAN_DIR:-build-tsan}
    SANITIZE=thread
    DEFAULT_ARGS=(-R 'server_test|directory_test|security_test|crash_test|csv_connector_test|helpdesk_connector_test|ldap_connector_test|scim_concurrency_test|scim_replay_test|session_test|json_api_test')
    ;;
  -h|--help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "sanitize.sh: unknown mode '$MODE' (asan or tsan; --help)" >&2
    exit 2
    ;;
esac
[ $# -gt 0 ] && DEFAULT_ARGS=("$@")

CC=clang CXX=clang++ cmake -S . -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DTESSERA_WERROR=ON -DTESSERA_BUILD_BENCH=OFF \
  -DTESSERA_SANITIZE="$SANITIZE" >/dev/null
cmake --build "$DIR" -j"${TESSERA_JOBS:-$(nproc)}"

SUPP=$ROOT/tests/sanitizers
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
export LSAN_OPTIONS=suppressions=$SUPP/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp
export TSAN_OPTIONS=suppressions=$SUPP/tsan.supp:halt_on_error=1:second_deadlock_stack=1:history_size=4
if [ "$MODE" = tsan ]; then
  # Every process a test starts (tesserad, tessera-connect, the CLI) writes its reports
  # here, where the harnesses' captured logs would hide them; they are shown at the end.
  REPORTS=$ROOT/$DIR/tsan-reports
  rm -rf "$REPORTS" && mkdir -p "$REPORTS"
  export TSAN_OPTIONS=$TSAN_OPTIONS:log_path=$REPORTS/report
fi
status=0
ctest --test-dir "$DIR" --output-on-failure -j2 --timeout 1200 "${DEFAULT_ARGS[@]}" || status=$?
if [ "$MODE" = tsan ] && compgen -G "$REPORTS/report.*" >/dev/null; then
  cat "$REPORTS"/report.* >&2
  echo "sanitize.sh: ThreadSanitizer reports from $(ls "$REPORTS" | wc -l) processes above" \
    "($REPORTS)" >&2
  status=1
fi
exit $status
