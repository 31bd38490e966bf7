#!/usr/bin/env bash
# The post-training study of docs/quantization.md: the float TinyStories LLaMA
# (models/tinystories-fairy2i/float-hf) converted by every `tern convert --method`, the QAT
# BitNet of the same shape (models/tinystories-llama-bitnet), and head types on the shipped
# BitNet, each scored by `tern perplexity` on the held-out text (ctx 256, every chunk).
# Calibration uses the *training* text (the cased excerpt), never the held-out one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tern=${TERN:-$root/build/tern}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
xz -dc "$root/tools/train/data/tinystories_valid_head.txt.xz" > "$work/valid.txt"
xz -dc "$root/tools/train/data/tinystories_train_head_cased.txt.xz" > "$work/calibration.txt"
float=$root/models/tinystories-fairy2i/float-hf

ppl() {   # MODEL [flags] -> "PPL +/- UNCERTAINTY"
    "$tern" perplexity -m "$1" -f "$work/valid.txt" -c 256 -t 2 "${@:2}" 2>/dev/null |
        sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 +\/- \2/p'
}
row() { printf '| %-56s | %-22s | %s |\n' "$1" "$2" "$3"; }

row "model" "perplexity" "seconds to convert"
for method in absmean threshold "rowfit --calibration $work/calibration.txt" "gptq --calibration $work/calibration.txt" \
              fairy2i-w1 fairy2i-w2; do
    name=${method%% *}
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$tern" convert "$float" -o "$work/$name.gguf" --method $method --head keep 2>/dev/null
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    row "float LLaMA, --method $name" "$(ppl "$work/$name.gguf")" "$(printf %.1f "$seconds")"
done
for method in rowfit gptq; do
    "$tern" convert "$float" -o "$work/$method-64k.gguf" --method $method --calibration "$work/calibration.txt" \
        --calibration-tokens 65536 --head keep 2>/dev/null
    row "float LLaMA, --method $method, 65536 calibration tokens" "$(ppl "$work/$method-64k.gguf")" "-"
done
row "QAT BitNet, same shape and budget" "$(ppl "$root/models/tinystories-llama-bitnet/hf")" "-"
shipped=$root/models/tinystories/hf
for head in keep bf16 q8_0; do
    "$tern" convert "$shipped" -o "$work/shipped-$head.gguf" --head "$head" 2>/dev/null
    row "shipped BitNet, --head $head" "$(ppl "$work/shipped-$head.gguf")" "-"
done
for type in tq2_0 tq1_0; do
    "$tern" convert "$shipped" -o "$work/shipped-$type.gguf" --head keep --type "$type" 2>/dev/null
    row "shipped BitNet, --type $type" "$(ppl "$work/shipped-$type.gguf")" "-"
done
