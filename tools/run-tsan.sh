#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The concurrency tests under ThreadSanitizer, in their own meson build dir:
# the circuit breaker (suite "breaker": pure C++ threads) and the elements'
# threads (streaming threads, the shared network thread, the in-process
# emulator's threads, appsink/bus readers):
#   sttfailover           element-sttfailover (the element compiled in)
#   sttfailover-captions  sttfailover with the real sinks, captions on the text pad
#   dgtranscribebin       the bin around sttfailover and both sinks
#   dgstreamsink          the live sink: network thread vs streaming thread
#   failover-emulator     whole failover pipelines against the emulator
#   async-recognizer      dg-emulator's recognition threads and their hand-offs
#   server-lag            live recognition on those threads under a real server
# Exits non-zero on any failed test or any TSan report; the last line is a
# one-line summary with the wall time.
#
# Usage: tools/run-tsan.sh [BUILD_DIR]      default BUILD_DIR: build-tsan
#   CXX=clang++ / CXX=g++ picks the compiler; otherwise the first of clang++,
#   g++ whose TSan links and runs here is used (checked once, at setup).
#
# Debian's GLib/GStreamer are not built with TSan. What that takes:
# - tools/tsan-glib-sync.c, preloaded into the tests: tells TSan about
#   GMutex/GCond (futexes it cannot see) and GThreadPool handoffs, so the
#   buffers and messages GStreamer hands between threads under those locks are
#   not reported as races in our code that reads them.
# - G_SLICE=always-malloc: GLib's slice allocator reuses memory without
#   malloc/free, which TSan would take for one object touched by two threads.
# - ignore_noninstrumented_modules=1: accesses made inside uninstrumented
#   libraries (through memcpy, free...) are not checked; ours all are.
# - tools/tsan.supp: third-party reports that remain, each with its reason.
# - GST_REGISTRY_FORK=no: the plugin scanner is not a TSan program and cannot
#   load the TSan-built plugin, so the tests scan it in-process. Except
#   element-sttfailover, which compiles the element in and would register it
#   twice: it runs apart, with the scanner (which skips the plugin it does not
#   need).
# Left out: /dgstreamsink/key-never-printed runs gst-launch-1.0, not a TSan
# program (the plugin cannot load there); it checks log text, not threads, and
# runs in the main and ASan tiers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=${1:-build-tsan}
start=$(date +%s)
in_process_tests=(sttfailover-captions dgtranscribebin dgstreamsink failover-emulator
  async-recognizer server-lag)
scanner_tests=(sttfailover)
skip_args="-s /dgstreamsink/key-never-printed"

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

# Build only what the chosen tests run: their programs and what they depend on
# (the plugin, dg-emulator, dg-sequence-audio), not the whole tree.
mapfile -t targets < <(python3 - "$build" "${in_process_tests[@]}" "${scanner_tests[@]}" <<'EOF'
import json, os, subprocess, sys
build, names = sys.argv[1], set(sys.argv[2:])
intro = lambda what: json.loads(subprocess.check_output(["meson", "introspect", what, build]))
files = {t["id"]: t["filename"] for t in intro("--targets")}
out = set()
for t in intro("--tests"):
    if t["name"] in names or any(s.split(":")[-1] == "breaker" for s in t["suite"]):
        out.add(t["cmd"][0])
        for dep in t["depends"]:
            out.update(files.get(dep, []))
real = os.path.realpath(build)
for f in sorted(out):
    print(os.path.relpath(os.path.realpath(f), real))
EOF
)
((${#targets[@]} > 0)) || { echo "run-tsan: no tests found" >&2; exit 1; }
ninja -C "$build" -j 2 "${targets[@]}"

shim="$build/tsan-glib-sync.so"
cc -O1 -fPIC -shared $(pkg-config --cflags glib-2.0) tools/tsan-glib-sync.c -o "$shim" -ldl

# halt_on_error: the first race fails the test at once with exit code 66.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ignore_noninstrumented_modules=1 suppressions=$root/tools/tsan.supp ${TSAN_OPTIONS:-}"
export G_SLICE=always-malloc
# The breaker suite by name: meson test intersects --suite with test names.
mapfile -t breaker_tests < <(meson introspect --tests "$build" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if any(s.split(":")[-1] == "breaker" for s in t["suite"]):
        print(t["name"])
')
((${#breaker_tests[@]} > 0)) || { echo "run-tsan: no tests in suite breaker" >&2; exit 1; }

status=0
ran=0
run() { # log-name test-names...
  local rc=0 wrapper="env LD_PRELOAD=$root/$shim" name=$1 log
  shift
  # meson names the log after --logbase and the wrapper's program.
  log="$build/meson-logs/$name-env.txt"
  rm -f "$log" "${log%.txt}.json"
  meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 5 --num-processes 2 \
    --logbase "$name" --wrapper "$wrapper" --test-args "$skip_args" "$@" || rc=$?
  # Some kernels randomise mmap beyond what TSan accepts; retry without ASLR.
  if ((rc != 0)) && grep -q "unexpected memory mapping" "$log" 2>/dev/null; then
    echo "run-tsan: TSan rejected the memory layout; retrying with ASLR off"
    rc=0
    meson test -C "$build" --no-rebuild --print-errorlogs --timeout-multiplier 5 \
      --num-processes 2 --logbase "$name" --wrapper "setarch $(uname -m) -R $wrapper" \
      --test-args "$skip_args" "$@" || rc=$?
  fi
  if grep -q "WARNING: ThreadSanitizer" "$log" 2>/dev/null; then
    echo "run-tsan: ThreadSanitizer reported a problem (see $log)" >&2
    rc=1
  fi
  # Every test named must have run (a typo must not pass as "nothing failed").
  local done_count
  done_count=$(grep -c . "${log%.txt}.json" 2>/dev/null || echo 0)
  if ((done_count != $#)); then
    echo "run-tsan: $done_count of $# tests ran (see $log)" >&2
    rc=1
  fi
  ran=$((ran + done_count))
  ((rc == 0)) || status=1
}
GST_REGISTRY_FORK=no run tsan-in-process "${breaker_tests[@]}" "${in_process_tests[@]}"
run tsan-scanner "${scanner_tests[@]}"

echo "run-tsan: $ran tests, $(($(date +%s) - start)) s, $([[ $status == 0 ]] && echo clean || echo FAILED)"
exit $status
