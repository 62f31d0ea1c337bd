#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Live microphone -> Deepgram through sttfailover -> captions burned into video with textoverlay.
#
# The failover streams to Deepgram's live API and falls back to the pre-recorded API during an
# outage, so the captions keep coming. textoverlay waits for the caption stream (sttfailover
# sends GAP events through silence), and the failover's `latency` (3 s) is part of the pipeline
# latency, so the video is shown that much later, with its captions in sync.
#
#   export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
#   examples/launch/mic-captions-overlay.sh          # Ctrl-C ends it (EOS: last captions flush)
#
# Environment overrides (the tests use them to run it on a file against dg-emulator):
#   AUDIO_SRC     audio source (gst-launch words), default autoaudiosrc (the default microphone)
#   VIDEO_SRC     video source, default a live 1280x720 test pattern (try: v4l2src ! videoconvert)
#   VIDEO_SINK    video sink, default autovideosink
#   DG_LIVE_URL   default wss://api.deepgram.com/v1/listen
#   DG_BATCH_URL  default https://api.deepgram.com/v1/listen
# textoverlay is in the pango plugin (Debian: gstreamer1.0-x).
set -euo pipefail
: "${AUDIO_SRC:=autoaudiosrc}"
: "${VIDEO_SRC:=videotestsrc is-live=true pattern=smpte ! video/x-raw,width=1280,height=720,framerate=30/1}"
: "${VIDEO_SINK:=autovideosink}"
: "${DG_LIVE_URL:=wss://api.deepgram.com/v1/listen}"
: "${DG_BATCH_URL:=https://api.deepgram.com/v1/listen}"
[[ -n "${DEEPGRAM_API_KEY:-}" ]] || { echo "set DEEPGRAM_API_KEY" >&2; exit 2; }

# Each failover branch needs its own queue: a sink blocks in preroll on its first buffer.
# The overrides are split into words as on a gst-launch command line (no globbing).
set -f
# shellcheck disable=SC2086
exec gst-launch-1.0 -e \
  $AUDIO_SRC ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate=16000 ! \
  sttfailover name=f \
    f.stream ! queue ! dgstreamsink url="$DG_LIVE_URL" \
    f.batch ! queue ! dgbatchsink url="$DG_BATCH_URL" \
    f.text ! queue ! overlay.text_sink \
  $VIDEO_SRC ! videoconvert ! \
  textoverlay name=overlay valignment=bottom halignment=center shaded-background=true \
    font-desc="Sans 24" ! videoconvert ! $VIDEO_SINK
