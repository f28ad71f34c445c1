#!/usr/bin/env bash
# smoke.sh — prove the VM harness: boot the pure cgroup v2 guest once and,
# inside it, check the hierarchy, start quiltd (conf/quiltd.ini, this build's
# plugins, socket and state dir under /tmp), run busybox containers with
# quilt-cli (timing `run --rm ... /bin/true`), stop the daemon, and — with
# pytest arguments after `--` — run that part of the integration suite.
#
#   tests/vm/smoke.sh [BUILD_DIR] [-- PYTEST_ARGS...]
#   e.g. tests/vm/smoke.sh build-vm -- -k "lifecycle or stop"
#
# BUILD_DIR defaults to $QUILT_BUILD_DIR, else build.  Outside the VM this
# re-runs itself through run-in-vm.sh (options from $QUILT_VM_OPTS, e.g.
# "--timeout 600"); inside (QUILT_VM=1) it does the work.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd -P)
build=${QUILT_BUILD_DIR:-build}
if [ $# -gt 0 ] && [ "$1" != -- ]; then build=$1; shift; fi
[ "${1:-}" != -- ] || shift
build=$(cd "$build" && pwd -P)

if [ "${QUILT_VM:-}" != 1 ]; then
  # The image is built here, natively: ~400 fork+execs of ln take ~20 s
  # under TCG.  The guest sees this host's /tmp through its overlay.
  host_tmp=$(mktemp -d /tmp/quilt-test-vm-smoke-XXXXXX)
  trap 'rm -rf "$host_tmp"' EXIT
  bash "$src/scripts/build-busybox-rootfs.sh" "$host_tmp/busybox.tar.gz" >/dev/null
  export QUILT_SMOKE_IMAGE=$host_tmp/busybox.tar.gz
  rc=0
  # shellcheck disable=SC2086
  "$src/tests/vm/run-in-vm.sh" ${QUILT_VM_OPTS:-} -- "$src/tests/vm/smoke.sh" "$build" -- "$@" || rc=$?
  exit $rc
fi

fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
step() { echo "smoke: $*"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- the hierarchy is pure cgroup v2 ------------------------------------------
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || fail "/sys/fs/cgroup is not a cgroup2"
v1=$(awk '$3 == "cgroup"' /proc/mounts)
[ -z "$v1" ] || fail "a cgroup v1 hierarchy is mounted: $v1"
step "pure cgroup2; root subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
for c in memory cpu pids io; do
  grep -qw "$c" /sys/fs/cgroup/cgroup.subtree_control || fail "controller $c not enabled"
done

# --- quiltd + quilt-cli ------------------------------------------------------
for b in core/quiltd core/quilt-monitor cli/quilt-cli plugins/ns.so plugins/rootfs.so; do
  [ -e "$build/$b" ] || fail "$build/$b not built"
done
tmp=$(mktemp -d /tmp/quilt-test-vm-smoke-XXXXXX)
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"; wait "$daemon_pid" || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ -n "${QUILT_SMOKE_IMAGE:-}" ]; then
  cp "$QUILT_SMOKE_IMAGE" "$tmp/busybox.tar.gz"
else
  bash "$src/scripts/build-busybox-rootfs.sh" "$tmp/busybox.tar.gz" >/dev/null
fi
t=$(date +%s%N)
sock=$tmp/quiltd.sock
"$build/core/quiltd" --config "$src/conf/quiltd.ini" --plugin-dir "$build/plugins" \
  --socket "$sock" --state-dir "$tmp/state" > "$tmp/quiltd.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$tmp/quiltd.log"; fail "quiltd did not create $sock"; }
step "quiltd up after $(ms_since "$t") ms"
cli() { "$build/cli/quilt-cli" --socket "$sock" "$@"; }

t=$(date +%s%N)
cli run --rm --image "$tmp/busybox.tar.gz" -- /bin/true || fail "run /bin/true"
step "first quilt-cli run --rm ... /bin/true: $(ms_since "$t") ms"
n=5 t=$(date +%s%N)
for _ in $(seq $n); do cli run --rm --image "$tmp/busybox.tar.gz" -- /bin/true || fail "run /bin/true"; done
step "quilt-cli run --rm ... /bin/true: $(( $(ms_since "$t") / n )) ms on average over $n"

out=$(cli run --rm --image "$tmp/busybox.tar.gz" --hostname smoke -- \
        sh -c 'echo "hello from $(hostname), pid $$"; cat /proc/self/cgroup') || fail "run sh"
echo "$out" | sed 's/^/  container: /'
echo "$out" | grep -q "hello from smoke, pid 1" || fail "unexpected output: $out"
set +e
cli run --rm --image "$tmp/busybox.tar.gz" -- sh -c 'exit 7'
rc=$?
set -e
[ $rc = 7 ] || fail "exit code $rc, not 7"
step "exit codes pass through"

kill -TERM "$daemon_pid"; wait "$daemon_pid" || fail "quiltd exited with $?"
daemon_pid=
grep -Ei "error|sanitizer" "$tmp/quiltd.log" && fail "errors in quiltd's log"
step "quiltd stopped cleanly"

# --- a part of the integration suite ------------------------------------------
if [ $# -gt 0 ]; then
  step "integration tests: pytest $*"
  cd "$src"
  t=$(date +%s%N)
  QUILT_BUILD_DIR=$build QUILT_SOURCE_DIR=$src PYTHONDONTWRITEBYTECODE=1 \
    /usr/bin/python3 -m pytest -v -p no:cacheprovider tests/integration "$@"
  step "pytest took $(( $(ms_since "$t") / 1000 )) s"
fi
step "OK"
