#!/bin/bash
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan + UBSan) and runs each for a
# while, one after another, then prints one table. tests/fuzz/README.md explains.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tests/fuzz/run.sh [--minutes N] [--jobs J] [target ...]

Configures build-fuzz/ (clang, -DTESSERA_FUZZ=ON, ccache), builds the named fuzz
targets (default: all of them), and runs each for N minutes, one after another, from a
working corpus in build-fuzz/fuzz-corpus/<target>/ (the seed corpus copied in; the
seed folders under tests/fuzz/ are never written). Crashes, leaks, timeouts and
out-of-memory inputs go to build-fuzz/fuzz-artifacts/<target>/. Prints a table:
target | seconds | executions | corpus size | crashes.

  --minutes N   how long each target runs (default 1; fractions like 0.5 work)
  --jobs J      build jobs, and fuzzing processes per target (default 1). With J > 1
                libFuzzer runs in fork mode and goes on after a crash; with 1 it
                stops at the first one
  -h, --help    this help

Targets: fragment_fuzz message_fuzz http_fuzz csv_fuzz ingest_fuzz ldap_fuzz page_fuzz
social_fuzz config_fuzz query_fuzz

Exit status: 0 when no target crashed, 1 when one did, 2 on a usage error. Needs
clang and libclang-rt-14-dev (Debian); run it with `nice -n 19` on a shared machine.
EOF
}

# target -> seed folder (relative to tests/fuzz), and the largest input worth trying.
declare -A SEEDS=(
  [fragment_fuzz]=corpus [message_fuzz]=message_corpus [http_fuzz]=http_corpus
  [csv_fuzz]=csv_corpus [ingest_fuzz]=ingest_corpus [ldap_fuzz]=ldap_corpus
  [page_fuzz]=page_corpus [social_fuzz]=social_corpus [config_fuzz]=config_corpus
  [query_fuzz]=query_corpus [helpdesk_fuzz]=helpdesk_corpus [crm_fuzz]=crm_corpus
)
declare -A MAX_LEN=(
  [fragment_fuzz]=4096 [message_fuzz]=16384 [http_fuzz]=8192
  [csv_fuzz]=65536 [ingest_fuzz]=65536 [ldap_fuzz]=16384
  [page_fuzz]=65536 [social_fuzz]=65536 [config_fuzz]=16384
  [query_fuzz]=16384 [helpdesk_fuzz]=65536 [crm_fuzz]=65536
)
ALL_TARGETS=(fragment_fuzz message_fuzz http_fuzz csv_fuzz ingest_fuzz ldap_fuzz page_fuzz
  social_fuzz helpdesk_fuzz crm_fuzz config_fuzz query_fuzz)

minutes=1
jobs=1
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "run.sh: --minutes needs a number" >&2; exit 2; }
      minutes="$2"
      shift 2
      ;;
    --jobs)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --jobs needs a positive integer" >&2; exit 2; }
      jobs="$2"
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*)
      echo "run.sh: unknown option '$1' (see --help)" >&2
      exit 2
      ;;
    *)
      [[ -n "${SEEDS[$1]:-}" ]] || { echo "run.sh: unknown target '$1' (see --help)" >&2; exit 2; }
      targets+=("$1")
      shift
      ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$root/build-fuzz"
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60 + 0.5); print (s < 1 ? 1 : s) }')

cd "$root"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DTESSERA_FUZZ=ON -DTESSERA_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
for t in "${targets[@]}"; do
  cmake --build build-fuzz -j"$jobs" --target "$t"
done

rows=()
crashed=0
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  scratch="$build/fuzz-tmp/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$scratch" "$(dirname "$log")"
  # The seeds join whatever earlier runs found; the seed folder itself is only read.
  cp -n "$root/tests/fuzz/${SEEDS[$t]}"/* "$corpus"/
  stamp="$build/fuzz-logs/$t.start"
  touch "$stamp"
  args=(-max_total_time="$seconds" -max_len="${MAX_LEN[$t]}" -timeout=10 -rss_limit_mb=2048
    -artifact_prefix="$artifacts/" -print_final_stats=1)
  if [[ "$jobs" -gt 1 ]]; then
    args+=(-fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  echo "== $t: ${seconds}s, corpus $corpus, artifacts $artifacts/" >&2
  start=$(date +%s)
  set +e
  TMPDIR="$scratch" "$build/tests/fuzz/$t" "${args[@]}" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(($(date +%s) - start))
  rm -rf "$scratch"
  # Plain mode prints stat::number_of_executed_units; fork mode "#<runs>: cov: ...".
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [[ -z "$execs" ]]; then
    execs=$(sed -n 's/^#\([0-9][0-9]*\)[: \t].*/\1/p' "$log" | tail -n 1)
  fi
  size=$(find "$corpus" -type f | wc -l)
  found=$(find "$artifacts" -maxdepth 1 -type f -newer "$stamp" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if [[ "$found" -eq 0 && "$rc" -ne 0 ]]; then
    found=1  # died without writing an input (the log says why)
  fi
  [[ "$found" -eq 0 ]] || crashed=1
  rows+=("$t|$elapsed|${execs:-?}|$size|$found")
  if [[ "$found" -ne 0 ]]; then
    echo "== $t: $found crash(es); log $log" >&2
    grep -m 3 -E '^(==[0-9]+==ERROR|SUMMARY|fuzz property violated|.*runtime error)' "$log" >&2 || true
  fi
done

printf '\n%-14s | %7s | %11s | %11s | %7s\n' target seconds executions "corpus size" crashes
printf '%s\n' "---------------|---------|-------------|-------------|--------"
for row in "${rows[@]}"; do
  IFS='|' read -r t s e c k <<<"$row"
  printf '%-14s | %7s | %11s | %11s | %7s\n' "$t" "$s" "$e" "$c" "$k"
done
exit "$crashed"
