#!/usr/bin/env bash
# Makes this machine run aarch64 Linux test binaries: qemu-aarch64, the cross linker and C
# library and the rustup target (scripts/cross-env.sh).
exec "$(dirname "$0")/cross-env.sh" qemu-aarch64 aarch64-linux-gnu-gcc aarch64-unknown-linux-gnu \
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross
