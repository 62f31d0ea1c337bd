#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every network rehearsal (docs/networks.md): blackholes of 20 s and 60 s, a blackhole while
# the source is paused, a link at half the linear16 rate and 5 % random loss, for the bin and
# each standalone sink, one at a time, in network namespaces (root, ip, tc, nft; skipped
# without them). tools/run-tests.sh runs the short set (suite network); this adds the rest
# (suite network-long), about 16 minutes in all.
# Usage: tools/run-network.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tools/ensure-deps.sh
[[ -f "$build/build.ninja" ]] || meson setup "$build"
ninja -C "$build"
exec meson test -C "$build" --print-errorlogs --num-processes 1 --suite network \
  --suite network-long
