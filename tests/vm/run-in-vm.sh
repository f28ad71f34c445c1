#!/usr/bin/env bash
# run-in-vm.sh — run a command as root inside a qemu VM that boots Debian's
# kernel with a PURE cgroup v2 hierarchy (memory, cpu, pids, io enabled in
# the root's cgroup.subtree_control), in a copy-on-write view of this
# host's whole file tree; exit with the command's exit code.
#
#   tests/vm/run-in-vm.sh [OPTIONS] -- COMMAND [ARGS...]
#
#   --timeout S          kill the VM after S seconds (default 1200)
#   --memory MIB         guest RAM (default 3072)
#   --smp N              guest CPUs (default 2)
#   --controllers "..."  controllers to enable (default "memory cpu pids io")
#   --cgroup PATH        run the command in the cgroup /PATH, controllers
#                        enabled down to its parent, like a systemd service
#                        with Delegate=yes (default: the root cgroup)
#   --swap MIB           give the guest MIB of swap (zram), for swap limits
#                        (default: no swap; memory.swap.* exist either way)
#   --rw DIR             share this host directory WRITABLE with the guest,
#                        at the same path (repeatable); e.g. where a JUnit
#                        file or logs must survive the VM
#   --env K=V            set K in the command's environment (repeatable)
#   --verbose            show the kernel's boot messages
#   --keep               keep the work dir /tmp/quilt-test-vm-* (console.log,
#                        the share) for a look afterwards
#
# The command runs in the same directory as here (the host's / is shared
# read-only over 9p; writes land in a tmpfs overlay and vanish with the
# VM, except in --rw directories and $QUILT_VM_SHARE), with a clean
# environment: PATH, HOME=/root, LANG=C.UTF-8, TERM=dumb,
# QUILT_VM=1, QUILT_VM_SHARE (a directory shared writable with the host,
# gone after the run unless --keep), the caller's QUILT_*,
# ASAN/UBSAN/LSAN_OPTIONS, PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED,
# and each --env.  Its stdout and stderr are the guest's serial console,
# copied to our stdout; stdin is /dev/null.  The guest kernel's modules
# are at /lib/modules/$(uname -r) (modprobe veth, null_blk, zram work).
#
# Exit codes: the command's; 77 (skipped) only when qemu cannot run here at
# all; 99 when the harness or the guest's setup failed (message on stderr;
# a command exiting 99 itself is told apart by that message).
#
# Environment: QUILT_VM_CACHE (kernel + initramfs cache, see
# fetch-kernel.sh), QUILT_VM_ACCEL (default tcg), QUILT_VM_CPU (default
# max), QUILT_VM_QEMU (default qemu-system-x86_64), QUILT_VM_APPEND (more
# kernel parameters; quiltvm.hostopts=cache=none stops the guest caching
# the host's files), QUILT_VM_NO_INSTALL=1 (never apt-get install the
# missing qemu-system-x86, cpio, kmod, busybox-static).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd -P)
timeout_s=1200 mem=3072 smp=2 swap=0 controllers="memory cpu pids io" cgroup='' verbose='' keep=''
extra_env=() rw_dirs=()

log() { echo "run-in-vm: $*" >&2; }
error() { log "error: $*"; exit 99; }
skip() { echo "skipped: qemu cannot run here: $*" >&2; exit 77; }
usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --timeout) timeout_s=${2:?}; shift 2 ;;
    --memory) mem=${2:?}; shift 2 ;;
    --smp) smp=${2:?}; shift 2 ;;
    --swap) swap=${2:?}; shift 2 ;;
    --controllers) controllers=${2?}; shift 2 ;;
    --cgroup) cgroup=${2:?}; cgroup=${cgroup#/}; cgroup=${cgroup%/}; shift 2 ;;
    --rw) [ -d "${2:?}" ] || error "--rw $2: no such directory"; rw_dirs+=("$(cd "$2" && pwd -P)"); shift 2 ;;
    --env) [[ $2 == [A-Za-z_]*=* ]] || error "--env wants K=V, not '$2'"; extra_env+=("$2"); shift 2 ;;
    --verbose) verbose=1; shift ;;
    --keep) keep=1; shift ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) log "unknown option: $1"; usage ;;
  esac
done
[ $# -gt 0 ] || usage
[[ $timeout_s =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ && $smp =~ ^[0-9]+$ && $swap =~ ^[0-9]+$ ]] ||
  error "--timeout, --memory, --smp and --swap take plain numbers"
for c in $controllers; do
  [[ $c =~ ^[a-z_]+$ ]] || error "bad controller name '$c'"
done
[[ -z $cgroup || $cgroup =~ ^[A-Za-z0-9_.@/-]+$ ]] || error "bad cgroup path '$cgroup'"

t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# --- host tools -------------------------------------------------------------
qemu=${QUILT_VM_QEMU:-qemu-system-x86_64}
accel=${QUILT_VM_ACCEL:-tcg}
static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }
missing=()
command -v "$qemu" >/dev/null || missing+=(qemu-system-x86)
command -v cpio >/dev/null || missing+=(cpio)
{ command -v depmod && command -v modprobe; } >/dev/null || missing+=(kmod)
static_busybox || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ] && [ -z "${QUILT_VM_NO_INSTALL:-}" ] &&
   [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; } ||
    log "apt-get install ${missing[*]} failed"
fi
command -v "$qemu" >/dev/null ||
  skip "$qemu is not installed and could not be installed (apt-get install qemu-system-x86)"
command -v cpio >/dev/null || error "no cpio (apt-get install cpio)"
command -v modprobe >/dev/null || error "no modprobe/depmod (apt-get install kmod)"
static_busybox || error "no static /bin/busybox (apt-get install busybox-static)"
command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
  error "fetching Debian's kernel needs apt-get and dpkg"

# Can qemu start a machine with this accelerator and memory at all?
probe_err=$(echo quit | timeout 60 "$qemu" -accel "$accel" -M q35 -m "$mem" -nodefaults \
              -no-user-config -display none -S -monitor stdio 2>&1 >/dev/null) ||
  skip "$qemu -accel $accel -m $mem does not start: ${probe_err:-exit $?}"

# --- kernel and initramfs (cached) -------------------------------------------
kdir=$("$here/fetch-kernel.sh") || error "could not fetch Debian's kernel (see above)"
initrd=$("$here/build-initramfs.sh" "$kdir") || error "could not build the initramfs (see above)"
t_ready=$(date +%s.%N)

# --- the run -----------------------------------------------------------------
work=$(mktemp -d /tmp/quilt-test-vm-XXXXXX)
share=$work/share
mkdir -m 755 "$share"
pipe_pid=

# shellcheck disable=SC2317  # called from the EXIT trap
pid_of() { local p; p=$(cat "$1" 2>/dev/null) && [[ $p =~ ^[0-9]+$ ]] && echo "$p"; }
# Kill the VM (and its `timeout`) by pid, only if the pid is still what we
# started.
stop_vm() {
  local f p comm i
  for f in "$work/qemu.pid" "$work/timeout.pid"; do
    p=$(pid_of "$f") || continue
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $comm in qemu-system-*|timeout) ;; *) continue ;; esac
    log "stopping $comm (pid $p)"
    kill -TERM "$p" 2>/dev/null || continue
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -n "$pipe_pid" ]; then wait "$pipe_pid" 2>/dev/null || true; fi
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_vm
  if [ -n "$keep" ]; then
    log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM HUP

# For busybox sh: single-quoted values.
sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
{
  echo "QVM_SHARE=$(sq "$share")"
  echo "QVM_KDIR=$(sq "$kdir")"
  echo "QVM_CONTROLLERS=$(sq "$controllers")"
  echo "QVM_CGROUP=$(sq "$cgroup")"
  echo "QVM_SWAP_MIB=$(sq "$swap")"
} > "$share/vm.conf"
# --rw directories: one "TAG PATH" line each (PATH may hold spaces).
: > "$share/rw.list"
rw_args=()
for i in "${!rw_dirs[@]}"; do
  d=${rw_dirs[$i]}
  [[ $d != *$'\n'* && $d != *,* ]] || error "--rw $d: commas and newlines cannot pass to qemu"
  echo "quiltrw$i $d" >> "$share/rw.list"
  rw_args+=(-virtfs "local,path=$d,mount_tag=quiltrw$i,security_model=none,multidevs=remap")
done

# The command, for bash in the guest.
{
  echo "# written by run-in-vm.sh"
  # TERM=dumb: the console is a serial line; no colours, no \r progress.
  echo "export LANG=C.UTF-8 TERM=dumb QUILT_VM=1 QUILT_VM_SHARE=$(printf %q "$share")"
  while IFS= read -r name; do
    case $name in
      QUILT_*|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS|PYTHONDONTWRITEBYTECODE|PYTHONUNBUFFERED)
        printf 'export %s=%q\n' "$name" "${!name}" ;;
    esac
  done < <(compgen -e)
  for kv in "${extra_env[@]}"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
  printf 'cd -- %q 2>/dev/null || cd /\n' "$(pwd -P)"
  printf 'exec'; printf ' %q' "$@"; echo
} > "$share/cmd.sh"
printf '%q ' "$@" > "$share/cmd.txt"

append="console=ttyS0 panic=-1 cgroup_no_v1=all mitigations=off"
[ -n "$verbose" ] || append="$append quiet"
append="$append ${QUILT_VM_APPEND:-}"
# shellcheck disable=SC2054  # commas inside qemu option values
qemu_args=(
  -name quilt-vm -accel "$accel" -M q35 -cpu "${QUILT_VM_CPU:-max}" -smp "$smp" -m "$mem"
  -nodefaults -no-user-config -display none -nic none -no-reboot
  -chardev stdio,id=con,signal=off -serial chardev:con
  -kernel "$kdir/vmlinuz" -initrd "$initrd" -append "$append"
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
  -virtfs "local,path=$share,mount_tag=quiltvm,security_model=none,multidevs=remap"
  "${rw_args[@]}"
  -device virtio-rng-pci
  -pidfile "$work/qemu.pid"
)
log "kernel $(cat "$kdir/package"), initramfs $(basename "$initrd"), $accel, ${smp} CPUs, ${mem} MiB, timeout ${timeout_s} s"
t_boot=$(date +%s.%N)
# qemu stays in our process group (timeout --foreground), so a test
# runner that kills the group (meson on its timeout) also kills the VM;
# its console goes through sed (no CRs) to our stdout and console.log.
(
  timeout --foreground -k 10 "$timeout_s" "$qemu" "${qemu_args[@]}" </dev/null 2>&1 &
  echo $! > "$work/timeout.pid"
  wait $! && echo 0 > "$work/qemu.rc" || echo $? > "$work/qemu.rc"
) | sed -u 's/\r//g' | tee "$work/console.log" &
pipe_pid=$!
wait "$pipe_pid" || true
pipe_pid=

qrc=$(cat "$work/qemu.rc" 2>/dev/null || echo "?")
if [ -f "$share/rc" ]; then
  rc=$(cat "$share/rc")
elif grep -q '^QUILT-VM-RESULT rc=' "$work/console.log"; then
  rc=$(sed -n 's/^QUILT-VM-RESULT rc=\([0-9]*\).*/\1/p' "$work/console.log" | tail -n1)
else
  rc=
fi
timing="boot to poweroff $(elapsed "$t_boot") s, kernel+initramfs $(awk -v a="$t_start" -v b="$t_ready" 'BEGIN { printf "%.1f", b - a }') s, total $(elapsed "$t_start") s"
if [ -f "$share/error" ]; then
  error "the guest's setup failed: $(cat "$share/error") ($timing)"
elif [ -z "$rc" ] || ! [[ $rc =~ ^[0-9]+$ ]]; then
  if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    error "timed out: the VM was killed after --timeout ${timeout_s} s"
  fi
  error "the VM ended without a result (qemu exit $qrc; $timing)"
fi
log "command exit code $rc ($timing)"
exit "$rc"
