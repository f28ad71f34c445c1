#!/usr/bin/env bash
# fetch-kernel.sh — download Debian's kernel for the VM tests and unpack it
# into a cache; print the cache entry's directory.
#
#   tests/vm/fetch-kernel.sh [--cache DIR]
#
# The kernel is the package linux-image-amd64 depends on (e.g.
# linux-image-6.1.0-57-amd64), fetched with `apt-get download` and unpacked
# with `dpkg -x` — never installed, nothing under /boot or /lib/modules of
# this host is touched.  The entry DIR/<package>_<version>/ holds
#   vmlinuz                     the kernel
#   kver                        its release (uname -r in the guest)
#   root/lib/modules/<kver>/    its modules (less drivers for hardware a VM
#                               lacks), with depmod's index
# and is reused as long as apt names the same package version (without
# package lists, the newest entry in the cache is used).  Entries of other
# versions are deleted once unused for a week.
#
# Environment: QUILT_VM_CACHE (cache dir; default /var/cache/quilt-vm when
# writable, else ~/.cache/quilt-vm), QUILT_VM_KERNEL_PKG (another package,
# e.g. linux-image-6.1.0-57-amd64 or linux-image-cloud-amd64's dependency).
set -euo pipefail

say() { echo "fetch-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

default_cache() {
  if [ -n "${QUILT_VM_CACHE:-}" ]; then
    echo "$QUILT_VM_CACHE"
  elif [ -w /var/cache ] || [ -w /var/cache/quilt-vm ]; then
    echo /var/cache/quilt-vm
  else
    echo "${XDG_CACHE_HOME:-$HOME/.cache}/quilt-vm"
  fi
}

cache=$(default_cache)
while [ $# -gt 0 ]; do
  case $1 in
    --cache) cache=${2:?--cache DIR}; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
mkdir -p "$cache"
cache=$(cd "$cache" && pwd -P)

# The versioned kernel package and its candidate version, from apt's lists.
resolve() {
  local pkg=${QUILT_VM_KERNEL_PKG:-} ver=
  if [ -z "$pkg" ]; then
    # One apt-cache call (~0.5 s each): "Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)"
    read -r pkg ver < <(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
      sed -n 's/^Depends: \(linux-image-[0-9][^ ,]*\)\( (= \([^)]*\))\)\{0,1\}.*/\1 \3/p' | head -n1) || true
  fi
  [ -n "$pkg" ] || return 1
  if [ -z "$ver" ]; then
    ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
  fi
  [ -n "$ver" ] || return 1
  echo "${pkg}_${ver}"
}

newest_cached() {
  local d best=
  for d in "$cache"/linux-image-*; do
    [ -f "$d/.complete" ] && best=$d
  done
  [ -n "$best" ] && echo "$best"
}

if ! key=$(resolve); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "no package lists for linux-image-amd64: apt-get update"
    apt-get update -qq >&2 || true
  fi
  if ! key=$(resolve); then
    if d=$(newest_cached); then
      say "apt knows no linux-image-amd64; using the cached $(basename "$d")"
      echo "$d"; exit 0
    fi
    die "cannot resolve linux-image-amd64's kernel package (apt-cache depends linux-image-amd64)"
  fi
fi
entry=$cache/$key
if [ -f "$entry/.complete" ]; then
  touch "$entry/.complete" 2>/dev/null || true     # last use, for pruning
  echo "$entry"; exit 0
fi

# One fetch at a time per cache; a second caller waits and finds it done.
exec 9>"$cache/.lock"
flock 9
if [ -f "$entry/.complete" ]; then
  echo "$entry"; exit 0
fi

# Left by a fetch that was killed (we hold the lock: none is running).
find "$cache" -maxdepth 1 -name '.fetch-*' -exec rm -rf {} + 2>/dev/null || true
pkg=${key%%_*} ver=${key#*_}
tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
# apt drops privileges to _apt for the download when it can write there.
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
say "downloading $pkg=$ver"
download() { (cd "$tmp" && apt-get download -q "$pkg=$ver") >&2; }
if ! download; then
  [ "$(id -u)" = 0 ] || die "apt-get download $pkg=$ver failed"
  say "download failed; apt-get update and retry"
  apt-get update -qq >&2
  download || die "apt-get download $pkg=$ver failed"
fi
deb=$(ls "$tmp"/*.deb)
say "unpacking $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg -x "$deb" "$tmp/pkg"
rm -f "$deb"

moddir=
for d in "$tmp"/pkg/lib/modules/* "$tmp"/pkg/usr/lib/modules/*; do
  [ -d "$d" ] && { moddir=$d; break; }
done
[ -n "$moddir" ] || die "$pkg has no lib/modules/<version>"
kver=$(basename "$moddir")
[ -f "$tmp/pkg/boot/vmlinuz-$kver" ] || die "$pkg has no boot/vmlinuz-$kver"

# Drivers for hardware a qemu guest never has (and a container test never
# loads): 400 MB unpacked, ~170 MB without them.  Network devices (veth,
# bridge, macvlan, tun, ...), filesystems, netfilter and virtio all stay.
(cd "$moddir/kernel" && rm -rf sound drivers/gpu drivers/media drivers/scsi drivers/usb \
   drivers/infiniband drivers/iio drivers/staging drivers/hid drivers/input drivers/ata \
   drivers/video drivers/target drivers/mtd drivers/comedi drivers/hwmon drivers/bluetooth \
   drivers/isdn drivers/net/ethernet drivers/net/wireless drivers/net/usb drivers/net/can)
mkdir -p "$tmp/out/root/lib/modules"
mv "$tmp/pkg/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
mv "$tmp/pkg/boot/config-$kver" "$tmp/out/config" 2>/dev/null || true
mv "$moddir" "$tmp/out/root/lib/modules/$kver"
echo "$kver" > "$tmp/out/kver"
echo "$pkg $ver" > "$tmp/out/package"
depmod -b "$tmp/out/root" "$kver" || die "depmod -b ... $kver failed (is kmod installed?)"
touch "$tmp/out/.complete"

rm -rf "$entry"
mv "$tmp/out" "$entry"
chmod 755 "$entry"
say "cached $pkg $ver in $entry"
# Entries of other kernels unused for a week go (not at once: a run in
# progress may still use one).
for d in "$cache"/linux-image-*; do
  [ "$d" != "$entry" ] && [ -d "$d" ] || continue
  if [ -z "$(find "$d/.complete" -mtime -7 2>/dev/null)" ]; then
    say "removing $(basename "$d"), unused for a week"
    rm -rf "$d"
  fi
done
echo "$entry"
