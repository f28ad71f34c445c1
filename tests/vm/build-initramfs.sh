#!/usr/bin/env bash
# build-initramfs.sh KERNEL_DIR — build (or reuse) the guest's initramfs
# for a kernel fetched by fetch-kernel.sh and print its path.
#
# The initramfs holds Debian's static busybox, tests/vm/init as /init, and
# the kernel modules the guest needs before it can reach the host's files —
# virtio PCI, 9p over virtio, overlayfs, virtio-rng — with everything they
# depend on, in the order `modprobe --show-depends` gives (so the guest
# only insmods; no depmod or modprobe there).  It is cached as
# KERNEL_DIR/initramfs-<hash>.cpio.gz, the hash covering this script,
# tests/vm/init, busybox and the module files, so a change to any of them
# builds a new one (builds unused for a week are deleted).
set -euo pipefail

say() { echo "build-initramfs: $*" >&2; }
die() { say "$*"; exit 1; }

kdir=${1:?usage: build-initramfs.sh KERNEL_DIR}
kdir=$(cd "$kdir" && pwd -P)
here=$(cd "$(dirname "$0")" && pwd -P)
[ -f "$kdir/.complete" ] || die "$kdir is not a complete kernel cache entry (fetch-kernel.sh)"
kver=$(cat "$kdir/kver")
modroot=$kdir/root

busybox=${QUILT_VM_BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || die "no $busybox: apt-get install busybox-static"
if ldd "$busybox" >/dev/null 2>&1; then
  die "$busybox is dynamically linked: the initramfs needs busybox-static"
fi
command -v cpio >/dev/null || die "no cpio: apt-get install cpio"
command -v modprobe >/dev/null || die "no modprobe: apt-get install kmod"

# What the guest loads: the 9p transport over virtio PCI, overlayfs for a
# writable root over the read-only host tree, and an entropy source.
wanted=(virtio_pci 9pnet_virtio 9p overlay virtio_rng)

mods=()
for m in "${wanted[@]}"; do
  out=$(modprobe -d "$modroot" -S "$kver" --show-depends "$m") || die "modprobe --show-depends $m failed"
  while read -r verb path _; do
    [ "$verb" = insmod ] || continue
    seen=
    for x in "${mods[@]}"; do [ "$x" = "$path" ] && seen=1; done
    [ -n "$seen" ] || mods+=("$path")
  done <<< "$out"
done

hash=$( { sha256sum "$0" "$here/init" "$busybox" "${mods[@]}" | cut -d' ' -f1;
          printf '%s\n' "${mods[@]}"; } | sha256sum | cut -c1-16)
out=$kdir/initramfs-$hash.cpio.gz
if [ -f "$out" ]; then
  touch "$out" 2>/dev/null || true     # last use, for pruning
  echo "$out"; exit 0
fi

exec 9>"$kdir/.initramfs.lock"
flock 9
if [ -f "$out" ]; then
  echo "$out"; exit 0
fi

tmp=$(mktemp -d "$kdir/.initramfs-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
r=$tmp/root
mkdir -p "$r"/{bin,dev,proc,sys,host,newroot,ovl,share,modules}
cp "$busybox" "$r/bin/busybox"
cp "$here/init" "$r/init"
chmod 755 "$r/init"
: > "$r/modules/order"
for p in "${mods[@]}"; do
  # Newer Debian kernels compress their modules; store them plain.
  b=$(basename "$p")
  case $b in
    *.ko.xz)  xz -dc "$p" > "$r/modules/${b%.xz}" ;;
    *.ko.zst) zstd -qdc "$p" > "$r/modules/${b%.zst}" ;;
    *.ko.gz)  gzip -dc "$p" > "$r/modules/${b%.gz}" ;;
    *)        cp "$p" "$r/modules/$b" ;;
  esac
  echo "${b%.ko*}.ko" >> "$r/modules/order"
done
echo "$kver" > "$r/kver"
# The kernel's built-in initramfs already has /dev/console; make it here
# too when we can, for kernels without one.
mknod -m 600 "$r/dev/console" c 5 1 2>/dev/null || true

(cd "$r" && find . -print0 | LC_ALL=C sort -z |
   cpio --null -o -H newc -R 0:0 --quiet) | gzip -6 > "$tmp/initramfs.cpio.gz"
mv "$tmp/initramfs.cpio.gz" "$out"
# Other builds (older scripts, other checkouts) unused for a week go.
find "$kdir" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -newer "$out" -mtime +7 -delete 2>/dev/null || true
say "built $(basename "$out") ($(du -h "$out" | cut -f1), ${#mods[@]} modules: $(for p in "${mods[@]}"; do basename "$p" .ko; done | tr '\n' ' '))"
echo "$out"
