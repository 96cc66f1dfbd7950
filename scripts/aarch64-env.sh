#!/usr/bin/env bash
# Makes this machine run aarch64 Linux test binaries: qemu-aarch64 (Debian `qemu-user`), the
# cross linker and C library (`gcc-aarch64-linux-gnu`, `libc6-dev-arm64-cross`) and the rustup
# target. Installs with apt-get only what is missing, and only as root; exits non-zero (with
# the reason) when something is missing and cannot be installed.
set -euo pipefail
need=()
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing ${need[*]} and not root: apt-get install ${need[*]}" >&2; exit 1; fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu >&2
