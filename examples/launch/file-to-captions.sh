#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# An audio (or video) file -> Deepgram through sttfailover -> WebVTT and SRT caption files.
#
# What it guarantees:
# - Any file decodebin reads (WAV, MP3, Ogg/Opus, MP4, ...), any rate, mono or stereo
#   (audioconvert mixes it down to mono: the sinks take mono unless multichannel=true).
# - A file is not live, so sttfailover (mode auto) sends it to Deepgram's pre-recorded API,
#   in chunks cut at pauses; it is read only as fast as Deepgram answers (backpressure), never
#   dropped.
# - An outage of the pre-recorded API holds the audio and retries it: the bus gets one
#   stt/degraded (reason "pre-recorded API: ...") and one stt/recovered, and the captions
#   still hold every word once, in order. Audio that cannot be transcribed (the API still
#   down when sttfailover's drain-timeout, 120 s, runs out at the end) is never lost
#   silently: it is posted as stt/audio-dropped; problems reach the console as WARNING /
#   ERROR lines.
# - Both files hold the same cues, in timestamp order, never overlapping.
# For live input (a microphone, a network stream) use mic-captions-overlay.sh: sttfailover
# then streams to the live API and fails over to the pre-recorded one.
#
# webvttenc and srtenc are in gst-plugins-bad (Debian: gstreamer1.0-plugins-bad, plugin subenc).
#
#   export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
#   examples/launch/file-to-captions.sh talk.mp3 [OUT]     # writes OUT.vtt, OUT.srt (OUT: captions)
#
# Environment overrides (the tests point them at dg-emulator):
#   DG_LIVE_URL       default wss://api.deepgram.com/v1/listen
#   DG_BATCH_URL      default https://api.deepgram.com/v1/listen
#   GST_LAUNCH_OPTS   gst-launch-1.0 options, e.g. "-m" to print every bus message
#                     (stt/degraded, stt/recovered, stt/transcript, ...); default none
set -euo pipefail
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: $0 INPUT [OUT]" >&2; exit 2; }
input=$1
out=${2:-captions}
: "${DG_LIVE_URL:=wss://api.deepgram.com/v1/listen}"
: "${DG_BATCH_URL:=https://api.deepgram.com/v1/listen}"
: "${GST_LAUNCH_OPTS:=}"
[[ -n "${DEEPGRAM_API_KEY:-}" ]] || { echo "set DEEPGRAM_API_KEY" >&2; exit 2; }

# Each failover branch, and each tee branch, needs its own queue.
set -f # GST_LAUNCH_OPTS is split into words, never globbed
# shellcheck disable=SC2086
exec gst-launch-1.0 $GST_LAUNCH_OPTS \
  filesrc location="$input" ! decodebin ! audioconvert ! audioresample ! \
  sttfailover name=f \
    f.stream ! queue ! dgstreamsink url="$DG_LIVE_URL" \
    f.batch ! queue ! dgbatchsink url="$DG_BATCH_URL" \
    f.text ! tee name=t \
      t. ! queue ! webvttenc ! filesink location="$out.vtt" \
      t. ! queue ! srtenc ! filesink location="$out.srt"
