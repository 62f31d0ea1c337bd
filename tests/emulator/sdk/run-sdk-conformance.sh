#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Client conformance: starts dg-emulator as a subprocess, then runs a real
# Deepgram client from npm against it: SDK_SRC_DIR holds its package.json,
# package-lock.json (the pinned client) and conformance.js (tests/emulator/sdk:
# the official JavaScript SDK; tests/emulator/aisdk: the Vercel AI SDK's
# Deepgram provider). Exit 77 (meson: skipped) when node or npm is missing, or
# when the client is not installed yet and the npm registry is unreachable.
#
# Usage: run-sdk-conformance.sh DG_EMULATOR DG_SEQUENCE_AUDIO SDK_SRC_DIR WORK_DIR
set -euo pipefail

emulator=$(realpath "$1")
seqgen=$(realpath "$2")
src=$(realpath "$3")
work=$(realpath -m "$4")

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIP: node and npm are needed for the Deepgram SDK conformance test (apt install nodejs npm)"
  exit 77
fi

mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/conformance.js" "$work/"
cd "$work"

# Install the pinned SDK into the build directory (never into the source tree).
stamp=node_modules/.dg-emulator-lock
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  echo "installing $(basename "$src")'s client (npm ci) in $work"
  if ! npm ci --prefer-offline --no-audit --no-fund --loglevel=error; then
    if ! npm ping --loglevel=error >/dev/null 2>&1; then
      echo "SKIP: the npm registry ($(npm config get registry)) is unreachable and the client is not installed"
      exit 77
    fi
    exit 1
  fi
  cp package-lock.json "$stamp"
fi

"$seqgen" --blocks 30 --output seq.wav

key=sdk-conformance-key
# A previous run's files must not be read as this one's (the child truncates
# them only once it runs).
rm -f emulator.out emulator.err
"$emulator" --port 0 --api-key "$key" >emulator.out 2>emulator.err &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT

ready=""
for _ in $(seq 1 100); do
  if [[ -f emulator.out ]] && (($(wc -l <emulator.out) > 0)); then
    ready=$(head -n 1 emulator.out) # a whole line, not one being written
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
  sleep 0.05
done
if [[ $ready != DG_EMULATOR_READY* ]]; then
  echo "dg-emulator did not start:" >&2
  cat emulator.err >&2 || true
  exit 1
fi
echo "$ready"
http=$(sed -n 's/.* http=\([^ ]*\).*/\1/p' <<<"$ready")
ws=$(sed -n 's/.* ws=\([^ ]*\).*/\1/p' <<<"$ready")

DG_EMULATOR_API_KEY_SET=1 node conformance.js "$http" "$ws" seq.wav 30

# A clean shutdown on SIGTERM.
kill -TERM "$pid"
wait "$pid"
status=$?
trap - EXIT
if [[ $status -ne 0 ]]; then
  echo "dg-emulator exited with $status after SIGTERM" >&2
  exit 1
fi
echo "dg-emulator stopped cleanly"
