#!/usr/bin/env bash
# Speculative decoding against plain decoding, side by side in one run: `tern run` with and
# without --draft on the same model and prompt, alternating the variants, median tokens/s of
# each over the repetitions. Output is identical by construction (tests check it), so only
# speed and the guesses' hold rate are reported.
#
#   bench/speculative.sh MODEL 'PROMPT-FLAGS' [N_TOKENS] [REPETITIONS] [SAMPLING-FLAGS]
#   bench/speculative.sh /tmp/2b4t.gguf '--ids "1 2 3 4"' 128 5 '--temp 0'
set -euo pipefail
model=${1:?usage: speculative.sh MODEL 'PROMPT-FLAGS' [N] [REPS] [SAMPLING-FLAGS]}
prompt_flags=${2:?prompt flags, e.g. "-f story.txt" or "--ids '1 2 3'"}
n=${3:-128}
reps=${4:-5}
sampling=${5:---temp 0}
tern=${TERN:-$(dirname "$0")/../build/tern}
declare -A variants=([plain]="" [ngram]="--draft ngram" [ngram-fixed]="--draft ngram --draft-fixed")
order=(plain ngram ngram-fixed)
declare -A speeds held
for ((r = 0; r < reps; ++r)); do
    for v in "${order[@]}"; do
        err=$(eval "$tern run -m '$model' $prompt_flags -n $n $sampling --no-echo ${variants[$v]}" 2>&1 >/dev/null)
        speeds[$v]+="$(sed -n 's/.*generation: .*(\([0-9.]*\) tok\/s).*/\1/p' <<<"$err") "
        held[$v]=$(sed -n 's/^speculative: \(.*\)/\1/p' <<<"$err")
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(median <<<"${speeds[plain]}")
echo "model: $model; $n tokens; sampling: $sampling; $reps repetitions; cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for v in "${order[@]}"; do
    m=$(median <<<"${speeds[$v]}")
    printf '%-12s %8.2f tok/s  %5.3fx  %s\n' "$v" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN {print a / b}')" "${held[$v]:-}"
done
