#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, starting from a scratch copy of its
# committed seed corpus (new inputs it finds are not written back to the repository).
# Usage: run_fuzzers.sh BUILD_DIR SECONDS
set -euo pipefail
build_dir=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One fuzzer: its corpus copied to a scratch folder, its last lines printed when it ends.
run_one() {   # FUZZER
    local fuzzer=$1 name target status
    name=$(basename "$fuzzer")
    target=${name#fuzz_}
    mkdir -p "$work/$target"
    cp "$root/tests/fuzz/corpus/$target"/* "$work/$target/"
    "$fuzzer" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$target-" "$work/$target" >"$work/$target.log" 2>&1 && status=0 || status=$?
    echo "== $name for ${seconds}s"
    tail -n 4 "$work/$target.log"
    if [[ $status -ne 0 ]]; then
        echo "fuzzer $name failed (exit $status); crashing input:" >&2
        ls "$work/$target"-crash-* "$work/$target"-leak-* "$work/$target"-timeout-* 2>/dev/null >&2 || true
        return 1
    fi
}

# Each fuzzer is one process on one core: as many run at once as there are CPUs.
jobs=${JOBS:-$(nproc)}
pids=()
failed=0
for fuzzer in "$build_dir"/tests/fuzz/fuzz_*; do
    if ((${#pids[@]} >= jobs)); then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
    run_one "$fuzzer" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if ((failed)); then exit 1; fi
echo "fuzz-smoke: all targets ran ${seconds}s without a finding"
