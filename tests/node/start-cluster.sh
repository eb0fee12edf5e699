#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Start a real N-node cluster (default 3) of test nodes on loopback ports,
# each node a JVM of its own (tests/node/start-node.sh).
#
#   tests/node/start-cluster.sh DIR [N] [launcher options...]
#       Prints the N HTTP URLs, comma-separated, on stdout once
#       GET /_cluster/health?wait_for_status=green&wait_for_nodes=N answers.
#       If DIR already holds a cluster (DIR/cluster.conf), starts the nodes of it
#       that are not running, with the same ports and data folders.
#   tests/node/start-cluster.sh DIR --node I
#       (Re)starts node I (0-based) of the cluster in DIR with its ports and data
#       folder; prints its URL once it is back in the cluster (all N nodes, health
#       yellow or green).
#
# Stop it with tests/node/stop-cluster.sh DIR.  In DIR: cluster.conf (flavour,
# ports), node-I.pid, node-I.args (the node's launcher options, one a line),
# node-I.log (start-node.sh's messages, with the end of the node's console if it
# failed), node-I/data (path.data, kept), node-I/tmp (the node's work folder and
# console.log while it runs).
#
# Every node: --node-name espcap-node-I, --cluster-name espcap-cluster-PORT,
# fixed --http-port and --transport-port, --seed-hosts naming the N transport
# ports, --cluster-managers naming the N nodes, --data DIR/node-I/data, and the
# default --replicas 1; launcher options given after N are added to every node
# (e.g. --replicas 2, -Elogger.level=INFO).
#
# Environment: as start-node.sh (ESPCAP_NODE_FLAVOR, ESPCAP_NODE_TIMEOUT ...), and
#   ESPCAP_NODE_JAVA_OPTS      default here: -Xms256m -Xmx512m per node
#   ESPCAP_CLUSTER_BASE_PORT   HTTP ports BASE..BASE+N-1, transport ports
#                              BASE+N..BASE+2N-1 (default: free ports below the
#                              kernel's ephemeral range)
#   ESPCAP_CLUSTER_TIMEOUT     seconds to wait for the cluster (default 240)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "start-cluster: $*" >&2; exit 1; }

# shellcheck source=lib.sh
. "$here/lib.sh"

usage="usage: $0 DIR [N] [launcher options...] | $0 DIR --node I"
[ $# -ge 1 ] || die "$usage"
dir=$1; shift
case $dir in -*) die "$usage";; esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/cluster.conf

only=
n=
if [ "${1:-}" = --node ]; then
    [ $# -eq 2 ] && [[ $2 =~ ^[0-9]+$ ]] || die "$usage"
    only=$2; shift 2
    [ -f "$conf" ] || die "no cluster in $dir (no cluster.conf): start it first"
elif [[ ${1:-} =~ ^[0-9]+$ ]]; then
    n=$1; shift
    [ "$n" -ge 1 ] || die "N must be at least 1"
fi
timeout_s=${ESPCAP_CLUSTER_TIMEOUT:-240}

# ---- the cluster's configuration: new, or the one DIR already has -------------
if [ -f "$conf" ]; then
    # shellcheck disable=SC1090
    . "$conf"        # flavor, nodes, http_ports, transport_ports, java_opts
    [ -z "$n" ] || [ "$n" = "$nodes" ] || die "$dir holds a $nodes-node cluster, not $n"
    [ -z "${ESPCAP_NODE_FLAVOR:-}" ] || [ "$(node_flavor)" = "$flavor" ] ||
        die "$dir holds a $flavor cluster, not $(node_flavor)"
    [ $# -eq 0 ] || echo "start-cluster: $dir has a cluster already; options '$*' ignored (see node-*.args)" >&2
    n=$nodes
    [ -z "$only" ] || [ "$only" -lt "$n" ] || die "no node $only in a $n-node cluster"
else
    n=${n:-3}
    flavor=$(node_flavor)
    java_opts=${ESPCAP_NODE_JAVA_OPTS:--Xms256m -Xmx512m}
    if [ -n "${ESPCAP_CLUSTER_BASE_PORT:-}" ]; then
        b=$ESPCAP_CLUSTER_BASE_PORT
        http_ports=$(seq -s ' ' "$b" $((b + n - 1)))
        transport_ports=$(seq -s ' ' $((b + n)) $((b + 2 * n - 1)))
    else
        # ports outside the kernel's ephemeral range, so that no outgoing
        # connection takes a killed node's port before it is restarted
        read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
        command -v python3 >/dev/null || die "python3 is needed to pick free ports (or set ESPCAP_CLUSTER_BASE_PORT)"
        ports=$(python3 - "$((2 * n))" "$lo" <<'PY'
import random, socket, sys
want, hi = int(sys.argv[1]), int(sys.argv[2])
lo = max(1024, hi - 12000)
held, out = [], []
for p in random.sample(range(lo, hi), hi - lo):
    if len(out) == want:
        break
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    held.append(s)
    out.append(p)
print(" ".join(map(str, out)))
PY
)
        read -r -a all <<<"$ports"
        [ ${#all[@]} -eq $((2 * n)) ] || die "could not find $((2 * n)) free ports"
        http_ports=${all[*]:0:n}
        transport_ports=${all[*]:n:n}
    fi
    read -r -a tp <<<"$transport_ports"
    seeds=$(printf '127.0.0.1:%s,' "${tp[@]}"); seeds=${seeds%,}
    managers=$(for ((i = 0; i < n; i++)); do printf 'espcap-node-%d,' $i; done); managers=${managers%,}
    read -r -a hp <<<"$http_ports"
    for ((i = 0; i < n; i++)); do
        mkdir -p "$dir/node-$i/data"
        {
            printf '%s\n' --node-name "espcap-node-$i" --cluster-name "espcap-cluster-${tp[0]}" \
                --http-port "${hp[$i]}" --transport-port "${tp[$i]}" \
                --seed-hosts "$seeds" --cluster-managers "$managers" \
                --data "$dir/node-$i/data" --replicas 1
            [ $# -eq 0 ] || printf '%s\n' "$@"
        } >"$dir/node-$i.args"
    done
    {
        printf 'flavor=%q\nnodes=%q\n' "$flavor" "$n"
        printf 'http_ports=%q\ntransport_ports=%q\n' "$http_ports" "$transport_ports"
        printf 'java_opts=%q\n' "$java_opts"
    } >"$conf.tmp"
    mv "$conf.tmp" "$conf"
fi
read -r -a hp <<<"$http_ports"

export ESPCAP_NODE_FLAVOR=$flavor ESPCAP_NODE_JAVA_OPTS=$java_opts
export ESPCAP_NODE_TIMEOUT=${ESPCAP_NODE_TIMEOUT:-$timeout_s}

running() { # I: node I is running
    local pid
    [ -s "$dir/node-$1.pid" ] || return 1
    pid=$(tr -dc 0-9 <"$dir/node-$1.pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && is_test_node "$pid"
}

# build once here rather than in N concurrent start-node.sh
find_java "$flavor"
build_launcher "$flavor"

# ---- start the nodes that are not running, all at once ------------------------
# (the first election needs a majority of the nodes: they start together)
if [ -n "$only" ]; then todo=("$only"); else todo=($(seq 0 $((n - 1)))); fi
starters=() started=()
for i in "${todo[@]}"; do
    if running "$i"; then
        [ -z "$only" ] || die "node $only is running (pid $(cat "$dir/node-$i.pid"))"
        continue
    fi
    rm -f "$dir/node-$i.pid"
    mapfile -t args <"$dir/node-$i.args"
    mkdir -p "$dir/node-$i/tmp"
    TMPDIR=$dir/node-$i/tmp "$here/start-node.sh" "$dir/node-$i.pid" "${args[@]}" \
        </dev/null >"$dir/node-$i.url" 2>"$dir/node-$i.log" &
    starters+=($!) started+=("$i")
done

failed=()
for k in "${!starters[@]}"; do
    wait "${starters[$k]}" || failed+=("${started[$k]}")
done
if [ ${#failed[@]} -gt 0 ]; then
    for i in "${failed[@]}"; do
        echo "start-cluster: node $i did not start; its start-up messages ($dir/node-$i.log):" >&2
        tail -n 60 "$dir/node-$i.log" >&2
    done
    if [ -z "$only" ]; then
        echo "start-cluster: stopping the nodes of $dir" >&2
        "$here/stop-cluster.sh" "$dir" >&2 || true
    fi
    exit 1
fi

# ---- wait for the whole cluster ------------------------------------------------
if [ -n "$only" ]; then
    want="wait_for_status=yellow&wait_for_nodes=$n"; ports=("${hp[$only]}")
else
    want="wait_for_status=green&wait_for_nodes=$n"; ports=("${hp[@]}")
fi
console_tail() { # I: the end of node I's latest console
    local c
    c=$(ls -t "$dir/node-$1/tmp"/espcap-node.*/console.log 2>/dev/null | head -n 1)
    if [ -n "$c" ]; then
        echo "start-cluster: --- last lines of node $1's console ($c) ---" >&2
        tail -n 40 "$c" >&2
    fi
}
deadline=$((SECONDS + timeout_s))
while :; do
    for i in "${started[@]}"; do
        if ! running "$i"; then
            echo "start-cluster: node $i exited while the cluster formed" >&2
            console_tail "$i"
            [ -n "$only" ] || "$here/stop-cluster.sh" "$dir" >&2 || true
            exit 1
        fi
    done
    reply=$(http_get "${ports[0]}" "/_cluster/health?$want&timeout=5s" || true)
    if [ "${reply%%$'\n'*}" = 200 ] && grep -q '"timed_out":false' <<<"$reply"; then
        break
    fi
    if [ $SECONDS -ge $deadline ]; then
        echo "start-cluster: the cluster in $dir did not reach $want within ${timeout_s} s;" \
            "last answer: ${reply:0:600}" >&2
        for i in "${started[@]}"; do console_tail "$i"; done
        [ -n "$only" ] || "$here/stop-cluster.sh" "$dir" >&2 || true
        exit 1
    fi
    sleep 0.5
done

if [ -n "$only" ]; then
    echo "start-cluster: node $only (pid $(cat "$dir/node-$only.pid")) is back in the cluster" >&2
    echo "http://127.0.0.1:${hp[$only]}"
else
    echo "start-cluster: $n-node $flavor cluster in $dir is green" >&2
    urls=$(printf 'http://127.0.0.1:%s,' "${hp[@]}")
    echo "${urls%,}"
fi
