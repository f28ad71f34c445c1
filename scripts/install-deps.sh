#!/usr/bin/env bash
# Installs what Quilt builds and tests with, from Debian's packages.
set -euo pipefail
packages=(
  meson ninja-build pkg-config gcc libc6-dev
  libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
  libarchive-dev libinih-dev libcmocka-dev libjson-c-dev libcurl4-openssl-dev
  libcap-dev libseccomp-dev libmnl-dev libnftables-dev nftables
  busybox-static iproute2 util-linux procps
  python3 python3-grpcio python3-protobuf python3-pytest
  protobuf-compiler protobuf-compiler-grpc
  qemu-system-x86 cpio kmod
  docker-registry skopeo
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
