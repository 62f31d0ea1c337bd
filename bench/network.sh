#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark: networks that degrade instead of dying (docs/networks.md).
# dgtranscribebin and dg-emulator in a namespace of their own (tools/netns.sh),
# sequence audio paced live:
#   - caption lateness p50/p95 (a final's arrival minus the end of its audio)
#     on links shaped to 128 kbit/s, 256 kbit/s and 1 Mbit/s (tc tbf), 40 s each;
#   - detection time, first caption after the restore and time to recover
#     (stt/recovered) after blackholes of 20 s, 60 s and 5 min (nft drop),
#     the blackhole 10 s into the audio, 20 s (--tail) of audio after it.
# Root, ip, tc and nft needed (exit 77 otherwise). About 12 minutes.
#
# Usage: bench/network.sh BUILD_DIR [--rates 128kbit,256kbit,1mbit] [--outages 20,60,300]
#                         [--target bin|stream|batch] [--seconds 40] [--tail 20]
set -euo pipefail
build=$(realpath "$1")
shift
rates=128kbit,256kbit,1mbit
outages=20,60,300
target=bin
seconds=40
tail=20
while [[ $# -gt 0 ]]; do
  case $1 in
  --rates) rates=$2; shift 2 ;;
  --outages) outages=$2; shift 2 ;;
  --target) target=$2; shift 2 ;;
  --seconds) seconds=$2; shift 2 ;;
  --tail) tail=$2; shift 2 ;;
  *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/tools/netns.sh"
"$tool" check || exit $?
export GST_PLUGIN_PATH="$build${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export GST_REGISTRY=${GST_REGISTRY:-$build/bench/registry-network.bin}
rehearsal="$build/tests/network/network-rehearsal"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# One run in a fresh namespace; prints its network-result line.
run() {
  "$tool" run -- "$rehearsal" --no-check --target "$target" "$@" >"$log" 2>&1 || true
  grep '^network-result' "$log" || { echo "bench/network.sh: run failed: $*" >&2; cat "$log" >&2; }
}
field() { # line key
  sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"
}
secs() { # value: -1 means never
  awk -v v="$1" 'BEGIN { if (v < 0) print "never"; else printf "%.1f\n", v }'
}

echo "## Caption lateness on slow links ($target, ${seconds} s of sequence audio)"
echo
echo "| link | lateness p50 s | p95 s | max s | WARNINGs | fed s | transcribed s | answered as Opus s | dropped s | lost s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
IFS=, read -ra rate_list <<<"$rates"
for rate in "${rate_list[@]}"; do
  line=$(run --label "link-$rate" --seconds "$seconds" --rate "$rate" --kind slow)
  [[ -n "$line" ]] || continue
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$rate" \
    "$(field "$line" late-p50)" "$(field "$line" late-p95)" "$(field "$line" late-max)" \
    "$(field "$line" warnings)" "$(field "$line" fed)" "$(field "$line" transcribed)" \
    "$(field "$line" answered)" "$(field "$line" dropped)" "$(field "$line" lost)"
done

echo
echo "## Blackholes while sending ($target; detection from the blackhole, the rest from the restore)"
echo
echo "| blackhole | detected after s | first WARNING s | first caption s | recovered s | fed s | transcribed s | dropped s | lost s |"
echo "|---|---|---|---|---|---|---|---|---|"
IFS=, read -ra outage_list <<<"$outages"
for outage in "${outage_list[@]}"; do
  line=$(run --label "blackhole-${outage}s" --seconds $((10 + outage + tail)) \
    --blackhole "10:$outage" --kind sending)
  [[ -n "$line" ]] || continue
  printf '| %s s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$outage" \
    "$(secs "$(field "$line" detect)")" "$(secs "$(field "$line" warning)")" \
    "$(secs "$(field "$line" first-caption)")" "$(secs "$(field "$line" recovered)")" \
    "$(field "$line" fed)" "$(field "$line" transcribed)" "$(field "$line" dropped)" \
    "$(field "$line" lost)"
done
