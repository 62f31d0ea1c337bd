#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite: installs missing Debian packages, builds with meson and runs every tier.
# Usage: tools/run-tests.sh            (what CI runs)
#
# Tiers, in order (each in its own build dir, so one failing does not hide another's result):
#   main      every meson test (unit, emulator, element, integration, hostile, examples, docs,
#             fuzz corpus replay, benchmark smoke runs) except the chaos soak and the
#             network rehearsals
#   network   blackholes, slow and lossy links in a network namespace, one test at a time
#             (root, ip, tc, nft; skipped without them; docs/networks.md); the short set:
#             tools/run-network.sh runs all of them
#   chaos     the short seeded chaos soak and the PLAYING->NULL leak check; the soak's table
#             is printed here (replay a failure with the seed it prints)
#   tsan      breaker and element concurrency tests under ThreadSanitizer   (build-tsan)
#   asan      the suite under AddressSanitizer + UBSan + LeakSanitizer      (build-asan)
#   fuzz      every libFuzzer target for a few seconds from its corpus      (build-fuzz)
#   package   the Debian packages built from the tree (a copy), lintian, `meson install
#             --destdir`, then installed: gst-inspect-1.0 and the README one-liner with no
#             GST_PLUGIN_PATH, and purged leaving nothing (tools/run-package.sh; root only,
#             skipped otherwise). Last, alone: while the package is installed, a test using
#             GST_PLUGIN_PATH=build would see two copies of the plugin
# Longer runs on request: tools/run-chaos.sh --minutes 10, tools/run-fuzz.sh 600.
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

declare -a summary=()
status=0
tier_log=$(mktemp)
trap 'rm -f "$tier_log"' EXIT
tier() { # name command...
  local name=$1 start rc=0
  shift
  echo
  echo "=== tier $name: $*"
  start=$(date +%s)
  { "$@" 2>&1 | tee "$tier_log"; } || rc=$?
  local result=FAIL
  case $rc in 0) result=pass ;; 77) result=skip ;; esac # 77: a script's "cannot run here"
  summary+=("$(printf '%-7s %-6s %4d s' "$name" "$result" $(($(date +%s) - start)))")
  if [[ $result == FAIL ]]; then
    status=1
    # What failed, again at the end, where a truncated log still shows it.
    while IFS= read -r line; do summary+=("         $line"); done < <(grep -E \
      '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|ERROR) |^# MISSED|^Bail out|run-[a-z]+: .*(fail|FAIL)' \
      "$tier_log" | sort -u | head -20)
  fi
}

tier main meson test -C "$build" --print-errorlogs --num-processes 2 --no-suite chaos \
  --no-suite network --no-suite network-long
tier chaos meson test -C "$build" --print-errorlogs --num-processes 2 --suite chaos --verbose
tier network meson test -C "$build" --print-errorlogs --num-processes 1 --suite network
tier tsan tools/run-tsan.sh
tier asan tools/run-asan.sh
tier fuzz tools/run-fuzz.sh 5
tier package tools/run-package.sh

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
