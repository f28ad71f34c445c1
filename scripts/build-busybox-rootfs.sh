#!/usr/bin/env bash
# build-busybox-rootfs.sh OUT.tar.gz — a minimal rootfs tarball from
# Debian's busybox-static: /bin/busybox, one symlink per applet, and the
# usual top-level directories.  No network needed.
set -euo pipefail
out=${1:?usage: build-busybox-rootfs.sh OUT.tar.gz}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "no $busybox: apt-get install busybox-static" >&2; exit 1; }
tmp=$(mktemp -d /tmp/quilt-rootfs-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,mnt,var,run}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$root/etc/group"
echo quilt > "$root/etc/hostname"
tar --numeric-owner --owner=0 --group=0 -C "$root" -czf "$out" .
echo "$out"
