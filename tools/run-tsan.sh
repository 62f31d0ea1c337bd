#!/usr/bin/env bash
# Builds the circuit breaker's tests with ThreadSanitizer in their own meson
# build dir and runs them (meson suite "breaker"). Exits non-zero on any failed
# test or any TSan report.
#
# Usage: tools/run-tsan.sh [BUILD_DIR]      default BUILD_DIR: build-tsan
#   CXX=clang++ / CXX=g++ picks the compiler; otherwise the first of clang++,
#   g++ whose TSan links and runs here is used (checked once, at setup).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build-tsan}
suite=breaker

# A tiny threaded program: proves the compiler's TSan runtime works here.
tsan_works() {
  local cxx=$1 dir
  command -v "$cxx" >/dev/null || return 1
  dir=$(mktemp -d)
  printf '#include <thread>\nint main(){int x=0;std::thread t([&]{x=1;});t.join();return x-1;}\n' \
    >"$dir/probe.cpp"
  "$cxx" -std=c++17 -fsanitize=thread "$dir/probe.cpp" -o "$dir/probe" -pthread 2>/dev/null &&
    "$dir/probe" >/dev/null 2>&1
  local rc=$?
  rm -rf "$dir"
  return $rc
}

if [[ ! -f "$build/build.ninja" ]]; then
  if [[ -z "${CXX:-}" ]]; then
    for candidate in clang++ g++; do
      if tsan_works "$candidate"; then
        CXX=$candidate
        break
      fi
    done
  fi
  [[ -n "${CXX:-}" ]] || { echo "run-tsan: no compiler with a working ThreadSanitizer" >&2; exit 1; }
  case "$CXX" in
  clang++*) export CC=${CC:-clang} ;;
  *) export CC=${CC:-gcc} ;;
  esac
  export CXX
  echo "run-tsan: configuring $build with $CXX"
  meson setup "$build" -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized \
    >"$build.setup.log" 2>&1 || { cat "$build.setup.log" >&2; exit 1; }
  rm -f "$build.setup.log"
fi

# Build only the suite's test programs, not the whole tree.
mapfile -t targets < <(meson introspect --tests "$build" | python3 -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
for t in json.load(sys.stdin):
    if sys.argv[2] in t["suite"] or any(s.endswith(":" + sys.argv[2]) for s in t["suite"]):
        print(os.path.relpath(os.path.realpath(t["cmd"][0]), build))
' "$build" "$suite" | sort -u)
((${#targets[@]} > 0)) || { echo "run-tsan: no tests in suite $suite" >&2; exit 1; }
ninja -C "$build" "${targets[@]}"

# halt_on_error: the first race fails the test at once with exit code 66.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
run_suite() {
  meson test -C "$build" --no-rebuild --suite "$suite" --print-errorlogs \
    --timeout-multiplier 5 --num-processes 2 "$@"
}
log="$build/meson-logs/testlog.txt"
status=0
run_suite || status=$?
# Some kernels randomise mmap beyond what TSan accepts; retry without ASLR.
if ((status != 0)) && grep -q "unexpected memory mapping" "$log" 2>/dev/null; then
  echo "run-tsan: TSan rejected the memory layout; retrying with ASLR off"
  status=0
  run_suite --wrapper "setarch $(uname -m) -R" || status=$?
fi
if grep -q "WARNING: ThreadSanitizer" "$log" 2>/dev/null; then
  echo "run-tsan: ThreadSanitizer reported a problem (see $log)" >&2
  exit 1
fi
exit $status
