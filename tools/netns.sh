#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Network rehearsals: a private network namespace whose loopback can be slowed
# (tc tbf), blackholed (nftables drop: no RST, no ICMP) or made lossy, so that
# dg-emulator and a pipeline in it see a network that degrades instead of dying.
#
# Usage:
#   tools/netns.sh check                       exit 0 when usable; 77 (skip) with the reason
#   tools/netns.sh run [--name NS] -- CMD...   a new namespace NS (default dgnet-PID), lo up,
#                                              MTU 1500; runs CMD in it with DG_NETNS=NS and
#                                              DG_NETNS_TOOL=this script; always deletes it
#   tools/netns.sh [-n NS] shape RATE [LATENCY]  tbf on lo: RATE (e.g. 128kbit), queue LATENCY
#                                              (default 500ms); replaces any shaping
#   tools/netns.sh [-n NS] unshape             lo back to its default qdisc
#   tools/netns.sh [-n NS] blackhole PORT      silently drop TCP to and from PORT
#   tools/netns.sh [-n NS] loss PERCENT PORT   drop PERCENT % of TCP segments to and from PORT
#   tools/netns.sh [-n NS] restore             remove every drop rule (table inet dgtest)
#   tools/netns.sh [-n NS] status              the qdisc and the rules
#
# Without -n the commands act on the namespace the caller runs in, and refuse
# to run in the host's (initial) namespace: the host's loopback is never shaped.
# Needs root, iproute2 (ip, tc) and nftables (tools/ensure-deps.sh installs it).
set -euo pipefail

self=$(readlink -f "$0")
table=dgtest
ns=""

die() {
  echo "netns.sh: $*" >&2
  exit 1
}

skip() {
  echo "netns.sh: SKIP: $*" >&2
  exit 77
}

check() {
  [[ $(id -u) -eq 0 ]] || skip "not root (network namespaces, tc and nft need root)"
  local tool
  for tool in ip tc nft; do
    command -v "$tool" >/dev/null || skip "$tool is not installed (tools/ensure-deps.sh)"
  done
  local probe="dgnet-probe-$$"
  ip netns add "$probe" 2>/dev/null || skip "ip netns add is not permitted here"
  local ok=1
  ip netns exec "$probe" nft list tables >/dev/null 2>&1 || ok=0
  ip netns exec "$probe" tc qdisc show dev lo >/dev/null 2>&1 || ok=0
  ip netns del "$probe"
  ((ok)) || skip "nft or tc cannot run inside a namespace here"
}

# Runs a command in the namespace chosen with -n, or in the current one.
in_ns() {
  if [[ -n "$ns" ]]; then
    ip netns exec "$ns" "$@"
  else
    "$@"
  fi
}

# The current namespace must be a named, non-initial one (or -n given).
guard() {
  [[ -n "$ns" ]] && return 0
  local here
  here=$(ip netns identify "$$" 2>/dev/null || true)
  [[ -n "$here" ]] || die "not inside a named network namespace; use -n NS or 'run'"
}

ensure_table() {
  in_ns nft list table inet "$table" >/dev/null 2>&1 && return 0
  in_ns nft add table inet "$table"
  in_ns nft add chain inet "$table" output \
    '{ type filter hook output priority 0; policy accept; }'
}

valid_port() {
  if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > 65535)); then
    die "bad port: $1"
  fi
}

cmd_run() {
  local name="dgnet-$$"
  if [[ "${1:-}" == --name ]]; then
    name=$2
    shift 2
  fi
  [[ "${1:-}" == -- ]] && shift
  (($# > 0)) || die "run: no command"
  check
  ip netns add "$name" || die "cannot create namespace $name"
  # shellcheck disable=SC2064 # the name is fixed now, on purpose
  trap "ip netns del '$name' 2>/dev/null || true" EXIT
  trap 'exit 130' INT TERM
  ip -n "$name" link set lo up
  # A real link's MTU: tbf then shapes segments of a realistic size.
  ip -n "$name" link set lo mtu 1500
  local rc=0
  DG_NETNS="$name" DG_NETNS_TOOL="$self" ip netns exec "$name" "$@" || rc=$?
  return "$rc"
}

while (($# > 0)); do
  case "$1" in
  -n)
    ns=$2
    shift 2
    ;;
  *) break ;;
  esac
done
(($# > 0)) || die "usage: see the head of $self"
command=$1
shift

case "$command" in
check) check ;;
run) cmd_run "$@" ;;
shape)
  (($# >= 1)) || die "shape RATE [LATENCY]"
  guard
  # burst: one 1500-byte segment plus headroom; larger bursts would hide the rate.
  in_ns tc qdisc replace dev lo root tbf rate "$1" burst 4kb latency "${2:-500ms}"
  ;;
unshape)
  guard
  in_ns tc qdisc del dev lo root 2>/dev/null || true
  ;;
blackhole)
  (($# == 1)) || die "blackhole PORT"
  valid_port "$1"
  guard
  ensure_table
  in_ns nft add rule inet "$table" output tcp dport "$1" drop
  in_ns nft add rule inet "$table" output tcp sport "$1" drop
  ;;
loss)
  (($# == 2)) || die "loss PERCENT PORT"
  if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 > 100)); then
    die "bad percentage: $1"
  fi
  valid_port "$2"
  guard
  ensure_table
  in_ns nft add rule inet "$table" output tcp dport "$2" numgen random mod 100 "<" "$1" drop
  in_ns nft add rule inet "$table" output tcp sport "$2" numgen random mod 100 "<" "$1" drop
  ;;
restore)
  guard
  in_ns nft delete table inet "$table" 2>/dev/null || true
  ;;
status)
  guard
  in_ns tc qdisc show dev lo
  in_ns nft list ruleset
  ;;
*) die "unknown command: $command" ;;
esac
