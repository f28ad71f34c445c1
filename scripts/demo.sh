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
# An agent tool container: a setup command installs the "tool", a host
# directory is shared, the command runs under quilt-init as uid 1000.
shared=/run/quilt/demo-shared
mkdir -p "$shared" && chmod 0777 "$shared"
echo "\$ quilt-cli run --rm --image $image --init --user 1000:1000 -v $shared:/shared \\"
echo "    --setup 'printf ... > /usr/local/bin/tool' -- /bin/sh -c 'tool > /shared/result; id'"
"${cli[@]}" run --rm --image "$image" --init --user 1000:1000 -v "$shared:/shared" \
  --setup 'mkdir -p /usr/local/bin && printf "#!/bin/sh\necho tool ran as \$(id -u) in \$(hostname)\n" > /usr/local/bin/tool && chmod 755 /usr/local/bin/tool' \
  -- /bin/sh -c 'tool > /shared/result; echo "pid 1 is $(cat /proc/1/comm)"; id'
echo "host side: $shared/result: $(cat "$shared/result") (owner uid $(stat -c %u "$shared/result"))"
echo
echo "Try: ${cli[*]} ps    |    stop the daemon: scripts/demo.sh stop"
