#!/usr/bin/env bash
# Makes this machine run 32-bit Arm (ARMv7-A, Thumb-2) Linux test binaries for the DSP int8
# kernels: qemu-arm (Debian `qemu-user`), the cross linker and C library
# (`gcc-arm-linux-gnueabihf`, `libc6-dev-armhf-cross`) and the rustup target. Installs with
# apt-get only what is missing, and only as root; exits non-zero (with the reason) when
# something is missing and cannot be installed.
set -euo pipefail
need=()
command -v qemu-arm >/dev/null || need+=(qemu-user)
command -v arm-linux-gnueabihf-gcc >/dev/null || need+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing ${need[*]} and not root: apt-get install ${need[*]}" >&2; exit 1; fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
rustup target list --installed 2>/dev/null | grep -qx thumbv7neon-unknown-linux-gnueabihf \
  || rustup target add thumbv7neon-unknown-linux-gnueabihf >&2
