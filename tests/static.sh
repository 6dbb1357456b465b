#!/usr/bin/env bash
# Static checks, run by tests/run.sh (and so CI) before the builds' tests:
#
#   tests/static.sh [format] [layering] [tidy]     (all three when none is named)
#
#   format    every tracked .h/.cc is as clang-format 14 and .clang-format would write it
#             (fix: git ls-files '*.h' '*.cc' | xargs clang-format -i)
#   layering  no #include points up the layers (tests/layering.py, also a CTest test)
#   tidy      clang-tidy 14 with .clang-tidy, any finding an error, over the translation
#             units that changed since the commit named in tests/tidy-baseline (the last
#             commit whose whole tree was checked clean): a unit counts as changed when it,
#             or a header it includes (its depfile says which), differs from that commit.
#             Every unit when .clang-tidy or this script changed, or the baseline is not
#             in the history. This is the CI step (tests/run.sh, after the ASan build).
#   tidy-all  clang-tidy over every unit (~25 min on 2 cores); when clean, write HEAD's
#             commit to tests/tidy-baseline and commit it.
#   Both need a configured clang build for compile_commands.json and the generated
#   protobuf headers: TESSERA_TIDY_DIR (default build-asan, made by tests/sanitize.sh).
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
    tidy | tidy-all)
      dir=${TESSERA_TIDY_DIR:-build-asan}
      if [ ! -f "$dir/compile_commands.json" ]; then
        echo "static: tidy: no $dir/compile_commands.json; run tests/sanitize.sh asan first" >&2
        exit 1
      fi
      start=$(date +%s)
      base=""
      [ "$c" = tidy ] && base=$(tr -d '[:space:]' <tests/tidy-baseline 2>/dev/null || true)
      # The units to check, one absolute path per line (tests/tidy_units.py says why).
      units=$(python3 tests/tidy_units.py "$dir" "$base")
      n=$(printf '%s' "$units" | grep -c . || true)
      if [ "$n" = 0 ]; then
        echo "static: tidy: no unit changed since the clean baseline ${base:0:12}"
        continue
      fi
      # Only our sources (not the generated protobuf code); -quiet prints findings only.
      mapfile -t patterns < <(printf '%s\n' "$units" | sed 's/[.+]/\\&/g; s/^/^/; s/$/$/')
      run-clang-tidy -p "$dir" -quiet -j "${TESSERA_JOBS:-$(nproc)}" "${patterns[@]}" \
        >"$dir/clang-tidy.log" 2>&1 || {
        sed 's/\x1b\[[0-9;]*m//g' "$dir/clang-tidy.log" | grep -E 'error:|warning:' | sort -u |
          head -100 >&2
        echo "static: tidy: findings above (whole log: $dir/clang-tidy.log)" >&2
        exit 1
      }
      echo "static: tidy: clean, $n of $(python3 tests/tidy_units.py "$dir" | wc -l) units" \
        "in $(($(date +%s) - start)) s${base:+ (those changed since ${base:0:12})}"
      ;;
    -h|--help)
      sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
      ;;
    *)
      echo "static: unknown check '$c' (format, layering, tidy, tidy-all; --help)" >&2
      exit 2
      ;;
  esac
done
