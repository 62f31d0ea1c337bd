#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, builds with meson and runs every tier.
# Usage: tools/run-tests.sh            (what CI runs)
set -euo pipefail
cd "$(dirname "$0")/.."

tools/ensure-deps.sh

build=${BUILD_DIR:-build}
if [[ -f "$build/build.ninja" ]]; then
  meson setup --reconfigure "$build" >/dev/null
else
  meson setup "$build"
fi
ninja -C "$build"
meson test -C "$build" --print-errorlogs --num-processes 2

# The breaker's concurrency tests again, under ThreadSanitizer (a separate build dir).
tools/run-tsan.sh
