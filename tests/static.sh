#!/usr/bin/env bash
# Static checks, run by tests/run.sh (and so CI) before the builds' tests:
#
#   tests/static.sh [format] [layering] [tidy]     (all three when none is named)
#
#   format    every tracked .h/.cc is as clang-format 14 and .clang-format would write it
#             (fix: git ls-files '*.h' '*.cc' | xargs clang-format -i)
#   layering  no #include points up the layers (tests/layering.py, also a CTest test)
#   tidy      clang-tidy 14 with .clang-tidy over every translation unit of ours, any
#             finding an error. Needs a configured clang build for compile_commands.json:
#             TESSERA_TIDY_DIR (default build-asan, which tests/sanitize.sh makes).
set -euo pipefail
cd "$(dirname "$0")/.."
checks=("$@")
[ ${#checks[@]} -eq 0 ] && checks=(format layering tidy)
for c in "${checks[@]}"; do
  case "$c" in
    format)
      bad=$(git ls-files '*.h' '*.cc' | xargs clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
      if [ "$bad" != "0" ]; then
        git ls-files '*.h' '*.cc' | xargs clang-format --dry-run 2>&1 | grep 'warning:' | cut -d: -f1 | sort -u >&2
        echo "static: format: $bad lines differ from .clang-format in the files above" >&2
        exit 1
      fi
      echo "static: format: $(git ls-files '*.h' '*.cc' | wc -l) files as clang-format writes them"
      ;;
    layering)
      python3 tests/layering.py
      ;;
    tidy)
      dir=${TESSERA_TIDY_DIR:-build-asan}
      if [ ! -f "$dir/compile_commands.json" ]; then
        echo "static: tidy: no $dir/compile_commands.json; run tests/sanitize.sh asan first" >&2
        exit 1
      fi
      start=$(date +%s)
      # Only our sources (not the generated protobuf code); -quiet prints findings only.
      run-clang-tidy -p "$dir" -quiet -j "${TESSERA_JOBS:-$(nproc)}" \
        "$PWD/(server|connectors|client|tests)/.*\.cc\$" >"$dir/clang-tidy.log" 2>&1 || {
        grep -E 'error:|warning:' "$dir/clang-tidy.log" | sort -u | head -100 >&2
        echo "static: tidy: findings above (whole log: $dir/clang-tidy.log)" >&2
        exit 1
      }
      echo "static: tidy: clean, $(grep -c '"file"' "$dir/compile_commands.json") units in $(( $(date +%s) - start )) s"
      ;;
    -h|--help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      ;;
    *)
      echo "static: unknown check '$c' (format, layering, tidy; --help)" >&2
      exit 2
      ;;
  esac
done
