#!/usr/bin/env bash
# Runs the cross-built test programs under qemu-user. The programs whose kernels differ by CPU
# run twice: on an emulated CPU with every extension ("max": the SDOT and SMMLA kernels run) and
# on a plain ARMv8.0 core ("cortex-a53": they must fall back to the NEON ones); the kernel tests
# once more on a core with SDOT but no SMMLA ("neoverse-n1": the neondot table serves). The
# others (tokenizer, server, hub, CLI, public API: the same kernels underneath) run once, on
# "max"; the tern binary their tests start runs under qemu too (TERN_BINARY_LAUNCHER). Most of
# a run is one emulated thread, so JOBS runs (default: the number of CPUs) go at once, the
# longest first; each one's output is printed whole when it ends. Then the build's own shell
# checks through ctest.
# Usage: run_arm64_tests.sh BUILD_DIR TEST_PROGRAM...
set -euo pipefail
build=$1
shift

if [[ $build == --one ]]; then   # internal: --one BUILD_DIR CPU PROGRAM, one emulated run
    build=$1 cpu=$2 program=$3
    # On "max" every engine test runs but the four shipped-model perplexity checks (64 chunks: a
    # second or two natively, three minutes each emulated; Perplexity.MatchesTheDefinitionOnTwoChunks
    # checks the computation); every ISA's table, neon's included, runs there. The ARMv8.0 core adds only
    # what the default dispatch picks there, so it runs the forward passes of every family and
    # the shipped models' golden greedy texts (through the CLI too).
    filter='*'
    if [[ $program == tern_engine_tests && $cpu == max ]]; then
        filter='-*PerplexityWithin*:*PerplexityReproduces*'
    elif [[ $program == tern_engine_tests ]]; then
        filter='Forward.*:Architectures/*:ComplexForward.*:RecurrentForward.*:Shipped*.GreedyDecodingTellsPyTorchsStory'
        filter+=':ShippedModel.GreedyGenerationMatchesTheGoldenContinuation'
    fi
    start=$SECONDS
    status=0
    output=$(QEMU_CPU=$cpu qemu-aarch64 "$build/tests/$program" --gtest_brief=1 --gtest_filter="$filter" 2>&1) || status=$?
    printf '== %s on qemu-aarch64 -cpu %s: exit %d in %d s\n%s\n' "$program" "$cpu" "$status" $((SECONDS - start)) "$output"
    exit "$status"
fi

per_cpu_programs=" tern_core_tests tern_quant_tests tern_kernels_tests tern_format_tests tern_model_tests tern_sampling_tests tern_engine_tests "
runs=()
for program in "$@"; do
    runs+=("max $program")
    if [[ $per_cpu_programs == *" $program "* ]]; then runs+=("cortex-a53 $program"); fi
    if [[ $program == tern_kernels_tests ]]; then runs+=("neoverse-n1 $program"); fi
done
# Longest first (measured emulated times), so the last to start are the short ones.
order="tern_engine_tests tern_server_tests tern_cli_tests tern_tokenizer_tests tern_kernels_tests"
sorted=()
for slow in $order; do
    for run in "${runs[@]}"; do if [[ ${run#* } == "$slow" ]]; then sorted+=("$run"); fi; done
done
for run in "${runs[@]}"; do if [[ " $order " != *" ${run#* } "* ]]; then sorted+=("$run"); fi; done

jobs=${JOBS:-$(nproc)}
if printf '%s\n' "${sorted[@]}" | xargs -P "$jobs" -L 1 "$0" --one "$build"; then
    echo "== every emulated run passed (${#sorted[@]} runs)"
else
    echo "== an emulated run failed: see its output above"
    exit 1
fi
(cd "$build" && ctest -R 'isa_objects' --output-on-failure)
