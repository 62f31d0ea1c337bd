#!/usr/bin/env bash
# The main job: transcribe speech through the failover pipeline, against the local
# dg-emulator (or Deepgram itself when DEEPGRAM_API_KEY is set).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/ensure-deps.sh
build=${BUILD_DIR:-build}
[[ -f "$build/build.ninja" ]] || meson setup "$build"
ninja -C "$build"

if ! GST_PLUGIN_PATH="$build" gst-inspect-1.0 sttfailover >/dev/null 2>&1; then
  echo "run-demo: the sttfailover element is not built yet (see the open issues); nothing to demo." >&2
  exit 1
fi
