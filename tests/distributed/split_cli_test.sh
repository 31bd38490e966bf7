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

# A rank that cannot load its share is named with the cause by rank 0, whose line cannot be
# lost when mpirun ends the job at the first exit, and every rank ends (MPMD: rank 1's file is missing).
expect_error "a rank that cannot load" "split: rank 1 could not load its share of the model: .*no-such.gguf" \
    "$mpirun" -n 1 "$tern" run -m "$model" -p x -n 2 --split rows : -n 1 "$tern" run -m "$work/no-such.gguf" -p x -n 2 --split rows

# tern bench under --split: rank 0 measures while the others compute their shares.
for split in rows layers; do
    if "$mpirun" -n "$ranks" "$tern" bench --synthetic tiny -p 16 -n 8 -r 1 -t 1 --json --split $split \
        >"$work/bench.json" 2>"$work/bench.err" &&
        python3 - "$work/bench.json" "$ranks" "$split" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["split"] == {"kind": sys.argv[3], "ranks": int(sys.argv[2])}, report.get("split")
tests = {r["test"]: r for r in report["results"]}
assert set(tests) == {"pp16", "tg8"}, tests.keys()
assert all(r["tokens_per_s"] > 0 for r in tests.values())
PY
    then
        echo "ok - bench split by $split over $ranks ranks reports pp16 and tg8"
    else
        echo "FAIL - bench split by $split"; tail -5 "$work/bench.err"; failures=$((failures + 1))
    fi
done
expect_error "bench with two thread counts" "give -t N" "$tern" bench --synthetic tiny -t 1,2 --split rows

# A split server for the fault cases: start_server NAME FLAGS... sets launcher, port and victim
# (the pid of rank 1), or returns 1 after counting a failure.
start_server() {
    local name=$1
    shift
    "$mpirun" -n "$ranks" "$tern" serve -m "$model" --port 0 --alias "$name$$" "$@" >"$work/$name.out" 2>&1 &
    launcher=$!
    # Up to 30 s: under a loaded machine (ctest -j, sanitizers) two ranks take a while to load.
    for _ in $(seq 300); do grep -q "listening on" "$work/$name.out" && break; sleep 0.1; done
    port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$work/$name.out" | head -1)
    victim=""
    for pid in $(pgrep -f "alias $name$$" || true); do
        tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$pid
    done
    [ -n "$victim" ] && [ -n "$port" ] && return 0
    echo "FAIL - $name: the server or its rank 1 not found"; cat "$work/$name.out"; failures=$((failures + 1))
    kill -9 "$launcher" 2>/dev/null || true
    return 1
}

# expect_job_end NAME PATTERN: the job ends within 20 s and its output has PATTERN.
expect_job_end() {
    local name=$1 pattern=$2 start
    start=$(date +%s)
    while kill -0 "$launcher" 2>/dev/null && [ $(($(date +%s) - start)) -lt 20 ]; do sleep 0.1; done
    if kill -0 "$launcher" 2>/dev/null; then
        echo "FAIL - $name: the job still runs after 20 s"; kill -9 "$launcher"; failures=$((failures + 1))
    elif grep -q -- "$pattern" "$work/$name.out"; then
        echo "ok - $name: the job ended in $(($(date +%s) - start)) s: $(grep -m1 -- "$pattern" "$work/$name.out")"
    else
        echo "FAIL - $name: no '$pattern' in:"; cat "$work/$name.out"; failures=$((failures + 1))
    fi
    wait "$launcher" 2>/dev/null || true
    kill -9 "$victim" 2>/dev/null || true
}

# A rank that dies under a running server ends the whole job within seconds, naming the rank.
if start_server dies --split layers; then
    kill -9 "$victim"
    expect_job_end dies "rank 1"
fi

# A rank that stops (no crash, no closed socket: SIGSTOP, as a hung host looks) is caught by
# the others' watchdog: the next step's wait passes --split-timeout and the job ends.
if start_server frozen --split rows --split-timeout 2; then
    kill -STOP "$victim"
    body='{"prompt": "Once upon a time", "max_tokens": 8}'
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
        "${#body}" "$body" >&3
    expect_job_end frozen "rank 0: waited 2 s for the other ranks"
    exec 3>&-
fi

exit $((failures > 0))
