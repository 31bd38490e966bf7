#!/usr/bin/env bash
# Runs the cross-built test programs under qemu-user twice: on an emulated CPU with every
# extension ("max": the SDOT and SMMLA kernels run) and on a plain ARMv8.0 core ("cortex-a53":
# they must fall back to the NEON ones); the kernel tests once more on a core with SDOT but no
# SMMLA ("neoverse-n1": the neondot table serves); then the build's own shell checks through ctest.
# Usage: run_arm64_tests.sh BUILD_DIR TEST_PROGRAM...
set -euo pipefail
build=$1
shift
# The engine's forward-pass tests (every architecture against the independent reference, every
# ISA bit for bit, the shipped model against PyTorch, the golden greedy text) run; its other
# tests either start the tern binary (not runnable here without binfmt) or would take hours
# under emulation (perplexity over the validation text, speculative decoding).
engine_filter='Forward.*:Architectures/*:ShippedModel.GgufAndHf*:ShippedModel.MatchesPyTorch*'
for cpu in max cortex-a53; do
    for program in "$@"; do
        echo "== $program on qemu-aarch64 -cpu $cpu"
        filter='*'
        [[ $program == tern_engine_tests ]] && filter=$engine_filter
        QEMU_CPU=$cpu qemu-aarch64 "$build/tests/$program" --gtest_brief=1 --gtest_filter="$filter"
    done
done
for program in "$@"; do
    [[ $program == tern_kernels_tests ]] || continue
    echo "== $program on qemu-aarch64 -cpu neoverse-n1"
    QEMU_CPU=neoverse-n1 qemu-aarch64 "$build/tests/$program" --gtest_brief=1
done
(cd "$build" && ctest -R 'isa_objects' --output-on-failure)
