#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark 5: the scaling curve. CPU and memory per stream of N dgstreamsink
# streams (shared network thread) for N = 1 ... 200, as a table, and as a PNG
# when gnuplot is installed (Debian: gnuplot-nox).
#
# Usage: bench/scaling.sh BUILD_DIR [--streams 1,2,5,10,20,50,100,200] [--seconds 10]
#                         [--png FILE]   (default FILE: BUILD_DIR/bench/scaling.png)
set -euo pipefail
build=$(realpath "$1")
shift
streams=1,2,5,10,20,50,100,200
seconds=10
png="$build/bench/scaling.png"
while [[ $# -gt 0 ]]; do
  case $1 in
    --streams) streams=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --png) png=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

table=$(GST_PLUGIN_PATH="$build${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}" \
  "$build/bench/bench-live-streams" --emulator "$build/emulator/dg-emulator" \
  --threads shared --streams "$streams" --seconds "$seconds")
# Streams, CPU s per stream-minute, RSS KiB per stream, total CPU (% of one core), total RSS MiB.
echo "| streams | CPU s per stream-minute | CPU % of one core, all streams | RSS KiB per stream | RSS MiB, all streams | latency p99 ms | real time |"
echo "|---|---|---|---|---|---|---|"
data=$(awk -F'|' '/^\| plugin/ {
    n = $3 + 0; cpu = $4 + 0; rss = $5 + 0
    printf "%d %.4f %.2f %.0f %.2f %s %s\n", n, cpu, cpu * n / 60 * 100, rss, rss * n / 1024, $7 + 0, $11
  }' <<<"$table")
awk '{ gsub(/ /, "", $7); printf "| %d | %.4f | %.2f | %d | %.2f | %.1f | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' <<<"$data"

if command -v gnuplot >/dev/null 2>&1; then
  dat=$(mktemp)
  trap 'rm -f "$dat"' EXIT
  echo "$data" >"$dat"
  gnuplot <<GP
set terminal pngcairo size 900,500 noenhanced
set output "$png"
set title "dgstreamsink: cost per stream vs streams (shared network thread)"
set logscale x
set xlabel "streams"
set ylabel "CPU s per stream-minute"
set y2label "RSS KiB per stream"
set y2tics
set ytics nomirror
set grid
plot "$dat" using 1:2 with linespoints title "CPU s per stream-minute" axes x1y1, \
     "$dat" using 1:4 with linespoints title "RSS KiB per stream" axes x1y2
GP
  echo
  echo "plot: $png"
else
  echo
  echo "gnuplot not installed (apt install gnuplot-nox): no plot"
fi
