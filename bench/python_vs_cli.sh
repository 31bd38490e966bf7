#!/usr/bin/env bash
# The Python package against the CLI, side by side in one run: the same greedy generation of N
# tokens from the same prompt by `tern run` and by tern.Model.generate (model loaded once, the
# timing tern reports for the decode loop), alternating, median tokens/s of each. The text is
# identical by construction (tests check it); only speed is compared.
#
#   bench/python_vs_cli.sh MODEL [N_TOKENS] [REPETITIONS] [THREADS]
#   tern synth --shape large --embd-type q8_0 -o /tmp/large.gguf && bench/python_vs_cli.sh /tmp/large.gguf 64 7 2
set -euo pipefail
model=${1:?usage: python_vs_cli.sh MODEL [N] [REPS] [THREADS]}
n=${2:-64}
reps=${3:-7}
threads=${4:-2}
build=${TERN_BUILD:-$(dirname "$0")/../build}
prompt="Once upon a time"
cli=() py=()
for ((r = 0; r < reps; ++r)); do
    err=$("$build/tern" run -m "$model" --ids "1 2 3 4" -n "$n" --temp 0 --no-echo -t "$threads" 2>&1 >/dev/null)
    cli+=("$(sed -n 's/.*generation: .*(\([0-9.]*\) tok\/s).*/\1/p' <<<"$err")")
    py+=("$(PYTHONPATH="$build/python" python3 - "$model" "$n" "$threads" <<'PY'
import sys, tern
model = tern.load(sys.argv[1], threads=int(sys.argv[3]))
model.generate([1, 2, 3, 4], max_tokens=int(sys.argv[2]), temperature=0)
g = model.last_generation
print(g["generated_tokens"] / g["generate_seconds"])
PY
)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
c=$(median "${cli[@]}") p=$(median "${py[@]}")
echo "model: $model; $n greedy tokens from 4 ids; $threads threads; $reps alternating repetitions"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "tern run:      median $c tok/s (${cli[*]})"
echo "Python API:    median $p tok/s (${py[*]})"
awk -v c="$c" -v p="$p" 'BEGIN { printf "Python / CLI:  %.3f\n", p / c }'
