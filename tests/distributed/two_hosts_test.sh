#!/usr/bin/env bash
# Two "hosts": network namespaces joined by a veth pair, MPI over TCP between them (mpirun's
# remote shell is netns_rsh.sh instead of ssh). Over them, tern run split by rows and by layers
# prints what one process prints, and killing the remote rank mid-generation ends the job.
# Needs root (ip netns); skips (77) without it.
# Usage: two_hosts_test.sh MPIRUN TERN MODEL_DIR TEXT
set -uo pipefail
mpirun=$1 tern=$2 model=$3/tinystories-bitnet.gguf text=$4
here=$(cd "$(dirname "$0")" && pwd)
a=tern-a-$$ b=tern-b-$$ ip_a=10.213.77.1 ip_b=10.213.77.2 net=10.213.77.0/24
if ! ip netns add "$a" 2>/dev/null; then
    echo "SKIPPED: cannot create network namespaces (needs root and ip netns)"
    exit 77
fi
work=$(mktemp -d)
cleanup() { ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
set -e
ip netns add "$b"
ip link add "va$$" type veth peer name "vb$$"
ip link set "va$$" netns "$a"
ip link set "vb$$" netns "$b"
ip -n "$a" addr add "$ip_a/24" dev "va$$"
ip -n "$b" addr add "$ip_b/24" dev "vb$$"
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set "va$$" up
ip -n "$b" link set "vb$$" up
set +e

export TERN_NETNS_HOSTS="$ip_a=$a $ip_b=$b"
# One rank per host; TCP only, on the veth subnet (no shared memory between the "hosts").
on_two_hosts() {
    ip netns exec "$a" unshare --uts /bin/sh -c "hostname $a; exec \"\$@\"" sh \
        "$mpirun" --host "$ip_a:1,$ip_b:1" --mca plm_rsh_agent "$here/netns_rsh.sh" --mca btl tcp,self \
        --mca oob_tcp_if_include "$net" --mca btl_tcp_if_include "$net" "$@"
}

failures=0
"$tern" run -m "$model" -p "Once upon a time" -n 48 --temp 0 >"$work/one" 2>/dev/null
for split in rows layers; do
    on_two_hosts "$tern" run -m "$model" -p "Once upon a time" -n 48 --temp 0 --split "$split" \
        >"$work/two" 2>"$work/two.err"
    if cmp -s "$work/one" "$work/two"; then
        echo "ok - split by $split over two hosts (TCP between namespaces): the same text as one process"
    else
        echo "FAIL - split by $split over two hosts"; cat "$work/two" "$work/two.err" | tail -8
        failures=$((failures + 1))
    fi
done

# The remote rank dies in the middle of a long computation (perplexity over the whole text):
# the job ends within seconds, naming it.
on_two_hosts "$tern" perplexity -m "$model" -f "$text" -c 128 --split rows -t 1 >/dev/null 2>"$work/kill.err" &
launcher=$!
victim=""
for _ in $(seq 300); do   # up to 30 s: mpirun starts the remote rank slowly on a loaded machine
    victim=$(ip netns pids "$b" 2>/dev/null | while read -r pid; do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tern ] && echo "$pid"; done | head -1)
    [ -n "$victim" ] && break
    sleep 0.1
done
sleep 1
if [ -z "$victim" ]; then
    echo "FAIL - the remote rank never started"; cat "$work/kill.err"; failures=$((failures + 1))
    kill -9 "$launcher" 2>/dev/null
else
    kill -9 "$victim"
    start=$(date +%s)
    while kill -0 "$launcher" 2>/dev/null && [ $(($(date +%s) - start)) -lt 30 ]; do sleep 0.1; done
    if kill -0 "$launcher" 2>/dev/null; then
        echo "FAIL - the job still runs 30 s after the remote rank died"; kill -9 "$launcher"
        failures=$((failures + 1))
    elif grep -q "rank 1" "$work/kill.err"; then
        echo "ok - the remote rank killed mid-generation ends the job in $(($(date +%s) - start)) s: $(grep -m1 'rank 1' "$work/kill.err")"
    else
        echo "FAIL - no line names rank 1:"; cat "$work/kill.err"; failures=$((failures + 1))
    fi
fi
wait "$launcher" 2>/dev/null
exit $((failures > 0))
