#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A video file -> its speech transcribed by Deepgram (dgtranscribebin) -> the captions burned
# into the picture (textoverlay) -> H.264 in MP4.
#
#   export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
#   examples/launch/file-burn-in.sh talk.mp4 talk-captioned.mp4
#
# What it guarantees:
# - It finishes on its own, with every element at its default properties: dgtranscribebin
#   does not hold up preroll (it answers NO_PREROLL), so no `async=false` is needed anywhere,
#   although textoverlay holds each frame until the captions for its time are known.
# - Every frame of INPUT is in OUTPUT, at its own time, with the caption of that moment drawn
#   on it (textoverlay's defaults: centred, on the baseline). A file is not live, so the audio
#   goes to Deepgram's pre-recorded API; an outage there holds the audio and retries it (one
#   stt/degraded, one stt/recovered on the bus) and nothing is lost silently: audio given up
#   on is posted as stt/audio-dropped, problems as WARNING / ERROR lines.
# - OUTPUT holds the captioned video only, not the sound. To keep it, mux INPUT's audio too,
#   through a queue that holds as much audio as the captions lag (the pre-recorded API answers
#   per chunk, up to dgbatchsink's max-chunk, 30 s): the muxer interleaves by time and the
#   video waits for its captions.
#
# INPUT needs an audio and a video track (any format uridecodebin reads); it may also be a URI.
# textoverlay is in the pango plugin (Debian: gstreamer1.0-x); x264enc in
# gstreamer1.0-plugins-ugly (else openh264enc, gstreamer1.0-plugins-bad); mp4mux in
# gstreamer1.0-plugins-good.
#
# Environment overrides (the tests point them at dg-emulator):
#   DG_LIVE_URL       default wss://api.deepgram.com/v1/listen
#   DG_BATCH_URL      default https://api.deepgram.com/v1/listen
#   H264_ENC          H.264 encoder, default x264enc if installed, else openh264enc
#   GST_LAUNCH_OPTS   gst-launch-1.0 options, e.g. "-m" to print every bus message; default none
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 INPUT OUTPUT.mp4" >&2; exit 2; }
: "${DG_LIVE_URL:=wss://api.deepgram.com/v1/listen}"
: "${DG_BATCH_URL:=https://api.deepgram.com/v1/listen}"
: "${GST_LAUNCH_OPTS:=}"
[[ -n "${DEEPGRAM_API_KEY:-}" ]] || { echo "set DEEPGRAM_API_KEY" >&2; exit 2; }

if [[ -z "${H264_ENC:-}" ]]; then
  if gst-inspect-1.0 x264enc >/dev/null 2>&1; then
    H264_ENC=x264enc
  elif gst-inspect-1.0 openh264enc >/dev/null 2>&1; then
    H264_ENC=openh264enc
  else
    echo "no H.264 encoder: install gstreamer1.0-plugins-ugly (x264enc)" >&2
    exit 2
  fi
fi

# shellcheck source=file-uri.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/file-uri.sh"
uri=$(file_uri "$1")

# uridecodebin's audio pad links to dgtranscribebin (it takes only audio), its video pad to
# videoconvert; each has its own streaming thread. dgtranscribebin converts the audio itself.
set -f # the overrides are split into words, never globbed
# shellcheck disable=SC2086
exec gst-launch-1.0 $GST_LAUNCH_OPTS \
  uridecodebin uri="$uri" name=d \
  d. ! dgtranscribebin stream-url="$DG_LIVE_URL" batch-url="$DG_BATCH_URL" ! overlay.text_sink \
  d. ! videoconvert ! textoverlay name=overlay ! videoconvert ! \
  $H264_ENC ! h264parse ! mp4mux ! filesink location="$2"
