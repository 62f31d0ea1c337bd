#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs every libFuzzer target in tests/fuzz/ for a bounded time.
#
# Usage: tools/run-fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
#   SECONDS_PER_TARGET  default 5 (the test command's tier); give minutes for a
#                       real campaign, e.g. tools/run-fuzz.sh 600
#   BUILD_DIR           default build-fuzz: a clang build dir with -Dfuzzing=true
#   FUZZ_TARGETS="live-json query"  runs only those targets.
#
# Each target starts from a scratch copy of its seed corpus
# (tests/fuzz/corpus/TARGET) plus its regression inputs
# (tests/fuzz/regressions/TARGET), so the committed corpus never changes.
# Prints one line per target (execs, coverage, result) and exits non-zero on
# any crash, leak, timeout or broken invariant. A finding is saved under
# BUILD_DIR/fuzz-work/TARGET/; copy it to tests/fuzz/regressions/TARGET/ and
# fix the bug, and the regular build replays it for ever (suite fuzz-replay).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-5}
build=${2:-build-fuzz}
[[ "$seconds" =~ ^[0-9]+$ ]] || {
  echo "run-fuzz: SECONDS_PER_TARGET must be a whole number" >&2
  exit 2
}

if [[ ! -f "$build/build.ninja" ]]; then
  command -v clang++ >/dev/null || {
    echo "run-fuzz: clang++ not found (libFuzzer needs clang)" >&2
    exit 1
  }
  echo "run-fuzz: configuring $build with clang"
  CC=clang CXX=clang++ meson setup "$build" -Dfuzzing=true -Dpocketsphinx=disabled \
    -Dbuildtype=debugoptimized >"$build.setup.log" 2>&1 || {
    cat "$build.setup.log" >&2
    exit 1
  }
  rm -f "$build.setup.log"
fi

# The libFuzzer executables: fuzz-NAME, not the fuzz-replay-NAME tests.
mapfile -t targets < <(meson introspect --targets "$build" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    n = t["name"]
    if t["type"] == "executable" and n.startswith("fuzz-") and not n.startswith("fuzz-replay-"):
        print(n[len("fuzz-"):])
' | sort)
((${#targets[@]} > 0)) || {
  echo "run-fuzz: no fuzz targets in $build (is it a clang build with -Dfuzzing=true?)" >&2
  exit 1
}
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
fi
ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}" >/dev/null

# Inputs bigger than this add nothing but time for these parsers.
max_len_for() {
  case "$1" in
  live-json | prerecorded-json | emu-faults) echo 8192 ;;
  wav-writer | emu-wav-reader) echo 4096 ;;
  *) echo 2048 ;;
  esac
}

work="$build/fuzz-work"
failed=0
for name in "${targets[@]}"; do
  exe="$build/tests/fuzz/fuzz-$name"
  dir="$work/$name"
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  for src in "tests/fuzz/corpus/$name" "tests/fuzz/regressions/$name"; do
    [[ -d "$src" ]] && find "$src" -maxdepth 1 -type f ! -name '.*' ! -name 'README*' \
      -exec cp {} "$dir/corpus/" \;
  done
  log="$dir/fuzz.log"
  rc=0
  # -timeout: one input over 10 s is a hang; -rss_limit_mb: bounded memory.
  ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=1" \
    "$exe" -max_total_time="$seconds" -max_len="$(max_len_for "$name")" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" \
    "$dir/corpus" >"$log" 2>&1 || rc=$?
  execs=$(awk '/^stat::number_of_executed_units:/ { print $NF }' "$log")
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  artifact=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
    -name 'timeout-*' -o -name 'oom-*' \) | head -n 1)
  if ((rc == 0)) && [[ -z "$artifact" ]]; then
    result=ok
  else
    result="FAILED (exit $rc${artifact:+, input $artifact}; log $log)"
    failed=1
  fi
  printf 'fuzz %-20s %10s execs in %ss, %s, corpus %s, %s\n' "$name" "${execs:-?}" "$seconds" \
    "${cov:-cov: ?}" "$corpus" "$result"
  if [[ "$result" != ok ]]; then
    grep -E 'ERROR: |runtime error|invariant failed|SUMMARY' "$log" | head -n 5 | sed 's/^/    /' >&2
  fi
done
if ((failed)); then
  echo "run-fuzz: findings above; add each input to tests/fuzz/regressions/TARGET/ and fix" >&2
fi
exit $failed
