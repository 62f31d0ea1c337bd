#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark 1: N live streams through dgstreamsink against the same N through
# the official Deepgram JavaScript SDK (bench/sdk-peer), one table with the
# ratios. Installs the SDK peer into the build directory first (npm ci); when
# node/npm or the registry is missing, runs the plugin side alone and says so.
#
# Usage: bench/live-vs-sdk.sh BUILD_DIR [bench-live-streams options]
#   e.g. bench/live-vs-sdk.sh build-bench --streams 1,10,50,200 --seconds 30
set -euo pipefail
build=$(realpath "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
peer="$build/bench/sdk-peer"

peer_args=()
if "$here/sdk-peer/install.sh" "$peer"; then
  peer_args=(--sdk-peer "$peer")
else
  status=$?
  [[ $status -eq 77 ]] || exit "$status"
  echo "SDK peer skipped (see above): measuring the plugin alone" >&2
fi
export GST_PLUGIN_PATH="$build${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
exec "$build/bench/bench-live-streams" --emulator "$build/emulator/dg-emulator" \
  --threads shared "${peer_args[@]}" "$@"
