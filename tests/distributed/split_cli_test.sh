#!/usr/bin/env bash
# `mpirun -n RANKS tern run|chat|perplexity --split rows|layers` against one process: the same greedy,
# sampled and n-gram-drafted text, the same chat replies, the same perplexity; and clear errors
# for what cannot split. (tern serve under mpirun: distributed.openai_sdk_split_rows_2_ranks.)
# Usage: split_cli_test.sh MPIRUN RANKS TERN MODEL_DIR VALID_TEXT
set -euo pipefail
mpirun=$1 ranks=$2 tern=$3 model_dir=$4 valid_text=$5
model=$model_dir/tinystories-bitnet.gguf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

same() {   # same NAME ARGS...: stdout of one process and of each split job must match
    local name=$1
    shift
    "$tern" "$@" <"${input:-/dev/null}" >"$work/one" 2>"$work/one.err"
    for split in rows layers; do
        "$mpirun" -n "$ranks" "$tern" "$@" --split $split <"${input:-/dev/null}" >"$work/split" 2>"$work/split.err"
        if cmp -s "$work/one" "$work/split"; then
            echo "ok - $name: the same output split by $split over $ranks ranks"
        else
            echo "FAIL - $name differs split by $split over $ranks ranks"; diff "$work/one" "$work/split" | head -5
            tail -3 "$work/split.err"; failures=$((failures + 1))
        fi
    done
}

same "greedy run" run -m "$model" -p "Once upon a time" -n 48 --temp 0
same "sampled run" run -m "$model" -p "The little dog" -n 48 --temp 0.9 --seed 11
same "n-gram drafting" run -m "$model" -p "Tom and Sam went to the park. Tom and Sam" -n 40 --temp 0 --draft ngram
printf 'Tell me about a cat.\nAnd a dog?\n' >"$work/chat.txt"
input=$work/chat.txt same "chat (two turns on stdin)" chat -m "$model" -n 30 --temp 0
head -c 12000 "$valid_text" >"$work/text.txt"
same "perplexity" perplexity -m "$model" -f "$work/text.txt" -c 128 --chunks 3

expect_error() {   # expect_error NAME PATTERN COMMAND...: fails with PATTERN on stderr
    local name=$1 pattern=$2
    shift 2
    if "$@" >"$work/out" 2>"$work/err"; then
        echo "FAIL - $name: succeeded"; failures=$((failures + 1))
    elif grep -q -- "$pattern" "$work/err"; then
        echo "ok - $name: $(grep -m1 -- "$pattern" "$work/err")"
    else
        echo "FAIL - $name: no '$pattern' in:"; head -5 "$work/err"; failures=$((failures + 1))
    fi
}

expect_error "an unknown split" "--split: cols not in {rows,layers}" "$tern" run -m "$model" -p x --split cols
"$tern" synth --shape ifairy-tiny -o "$work/ifairy.gguf" >/dev/null 2>&1
expect_error "a complex model" "supports ternary transformers" \
    "$mpirun" -n "$ranks" "$tern" run -m "$work/ifairy.gguf" --ids "1 2 3" -n 2 --split layers
expect_error "a missing model" "no-such.gguf" "$mpirun" -n "$ranks" "$tern" run -m "$work/no-such.gguf" -p x --split rows

# A rank that cannot load its share names itself, and every rank ends (MPMD: rank 1's file is missing).
expect_error "a rank that cannot load" "rank 1: .*no-such.gguf" \
    "$mpirun" -n 1 "$tern" run -m "$model" -p x -n 2 --split rows : -n 1 "$tern" run -m "$work/no-such.gguf" -p x -n 2 --split rows

# A rank that dies under a running server ends the whole job within seconds, naming the rank.
"$mpirun" -n "$ranks" "$tern" serve -m "$model" --port 0 --alias "fault$$" --split layers >"$work/serve.out" 2>&1 &
launcher=$!
for _ in $(seq 100); do grep -q "listening on" "$work/serve.out" && break; sleep 0.1; done
victim=""
for pid in $(pgrep -f "alias fault$$" || true); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$pid
done
if [ -z "$victim" ]; then
    echo "FAIL - a rank that dies: rank 1 of the server not found"; cat "$work/serve.out"; failures=$((failures + 1))
    kill -9 "$launcher" 2>/dev/null || true
else
    kill -9 "$victim"
    start=$(date +%s)
    while kill -0 "$launcher" 2>/dev/null && [ $(($(date +%s) - start)) -lt 20 ]; do sleep 0.1; done
    if kill -0 "$launcher" 2>/dev/null; then
        echo "FAIL - a rank that dies: the job still runs after 20 s"; kill -9 "$launcher"; failures=$((failures + 1))
    elif grep -q "rank 1" "$work/serve.out"; then
        echo "ok - a rank that dies: the job ended in $(($(date +%s) - start)) s: $(grep -m1 'rank 1' "$work/serve.out")"
    else
        echo "FAIL - a rank that dies: no line names rank 1:"; cat "$work/serve.out"; failures=$((failures + 1))
    fi
fi
wait "$launcher" 2>/dev/null || true

exit $((failures > 0))
