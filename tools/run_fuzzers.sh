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
for fuzzer in "$build_dir"/tests/fuzz/fuzz_*; do
    name=$(basename "$fuzzer")
    target=${name#fuzz_}
    mkdir -p "$work/$target"
    cp "$root/tests/fuzz/corpus/$target"/* "$work/$target/"
    echo "== $name for ${seconds}s"
    "$fuzzer" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/$target" 2>&1 | tail -n 4
    # tail hides the exit status; PIPESTATUS keeps it.
    status=${PIPESTATUS[0]}
    if [[ $status -ne 0 ]]; then
        echo "fuzzer $name failed (exit $status); crashing input:" >&2
        ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null >&2 || true
        exit 1
    fi
done
echo "fuzz-smoke: all targets ran ${seconds}s without a finding"
