#!/usr/bin/env bash
# Makes this machine run Linux test binaries of another Arm architecture under qemu-user:
#   scripts/cross-env.sh QEMU GCC RUST_TARGET PACKAGE...
# needs the `QEMU` binary (Debian `qemu-user`), the `GCC` cross linker (with its C library, the
# Debian `PACKAGE`s) and the rustup target. Installs with apt-get only what is missing, and only
# as root; exits non-zero (with the reason) when something is missing and cannot be installed.
set -euo pipefail
qemu=$1 gcc=$2 target=$3
shift 3
need=()
command -v "$qemu" >/dev/null || need+=(qemu-user)
command -v "$gcc" >/dev/null || need+=("$@")
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing ${need[*]} and not root: apt-get install ${need[*]}" >&2; exit 1; fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >&2
