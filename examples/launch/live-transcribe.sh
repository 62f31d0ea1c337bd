#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Standalone dgstreamsink: live microphone -> Deepgram's live API; every transcript is printed
# as an `stt/transcript` bus message (gst-launch -m). Without sttfailover the sink reconnects by
# itself after a failure and replays the audio the dead connection never finalised.
#
#   export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
#   examples/launch/live-transcribe.sh                # Ctrl-C ends it (EOS: last words flush)
#   examples/launch/live-transcribe.sh | grep -o 'stt/transcript, text=(string)[^,]*'
#
# Environment overrides (the tests use them to run it on a file against dg-emulator):
#   AUDIO_SRC     audio source (gst-launch words), default autoaudiosrc (the default microphone)
#   DG_LIVE_URL   default wss://api.deepgram.com/v1/listen
#   DG_OPTIONS    more dgstreamsink properties, default "model=nova-3 smart-format=true"
set -euo pipefail
: "${AUDIO_SRC:=autoaudiosrc}"
: "${DG_LIVE_URL:=wss://api.deepgram.com/v1/listen}"
: "${DG_OPTIONS:=model=nova-3 smart-format=true}"
[[ -n "${DEEPGRAM_API_KEY:-}" ]] || { echo "set DEEPGRAM_API_KEY" >&2; exit 2; }

set -f # the overrides are split into words as on a gst-launch command line, never globbed
# shellcheck disable=SC2086
exec gst-launch-1.0 -e -m \
  $AUDIO_SRC ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate=16000 ! \
  dgstreamsink url="$DG_LIVE_URL" $DG_OPTIONS
