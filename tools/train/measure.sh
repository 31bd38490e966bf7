#!/usr/bin/env bash
# After export.py: measures the exported model with tern itself and records what the tests
# check (models/tinystories/card.json, golden.txt): validation perplexity in llama-perplexity's
# protocol with the F16 head and with --head q8_0 (all chunks, and the first 64 that the tests
# check in seconds), and a greedy continuation.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tern=${TERN:-$root/build/tern}
dest=$root/models/tinystories
model=$dest/tinystories-bitnet.gguf
valid=$(mktemp)
trap 'rm -f "$valid"' EXIT
xz -dc "$root/tools/train/data/tinystories_valid_head.txt.xz" > "$valid"

ppl() {   # prints "PPL UNCERTAINTY CHUNKS"
    "$tern" perplexity -m "$model" -f "$valid" -c 256 -t 2 "$@" 2>/dev/null |
        sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\) (\([0-9]*\) chunks.*/\1 \2 \3/p'
}
read -r ppl_f16 unc_f16 chunks <<< "$(ppl)"
read -r ppl_q8 unc_q8 _ <<< "$(ppl --head q8_0)"
read -r ppl_prefix unc_prefix prefix_chunks <<< "$(ppl --chunks 64)"

prompt="Once upon a time, there was a little fox named"
tokens=60
"$tern" run -m "$model" -p "$prompt" -n "$tokens" --temp 0 --no-echo -t 2 > "$dest/golden.txt" 2>/dev/null

python3 - "$dest/card.json" <<PY
import json, sys
json.dump({"valid_perplexity": $ppl_f16, "valid_perplexity_uncertainty": $unc_f16, "perplexity_ctx": 256,
           "perplexity_chunks": $chunks, "valid_perplexity_head_q8_0": $ppl_q8,
           "valid_perplexity_prefix": {"chunks": $prefix_chunks, "perplexity": $ppl_prefix,
                                       "uncertainty": $unc_prefix, "by": "tools/train/measure.sh (tern)"},
           "golden_prompt": "$prompt", "golden_tokens": $tokens}, open(sys.argv[1], "w"), indent=2)
PY
echo "validation perplexity $ppl_f16 +/- $unc_f16 ($chunks chunks of 256); with --head q8_0 $ppl_q8"
echo "golden continuation: $(cat "$dest/golden.txt")"
