#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed result, as a user gets it (docs/packaging.md):
#   1. builds the Debian packages from this tree with dpkg-buildpackage, in a copy (the tree
#      stays clean), and checks them with lintian (an error or warning fails);
#   2. runs `meson install --destdir` from the package's build dir and checks the file list;
#   3. installs both packages with apt, then, with no GST_PLUGIN_PATH and a fresh registry:
#      gst-inspect-1.0 finds dgtranscribebin in the multiarch system plugin dir, its version is
#      the package's, meson.build's, debian/changelog's and has a docs/CHANGELOG.md entry, and
#      the README one-liner makes captions against the installed dg-emulator;
#   4. purges both and checks that nothing is left: no file or directory the packages brought,
#      no other path under /usr /etc /opt /var (but dpkg's, apt's, caches and logs) added or
#      removed, the same installed packages as before, and gst-inspect-1.0 no longer finds it.
# A trap purges the packages however it ends. Root only (it installs packages): skipped with
# exit status 77 otherwise. The suite runs it last (tier package), when no other test runs:
# while it is installed, a build-tree test would see two copies of the plugin.
# Usage: tools/run-package.sh          PACKAGE_JOBS=N: compile jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

packages=(gstreamer1.0-deepgram-failover dg-emulator)
jobs=${PACKAGE_JOBS:-2}

say() { printf '\n--- %s\n' "$*"; }
skip() {
  echo "run-package: SKIP: $*"
  exit 77
}
fail() {
  echo "run-package: FAIL: $*" >&2
  exit 1
}

[[ $(id -u) == 0 ]] || skip "not root: it installs and purges the packages"
for tool in dpkg-buildpackage dh lintian apt-get gst-inspect-1.0; do
  command -v "$tool" >/dev/null || skip "no $tool (tools/ensure-deps.sh installs it)"
done
for p in "${packages[@]}"; do
  state=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ -z $state || $state == not-installed ]] ||
    fail "$p is on this machine already ($state); this test would purge it: apt-get purge $p"
done

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
plugin_so=/usr/lib/$multiarch/gstreamer-1.0/libgstdeepgramfailover.so
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=${version#*:}     # no epoch
upstream=${upstream%-*}    # no Debian revision (none in a native package)
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -1)

work=$(mktemp -d /tmp/run-package.XXXXXX)
chmod 755 "$work" # apt reads the .debs as the _apt user
installed=0
cleanup() {
  if ((installed)); then
    echo "run-package: purging ${packages[*]} after a failure"
    dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- versions: one number everywhere --------------------------------------------------------
say "versions"
echo "meson.build $meson_version, debian/changelog $version"
[[ $upstream == "$meson_version" ]] ||
  fail "debian/changelog is at $version but meson.build's project version is $meson_version"
grep -Eq "^## ${meson_version//./\\.}( |$)" docs/CHANGELOG.md ||
  fail "docs/CHANGELOG.md has no '## $meson_version' section saying what it changed"

# --- build ----------------------------------------------------------------------------------
say "dpkg-buildpackage (a copy of the tree, parallel=$jobs)"
tree=$work/gst-deepgram-failover-$upstream
mkdir "$tree"
if git rev-parse --git-dir >/dev/null 2>&1; then
  # What git tracks or would track, as it is on disk: no build dirs, no ignored files.
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -C "$tree" -xf -
else
  tar --exclude='./build*' --exclude='./_build*' --exclude=./demo-out -cf - . |
    tar -C "$tree" -xf -
fi
start=$(date +%s)
if ! (cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" dpkg-buildpackage -us -uc) \
  >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log"
  fail "dpkg-buildpackage failed (the end of its log above)"
fi
echo "built in $(($(date +%s) - start)) s:"
(cd "$work" && stat --printf "  %8s  %n\n" ./*.deb ./*.tar.*)
debs=()
for p in "${packages[@]}"; do
  deb=$(ls "$work/${p}_${version#*:}_"*.deb) || fail "no .deb for $p"
  debs+=("$deb")
done

say "lintian"
start=$(date +%s)
# Everything shown (info, pedantic, experimental); errors and warnings fail. Not as root:
# lintian unpacks what it checks.
lint=(lintian --fail-on "error,warning" --display-info --pedantic --display-experimental)
if id nobody >/dev/null 2>&1; then lint=(runuser -u nobody -- env HOME=/tmp "${lint[@]}"); fi
"${lint[@]}" "$work"/*.changes ||
  fail "lintian reported errors or warnings (above); fix them or override them with a reason"
echo "lintian: no error, no warning ($(($(date +%s) - start)) s)"

# --- meson install --------------------------------------------------------------------------
say "meson install --destdir (the package's build dir)"
# Every file the project installs; a new one goes into a debian/*.install (or not-installed)
# and here.
expected=(
  "usr/bin/dg-caption-demo"
  "usr/bin/dg-emulator"
  "usr/bin/dg-sequence-audio"
  "usr/lib/$multiarch/gstreamer-1.0/libgstdeepgramfailover.so"
  "usr/share/man/man1/dg-emulator.1"
  "usr/share/man/man1/dg-sequence-audio.1"
)
meson install -C "$(ls -d "$tree"/obj-*)" --no-rebuild --quiet --destdir "$work/destdir"
got=$(cd "$work/destdir" && find . ! -type d | sed 's|^\./||' | sort)
want=$(printf '%s\n' "${expected[@]}" | sort)
[[ $got == "$want" ]] || fail "meson install put $(diff <(echo "$want") <(echo "$got") |
  grep '^[<>]' | tr '\n' ' ')(< expected, > installed)"
printf '  %s\n' "${expected[@]}"

# --- install --------------------------------------------------------------------------------
say "apt-get install ${debs[*]##*/}"
# What the packages hold, and which of those paths were here before (/usr/bin, ...).
dpkg-query -W -f='${Package}:${Architecture} ${Version} ${db:Status-Status}\n' | sort \
  >"$work/packages-before"
for deb in "${debs[@]}"; do dpkg-deb --fsys-tarfile "$deb" | tar -t; done |
  sed 's|^\./|/|; s|/$||' | grep -v '^$' | sort -u >"$work/paths"
while IFS= read -r path; do
  [[ -e $path || -L $path ]] && echo "$path"
done <"$work/paths" >"$work/paths-before"
# And every path on the system a package can touch, for what maintainer scripts would create.
system_paths() {
  find /usr /etc /opt /var -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt -o \
    -path /var/cache -o -path /var/log -o -path /var/tmp \) -prune -o -print 2>/dev/null | sort
}
system_paths >"$work/system-before"
installed=1
start=$(date +%s)
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${debs[@]}" >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log"
  fail "apt-get install failed"
}
new=$(comm -13 "$work/packages-before" <(dpkg-query -W \
  -f='${Package}:${Architecture} ${Version} ${db:Status-Status}\n' | sort) | cut -d: -f1 |
  sort | tr '\n' ' ')
[[ $new == "$(printf '%s\n' "${packages[@]}" | sort | tr '\n' ' ')" ]] ||
  fail "apt installed '$new', not only ${packages[*]}: a dependency was missing (ensure-deps)"

# GStreamer from the system alone: no plugin path, a registry of its own.
system_gst() { # registry-name command...
  env -u GST_PLUGIN_PATH -u GST_PLUGIN_PATH_1_0 -u GST_PLUGIN_SYSTEM_PATH \
    -u GST_PLUGIN_SYSTEM_PATH_1_0 -u GST_REGISTRY_1_0 GST_REGISTRY="$work/registry-$1.bin" \
    "${@:2}"
}

say "gst-inspect-1.0 dgtranscribebin (no GST_PLUGIN_PATH)"
inspect=$(system_gst installed gst-inspect-1.0 dgtranscribebin) ||
  fail "gst-inspect-1.0 does not find dgtranscribebin in the installed package"
field() { sed -n "s/^  $1 *//p" <<<"$inspect" | head -1; }
echo "  Filename       $(field Filename)"
echo "  Version        $(field Version)"
echo "  Binary package $(field 'Binary package')"
[[ $(field 'Binary package') == "gstreamer1.0-deepgram-failover (Debian)" ]] ||
  fail "gst-inspect-1.0 shows the plugin of '$(field 'Binary package')', not the package's"
# realpath: with merged /usr, GStreamer may name it /lib/... as well as /usr/lib/...
[[ $(realpath "$(field Filename)") == "$(realpath "$plugin_so")" ]] ||
  fail "dgtranscribebin comes from $(field Filename), not $plugin_so"
package_version=$(dpkg-query -W -f='${Version}' gstreamer1.0-deepgram-failover)
package_upstream=${package_version#*:}
package_upstream=${package_upstream%-*}
[[ $(field Version) == "$package_upstream" ]] ||
  fail "gst-inspect-1.0 says version $(field Version), the package is $package_version"
elements=$(system_gst installed gst-inspect-1.0 deepgramfailover |
  sed -n 's/^  \([a-z0-9]*\): .*/\1/p' | sort | tr '\n' ' ')
[[ $elements == "dgbatchsink dgstreamsink dgtranscribebin sttcea608enc sttfailover " ]] ||
  fail "the installed plugin has the elements '$elements'"
echo "  elements: $elements"

say "the README one-liner against the installed dg-emulator"
system_gst readme python3 tests/examples/run_example.py readme --bin /usr/bin --source "$src" ||
  fail "the README one-liner did not make the expected captions with the installed packages"

# --- purge ----------------------------------------------------------------------------------
say "apt-get purge ${packages[*]}"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${packages[@]}" >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log"
  fail "apt-get purge failed"
}
installed=0
echo "installed for $(($(date +%s) - start)) s"
left=()
while IFS= read -r path; do
  if grep -qxF "$path" "$work/paths-before"; then
    [[ -e $path ]] || fail "purging removed $path, which was there before"
  elif [[ -e $path || -L $path ]]; then
    left+=("$path")
  fi
done <"$work/paths"
((${#left[@]} == 0)) || fail "left behind after purge: ${left[*]}"
changed=$(diff "$work/system-before" <(system_paths) | grep '^[<>]' | head -20 || true)
[[ -z $changed ]] || fail "the system differs from before the install (< gone, > new): $changed"
dpkg-query -W -f='${Package}:${Architecture} ${Version} ${db:Status-Status}\n' | sort |
  cmp -s - "$work/packages-before" || fail "the installed packages differ from before the test"
if system_gst purged gst-inspect-1.0 dgtranscribebin >/dev/null 2>&1; then
  fail "gst-inspect-1.0 still finds dgtranscribebin after the purge"
fi
echo "nothing left: the $(wc -l <"$work/paths") paths of the packages gone or as before," \
  "no other path in /usr /etc /opt /var changed, the same packages, no dgtranscribebin"
echo "run-package: PASS"
