#!/usr/bin/env bash
# bench/run.sh [--runs N] [--warmup W] [--output FILE] [--no-write] [--network-only]
# Quilt next to crun and runc in one run; see bench/README.md.  As root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /tmp/quilt-bench-XXXXXX)
# bench.py stops its daemon and removes $tmp itself; this trap is the
# backstop should it die without doing so.
cleanup() {
  local pid f br
  for f in quiltd.pid quiltd-net.pid; do
    [ -f "$tmp/$f" ] || continue
    pid=$(cat "$tmp/$f")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = quiltd ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
  done
  # the bridge (qb-XXXXXX) and nft table of the network section's quiltd
  if [ -f "$tmp/net-bridge" ]; then
    br=$(cat "$tmp/net-bridge")
    case $br in
      qb-*)
        ip link del dev "$br" 2>/dev/null || true
        nft delete table ip "quilt_${br//-/_}" 2>/dev/null || true ;;
    esac
  fi
  if [ -d "$tmp" ] && ! grep -q " $tmp/" /proc/self/mountinfo; then
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

/usr/bin/python3 "$here/bench.py" --tmpdir "$tmp" "$@"
