#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A video file -> its speech transcribed by Deepgram (dgtranscribebin) -> CEA-608 closed
# captions (sttcea608enc) -> carried in the H.264 as A/53 user data (ccconverter, cccombiner,
# x264enc) -> MPEG-TS, the way broadcasters put captions on air. Optionally also the same
# captions as an SRT sidecar file.
#
#   export GST_PLUGIN_PATH=build DEEPGRAM_API_KEY=...
#   examples/launch/file-to-broadcast.sh talk.mp4 talk.ts [talk.srt]
#
# What it guarantees:
# - Every frame of INPUT is in OUTPUT at its own time, re-encoded as 8-bit 4:2:0 H.264 (what
#   broadcast decoders take) at FPS (30000/1001 unless told), each carrying one CEA-608 byte pair (CC1, pop-on unless told): a caption
#   appears at its text's PTS (to the nearest frame) and is erased at its end. Any decoder
#   shows them: ffmpeg -f lavfi -i "movie=talk.ts[out+subcc]" -map 0:1 talk-cc.srt
# - Rows are at most 32 columns (the bin's caption-max-chars=32), so the bin's line breaks
#   are the ones on screen.
# - With a third argument, the bin's captions are also written as SRT, as sent to the
#   encoder. The two branches get unbounded queues: x264enc holds a few dozen frames before
#   its first output, so the TS file prerolls late while the SRT file already has; a bounded
#   queue would stop the captions for both.
# - OUTPUT holds the video only (mux INPUT's audio through a queue as in file-burn-in.sh).
#
# INPUT needs an audio and a video track (any format uridecodebin reads); it may also be a URI.
# ccconverter and cccombiner are in gstreamer1.0-plugins-bad, x264enc in
# gstreamer1.0-plugins-ugly, mpegtsmux in gstreamer1.0-plugins-bad.
#
# Environment overrides (the tests point them at dg-emulator):
#   DG_LIVE_URL       default wss://api.deepgram.com/v1/listen
#   DG_BATCH_URL      default https://api.deepgram.com/v1/listen
#   FPS               output frame rate, default 30000/1001
#   CC_PROPS          sttcea608enc properties, e.g. "mode=roll-up-3 channel=cc1"; default none
#   BIN_PROPS         more dgtranscribebin properties, e.g. "mode=stream-first"; default none
#   GST_LAUNCH_OPTS   gst-launch-1.0 options, e.g. "-m" to print every bus message; default none
set -euo pipefail
[[ $# -eq 2 || $# -eq 3 ]] || { echo "usage: $0 INPUT OUTPUT.ts [SIDECAR.srt]" >&2; exit 2; }
: "${DG_LIVE_URL:=wss://api.deepgram.com/v1/listen}"
: "${DG_BATCH_URL:=https://api.deepgram.com/v1/listen}"
: "${FPS:=30000/1001}"
: "${CC_PROPS:=}"
: "${BIN_PROPS:=}"
: "${GST_LAUNCH_OPTS:=}"
[[ -n "${DEEPGRAM_API_KEY:-}" ]] || { echo "set DEEPGRAM_API_KEY" >&2; exit 2; }

# shellcheck source=file-uri.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/file-uri.sh"
uri=$(file_uri "$1")

unbounded="queue max-size-time=0 max-size-buffers=0 max-size-bytes=0"
sidecar=()
to_cea608=(sttcea608enc)
if [[ $# -eq 3 ]]; then
  sidecar=(t. ! $unbounded ! srtenc ! filesink async=false location="$3")
  to_cea608=(tee name=t t. ! $unbounded ! sttcea608enc)
fi

# uridecodebin's audio pad links to dgtranscribebin (it takes only audio), its video pad to
# videorate, which puts the frames on the encoder's frame grid.
set -f # the overrides are split into words, never globbed
# shellcheck disable=SC2086
exec gst-launch-1.0 $GST_LAUNCH_OPTS \
  uridecodebin uri="$uri" name=d \
  d. ! dgtranscribebin caption-max-chars=32 stream-url="$DG_LIVE_URL" batch-url="$DG_BATCH_URL" \
  $BIN_PROPS ! "${to_cea608[@]}" framerate="$FPS" $CC_PROPS ! ccconverter ! \
  closedcaption/x-cea-708,format=cc_data ! cc.caption \
  d. ! videoconvert ! videorate ! video/x-raw,format=I420,framerate="$FPS" ! cccombiner name=cc ! \
  x264enc ! h264parse ! mpegtsmux ! filesink location="$2" \
  "${sidecar[@]}"
