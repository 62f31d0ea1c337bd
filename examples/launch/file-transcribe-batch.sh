#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Standalone dgbatchsink: a file -> Deepgram's pre-recorded API, in chunks cut at pauses; every
# transcript is printed as an `stt/transcript` bus message (gst-launch -m), in timestamp order,
# with word times in the file's timeline. Through an outage the sink holds the audio and retries
# (honouring Retry-After); for a file it reads only as fast as Deepgram answers, so nothing is lost.
#
#   export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
#   examples/launch/file-transcribe-batch.sh talk.wav
#
# Environment overrides (the tests point it at dg-emulator):
#   DG_BATCH_URL  default https://api.deepgram.com/v1/listen
#   DG_OPTIONS    more dgbatchsink properties, default "model=nova-3 smart-format=true"
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 INPUT" >&2; exit 2; }
: "${DG_BATCH_URL:=https://api.deepgram.com/v1/listen}"
: "${DG_OPTIONS:=model=nova-3 smart-format=true}"
[[ -n "${DEEPGRAM_API_KEY:-}" ]] || { echo "set DEEPGRAM_API_KEY" >&2; exit 2; }

set -f
# decodebin3, not decodebin: with only sinks that do not preroll (this one), GStreamer 1.22's
# decodebin can make the pipeline miss its EOS (docs/troubleshooting.md, "never exits").
# shellcheck disable=SC2086
exec gst-launch-1.0 -m \
  filesrc location="$1" ! decodebin3 ! audioconvert ! audioresample ! \
  audio/x-raw,format=S16LE,channels=1 ! \
  dgbatchsink url="$DG_BATCH_URL" $DG_OPTIONS
