#!/usr/bin/env bash
# Runs the cross-built test programs under qemu-user twice: on an emulated CPU with every
# extension ("max": the SDOT kernels run) and on a plain ARMv8.0 core ("cortex-a53": they must
# fall back to the NEON ones), then the build's own shell checks through ctest.
# Usage: run_arm64_tests.sh BUILD_DIR TEST_PROGRAM...
set -euo pipefail
build=$1
shift
for cpu in max cortex-a53; do
    for program in "$@"; do
        echo "== $program on qemu-aarch64 -cpu $cpu"
        QEMU_CPU=$cpu qemu-aarch64 "$build/tests/$program" --gtest_brief=1
    done
done
(cd "$build" && ctest -R 'isa_objects' --output-on-failure)
