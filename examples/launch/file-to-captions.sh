#!/usr/bin/env bash
# An audio (or video) file -> Deepgram through sttfailover -> WebVTT and SRT caption files.
#
# webvttenc and srtenc are in gst-plugins-bad (Debian: gstreamer1.0-plugins-bad, plugin subenc).
# The file is read as fast as Deepgram transcribes it; if the live API fails midway, the rest
# (and the audio it had not finalised) goes to the pre-recorded API, so no caption is lost.
#
#   export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
#   examples/launch/file-to-captions.sh talk.mp3 [OUT]     # writes OUT.vtt, OUT.srt (OUT: captions)
#
# Environment overrides (the tests point them at dg-emulator):
#   DG_LIVE_URL   default wss://api.deepgram.com/v1/listen
#   DG_BATCH_URL  default https://api.deepgram.com/v1/listen
set -euo pipefail
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 INPUT [OUT]" >&2; exit 2; }
input=$1
out=${2:-captions}
: "${DG_LIVE_URL:=wss://api.deepgram.com/v1/listen}"
: "${DG_BATCH_URL:=https://api.deepgram.com/v1/listen}"
[[ -n "${DEEPGRAM_API_KEY:-}" ]] || { echo "set DEEPGRAM_API_KEY" >&2; exit 2; }

# Mono: a stereo file would otherwise be transcribed per channel (twice the captions).
# Each failover branch, and each tee branch, needs its own queue.
exec gst-launch-1.0 \
  filesrc location="$input" ! decodebin ! audioconvert ! audioresample ! \
  audio/x-raw,format=S16LE,channels=1 ! \
  sttfailover name=f \
    f.stream ! queue ! dgstreamsink url="$DG_LIVE_URL" \
    f.batch ! queue ! dgbatchsink url="$DG_BATCH_URL" \
    f.text ! tee name=t \
      t. ! queue ! webvttenc ! filesink location="$out.vtt" \
      t. ! queue ! srtenc ! filesink location="$out.srt"
