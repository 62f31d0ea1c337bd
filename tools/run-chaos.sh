#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The chaos soak on request (docs/reliability.md): N pipelines in one process
# stream sequence audio through sttfailover to an in-process dg-emulator that
# fires a random, seeded fault schedule; prints one row per pipeline.
#
# Usage: tools/run-chaos.sh [--minutes M | --seconds S] [--seed N] [--pipelines P]
#                           [--speed X] [--fault-gap S] [--print-schedule]
#   default: --minutes 10 --pipelines 8 --speed 4, a random seed (printed).
#   Replay a failure with the seed and options its table printed.
#   BUILD_DIR (default build) is configured and built first when needed.
#   The short soak of the test command: meson test -C build --suite chaos --verbose
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

args=("$@")
if [[ ! " ${args[*]} " =~ " --minutes " && ! " ${args[*]} " =~ " --seconds " ]]; then
  args=(--minutes 10 "${args[@]}")
fi

[[ -f "$build/build.ninja" ]] || meson setup "$build" >/dev/null
ninja -C "$build" tests/chaos/chaos-soak libgstdeepgramfailover.so >/dev/null

export GST_PLUGIN_PATH="$PWD/$build"
export GST_REGISTRY="$PWD/$build/tests/chaos/registry-chaos-run.bin"
exec "$build/tests/chaos/chaos-soak" "${args[@]}"
