#!/usr/bin/env bash
# Makes this machine run 32-bit Arm (ARMv7-A, Thumb-2) Linux test binaries for the DSP int8
# kernels: qemu-arm, the cross linker and C library and the rustup target (scripts/cross-env.sh).
exec "$(dirname "$0")/cross-env.sh" qemu-arm arm-linux-gnueabihf-gcc thumbv7neon-unknown-linux-gnueabihf \
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
