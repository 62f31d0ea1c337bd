#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The live gap run, repeated: a live LibriVox feed whose sender drops 10 s mid-stream, sent over one
# transport on loopback into dgtranscribebin against dg-emulator (pocketsphinx), N times in a row.
# Each run is tests/live/test_live_gap.cpp (about 75 s in real time); `meson test` runs it once per
# transport, this script repeats one of them and prints a table.
#
#   tools/run-live-stress.sh [--runs 20] [--transport ts-aac|ts-mp2|rtp-l16|srt] [--build DIR]
#
# Per run: stt/degraded and stt/audio-dropped count (required 0), WER against the LibriVox
# reference, p50/p95 caption delay (running time on the bin's src pad minus the running time of the
# caption's PTS), the delay of the first caption after the gap (required within the bin's
# `latency`), captions, and pass/fail (every requirement of the test). Exits non-zero if any run
# fails; the TAP log of every run is kept (path printed at the end).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=20
transport=ts-aac
build="$root/build"
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --transport) transport="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '3,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$transport" in
  ts-aac|ts-mp2|rtp-l16|srt) ;;
  *) echo "--transport: ts-aac, ts-mp2, rtp-l16 or srt" >&2; exit 2 ;;
esac
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "--runs: a positive number" >&2; exit 2; }

if [[ ! -f "$build/build.ninja" ]]; then
  meson setup "$build" "$root"
fi
ninja -C "$build"

logs="$build/live-stress/$(date +%Y%m%d-%H%M%S)-$transport"
mkdir -p "$logs"
export GST_PLUGIN_PATH="$build"
export GST_REGISTRY="$logs/registry.bin"
binary="$build/tests/live/live-gap"

# The value of key=... in a "live-result" line ("-" when absent).
field() {
  local v
  v=$(awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' <<<"$1")
  echo "${v:--}"
}

printf '\nlive gap stress: %s runs over %s (each ~75 s)\n\n' "$runs" "$transport"
header=$(printf '| %3s | %8s | %7s | %5s | %9s | %9s | %15s | %8s | %-6s |' \
  run degraded dropped WER 'p50 delay' 'p95 delay' 'first after gap' captions result)
echo "$header"
echo "${header//[^|]/-}"
failed=0
for ((i = 1; i <= runs; i++)); do
  log="$logs/run-$i.tap"
  rc=0
  timeout 330 "$binary" --tap -k -p "/live/gap/$transport" >"$log" 2>"$logs/run-$i.stderr" || rc=$?
  line=$(grep -m1 '^# live-result ' "$log" || true)
  if [[ -z "$line" ]]; then
    if grep -q '^ok .* # SKIP' "$log"; then
      echo "run $i skipped: $(grep -m1 '# SKIP' "$log")"
      exit 77
    fi
    result="FAIL (no result, exit $rc)"
    printf '| %3d | %8s | %7s | %5s | %9s | %9s | %15s | %8s | %-6s |\n' "$i" - - - - - - - "$result"
    failed=$((failed + 1))
    continue
  fi
  result=pass
  if [[ $rc -ne 0 || "$(field "$line" pass)" != 1 ]]; then
    result=FAIL
    failed=$((failed + 1))
  fi
  printf '| %3d | %8s | %7s | %5s | %8ss | %8ss | %14ss | %8s | %-6s |\n' "$i" \
    "$(field "$line" degraded)" "$(field "$line" dropped)" "$(field "$line" wer)" \
    "$(field "$line" p50)" "$(field "$line" p95)" "$(field "$line" first_after_gap)" \
    "$(field "$line" captions)" "$result"
  if [[ $result != pass ]]; then
    grep '^# REQUIREMENT NOT MET' "$log" | sed 's/^# /      /' || true
  fi
done

latency=$(grep -h -m1 -o 'latency_ms=[0-9]*' "$logs"/run-*.tap 2>/dev/null | head -1 | cut -d= -f2 || true)
printf '\n%d of %d runs passed (bin latency %s ms); logs: %s\n' "$((runs - failed))" "$runs" \
  "${latency:--}" "$logs"
((failed == 0))
