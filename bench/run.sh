#!/usr/bin/env bash
# bench/run.sh [--runs N] [--warmup W] [--output FILE] [--no-write]
# Quilt next to crun and runc in one run; see bench/README.md.  As root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }

tmp=$(mktemp -d /tmp/quilt-bench-XXXXXX)
# bench.py stops its daemon and removes $tmp itself; this trap is the
# backstop should it die without doing so.
cleanup() {
  local pid
  if [ -f "$tmp/quiltd.pid" ]; then
    pid=$(cat "$tmp/quiltd.pid")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = quiltd ]; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    fi
  fi
  if [ -d "$tmp" ] && ! grep -q " $tmp/" /proc/self/mountinfo; then
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

/usr/bin/python3 "$here/bench.py" --tmpdir "$tmp" "$@"
