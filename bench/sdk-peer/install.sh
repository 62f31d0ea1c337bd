#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the SDK peer (bench/sdk-peer, @deepgram/sdk pinned by
# package-lock.json) into a build directory with `npm ci`; never into the
# source tree. Exit 77 (meson: skipped) when node or npm is missing.
#
# Usage: install.sh DEST_DIR
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
dest=$(realpath -m "$1")

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIP: node and npm are needed for the Deepgram SDK peer (apt install nodejs npm)" >&2
  exit 77
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$src/live_peer.js" "$dest/"
cd "$dest"
stamp=node_modules/.bench-sdk-peer-lock
if [[ ! -f $stamp ]] || ! cmp -s package-lock.json "$stamp"; then
  echo "installing @deepgram/sdk (npm ci) in $dest" >&2
  if ! npm ci --prefer-offline --no-audit --no-fund --loglevel=error >&2; then
    echo "SKIP: npm ci failed (no registry?): the SDK peer is not installed" >&2
    exit 77
  fi
  cp package-lock.json "$stamp"
fi
