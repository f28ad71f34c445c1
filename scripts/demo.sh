#!/usr/bin/env bash
# demo.sh — build Quilt, start quiltd on the default config
# (conf/quiltd.ini: every namespace, pivot_root) and run a demo container
# from a busybox image built here.  quiltd keeps running afterwards so
# you can try quilt-cli; `scripts/demo.sh stop` ends it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: quiltd creates namespaces and mounts" >&2; exit 1; }

socket=/run/quilt/quiltd.sock
pidfile=/run/quilt/quiltd.pid
cli=(build/cli/quilt-cli --socket "$socket")

if [ "${1:-}" = stop ]; then
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$pidfile"
    echo "quiltd stopped"
  fi
  exit 0
fi

bash scripts/install-deps.sh
[ -d build ] || meson setup build
ninja -C build

image=/var/lib/quilt-demo/busybox.tar.gz
mkdir -p "$(dirname "$image")"
[ -f "$image" ] || bash scripts/build-busybox-rootfs.sh "$image"

build/core/quiltd --check-config --config conf/quiltd.ini --plugin-dir build/plugins

if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
  mkdir -p /run/quilt
  build/core/quiltd --config conf/quiltd.ini --plugin-dir build/plugins \
    >>/run/quilt/quiltd.log 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 100); do
    "${cli[@]}" ps >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
echo "quiltd is running (pid $(cat "$pidfile"), socket $socket, log /run/quilt/quiltd.log)"
echo
echo "\$ quilt-cli run --rm --image $image --hostname demo -- /bin/sh -c '...'"
"${cli[@]}" run --rm --image "$image" --hostname demo -- /bin/sh -c \
  'echo "hello from $(hostname): I am pid $$"; echo my root: $(ls /); echo network interfaces: $(tail -n +3 /proc/net/dev | cut -d: -f1)'
echo
echo "Try: ${cli[*]} ps    |    stop the daemon: scripts/demo.sh stop"
