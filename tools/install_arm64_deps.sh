#!/usr/bin/env bash
# The cross toolchain, qemu-user and the arm64 builds of tern's libraries (Debian multiarch),
# for `make test-arm64`. Usage: install_arm64_deps.sh PKG... (arm64 packages, without ":arm64")
set -euo pipefail
if [[ $(id -u) -eq 0 ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
fi
arm64_packages=()
for package in "$@"; do arm64_packages+=("$package:arm64"); done
exec "$(dirname "$0")/install_deps.sh" g++-aarch64-linux-gnu qemu-user libc6:arm64 "${arm64_packages[@]}"
