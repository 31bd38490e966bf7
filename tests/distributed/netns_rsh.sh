#!/usr/bin/env bash
# mpirun's remote-shell agent for the two-host test: runs "HOST COMMAND..." inside the network
# namespace (and a UTS namespace named after it) that TERN_NETNS_HOSTS maps HOST to, as
# "10.213.77.2=ns-b ...". ssh would do this between real machines.
host=$1
shift
for pair in $TERN_NETNS_HOSTS; do
    if [ "${pair%%=*}" = "$host" ]; then
        ns=${pair#*=}
        exec ip netns exec "$ns" unshare --uts /bin/sh -c "hostname $ns; $*"
    fi
done
echo "netns_rsh: no namespace for host $host" >&2
exit 1
