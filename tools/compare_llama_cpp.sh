#!/usr/bin/env bash
# Side by side with llama.cpp on one file both engines read: a random TQ2_0 model of the
# BitNet 2B4T shape under llama.cpp's architecture name (`bitnet`), F16 tied head. The two
# alternate ROUNDS times (this host's speed drifts, so ratios are taken within a round), then
# both compute the perplexity of a tiny model of the same kind, which should agree closely
# (docs/performance.md says how closely, and why not exactly).
#
# Usage: tools/compare_llama_cpp.sh LLAMA_CPP_BIN_DIR [TERN_BINARY] [WORK_DIR]
#   LLAMA_CPP_BIN_DIR holds llama-bench and llama-perplexity. Without a llama.cpp build, one
#   way (npm, no other download) is in docs/performance.md.
# Environment: ROUNDS (2), THREADS (1,2), TEXT (a text file for the perplexity check).
set -euo pipefail

llama_bin=${1:?usage: compare_llama_cpp.sh LLAMA_CPP_BIN_DIR [TERN_BINARY] [WORK_DIR]}
tern=${2:-$(dirname "$0")/../build/tern}
work=${3:-${TMPDIR:-/tmp}}
rounds=${ROUNDS:-2}
threads=${THREADS:-1,2}
text=${TEXT:-}

for tool in "$llama_bin/llama-bench" "$llama_bin/llama-perplexity" "$tern"; do
    [[ -x $tool ]] || { echo "compare_llama_cpp: $tool is not an executable" >&2; exit 1; }
done

big=$work/tern_2b4t_tq2_0_bitnet.gguf
[[ -f $big ]] || "$tern" synth --shape 2b4t --type tq2_0 --arch bitnet -o "$big"

for ((round = 1; round <= rounds; ++round)); do
    echo "== round $round: llama.cpp"
    "$llama_bin/llama-bench" -m "$big" -p 128 -n 128 -r 3 -t "$threads" 2>&1 | grep -E '\| +(pp|tg)128 \|'
    echo "== round $round: tern"
    "$tern" bench -m "$big" -p 128 -n 128 -r 3 -t "$threads" 2>&1 | grep -E '^\| (pp|tg)128|read bandwidth \('
done

if [[ -z $text ]]; then
    echo "== perplexity check skipped: set TEXT to a text file (some thousands of words)"
    exit 0
fi
tiny=$work/tern_tiny_tq2_0_bitnet.gguf
"$tern" synth --shape tiny --type tq2_0 --arch bitnet -o "$tiny"
echo "== perplexity, tiny bitnet model, 128-token chunks (the two should agree to about 0.1 %)"
printf 'tern:      '
"$tern" perplexity -m "$tiny" -f "$text" -c 128 2>&1 | grep -E '^Final estimate'
printf 'llama.cpp: '
"$llama_bin/llama-perplexity" -m "$tiny" -f "$text" -c 128 -b 128 2>&1 | grep -oE 'Final estimate.*'
