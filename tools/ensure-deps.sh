#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 packages the build, tests and demo need, only those missing.
# Runs as root on a fresh machine; a no-op when everything is present.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build clang clang-format libclang-rt-14-dev
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-x gstreamer1.0-libav gstreamer1.0-plugins-ugly ffmpeg
  libsoup-3.0-dev libjson-glib-dev ca-certificates
  libopus-dev libogg-dev libflac-dev
  libpocketsphinx-dev pocketsphinx-en-us pocketsphinx-testdata
  sox espeak-ng
  python3 python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  nodejs npm valgrind
  openssl glib-networking
  iproute2 nftables  # tools/netns.sh: the network rehearsals (suite network)
  debhelper dpkg-dev lintian  # tools/run-package.sh: build, check and install the .debs
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# node may come from outside Debian (as on the CI image): then npm is not needed from apt.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "ensure-deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-deps: missing packages and not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
