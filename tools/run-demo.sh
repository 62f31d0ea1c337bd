#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job: real speech (the LibriVox clips of pocketsphinx-testdata, joined) transcribed
# through sttfailover, with captions printed as they arrive and written to WebVTT and SRT.
#
# Without DEEPGRAM_API_KEY it runs against a local dg-emulator (pocketsphinx engine) whose live
# API goes down 9 s in and comes back 8 s later (examples/demo/outage.json): watch the captions
# move to the pre-recorded API and back. With DEEPGRAM_API_KEY it uses Deepgram itself.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/ensure-deps.sh >&2
build=${BUILD_DIR:-build}
[[ -f "$build/build.ninja" ]] || meson setup "$build" >&2
ninja -C "$build" >&2

out=${DEMO_OUT:-demo-out}
mkdir -p "$out"
clips=/usr/share/pocketsphinx/test/data/librivox
sox -n -r 16000 -c 1 -b 16 "$out/pause.wav" trim 0 1.0
inputs=()
for clip in "$clips"/*.wav; do inputs+=("$clip" "$out/pause.wav"); done
sox "${inputs[@]}" "$out/speech.wav"

export GST_PLUGIN_PATH="$PWD/$build${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
demo=("$build/examples/dg-caption-demo" --vtt "$out/captions.vtt" --srt "$out/captions.srt")

if [[ -n "${DEEPGRAM_API_KEY:-}" ]]; then
  echo "Using Deepgram itself (DEEPGRAM_API_KEY is set); no outage is scripted."
  exec "${demo[@]}" "$out/speech.wav"
fi

emulator_log="$out/dg-emulator.log"
coproc EMULATOR { exec "$build/emulator/dg-emulator" --port 0 --engine pocketsphinx \
  --faults examples/demo/outage.json 2>"$emulator_log"; }
trap 'kill "$EMULATOR_PID" 2>/dev/null || true' EXIT
read -r ready <&"${EMULATOR[0]}"
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$ready")
[[ -n "$port" ]] || { echo "dg-emulator did not start: $(cat "$emulator_log")" >&2; exit 1; }
echo "dg-emulator on 127.0.0.1:$port (pocketsphinx engine); live API outage scripted at 9-17 s"

DEEPGRAM_API_KEY=emulator "${demo[@]}" \
  --live-url "ws://127.0.0.1:$port/v1/listen" --batch-url "http://127.0.0.1:$port/v1/listen" \
  "$out/speech.wav"
