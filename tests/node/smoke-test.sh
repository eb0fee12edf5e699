#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Smoke test of the test node launcher.
#
#   tests/node/smoke-test.sh [PART...]
#
# Parts (default: os2 os3 es7 cluster cluster-py):
#   os2, os3, es7  a node of that flavour starts, has the version expected,
#                  takes the mappings and answers the queries espcap relies on;
#                  a second one with a one-slot write queue answers 429; both stop
#   cluster        start-cluster.sh: 3 nodes (ESPCAP_SMOKE_CLUSTER_FLAVOR, default
#                  os3), an index with 1 replica, green with 3 nodes; kill -9 the
#                  elected cluster manager, the documents are still searchable and
#                  writable through another node; start-cluster.sh DIR --node I
#                  restarts it, it rejoins (green, 3 nodes, its documents);
#                  stop-cluster.sh stops all
#   cluster-py     the same through tests/helpers/cluster.py (its self-test), on
#                  ESPCAP_SMOKE_PY_FLAVOR (default os2)
# ESPCAP_NODE_FLAVOR=X without parts runs part X only (as this script used to).
#
# Ends with "N passed, N failed"; exit status 0 only if nothing failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v curl >/dev/null || { echo "smoke-test: curl is needed" >&2; exit 1; }

if [ $# -gt 0 ]; then parts=("$@")
elif [ -n "${ESPCAP_NODE_FLAVOR:-}" ]; then
    case $ESPCAP_NODE_FLAVOR in opensearch) parts=(os2) ;; *) parts=("$ESPCAP_NODE_FLAVOR") ;; esac
else parts=(os2 os3 es7 cluster cluster-py); fi
for p in "${parts[@]}"; do
    case $p in os2 | os3 | es7 | cluster | cluster-py) ;; *) echo "smoke-test: unknown part '$p'" >&2; exit 2 ;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/espcap-node-smoke.XXXXXX")
pids=()
clusters=()
cleanup() {
    for p in "${pids[@]}"; do "$here/stop-node.sh" "$p" >/dev/null 2>&1; done
    for c in "${clusters[@]}"; do "$here/stop-cluster.sh" "$c" >/dev/null 2>&1; done
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
timings=()
check() { # name, then a command that must succeed
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); echo "ok   $name"
    else failed=$((failed + 1)); echo "FAIL $name"; fi
}
has() { grep -q -- "$2" <<<"$1" || { echo "     expected '$2' in: ${1:0:600}" >&2; return 1; }; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

J='Content-Type: application/json'
req() { curl -s -m 60 -X "$1" "$url$2" -H "$J" ${3:+-d "$3"}; }

# ---- one flavour: mappings, queries, 429 ---------------------------------------
flavour_part() {
    local flavor=$1 t0 root r bulk ulong pid1 pid2 got429 codes
    local ulong_doc=('' '' '')
    echo "---- $flavor"
    t0=$(now)
    url=$(ESPCAP_NODE_FLAVOR=$flavor "$here/start-node.sh" "$tmp/$flavor-1.pid")
    local took; took=$(since "$t0")
    pids+=("$tmp/$flavor-1.pid")
    check "$flavor node starts ($took s)" test -n "$url" || return
    timings+=("$flavor: $took s")
    echo "     $url, RSS $(awk '/VmRSS/{print $2, $3}' "/proc/$(cat "$tmp/$flavor-1.pid")/status" 2>/dev/null)"

    root=$(req GET /)
    ulong=''
    case $flavor in
        os2 | os3)
            local want=2.19.; [ "$flavor" = os3 ] && want=3.
            check "GET / is OpenSearch $want" has "$root" "\"number\" : \"$want"
            check "GET / distribution" has "$root" '"distribution" : "opensearch"'
            ulong='"offset":{"type":"unsigned_long"},'
            ulong_doc=('"offset":18446744073709551615,' '"offset":0,' '"offset":9223372036854775808,')
            ;;
        es7)
            check "GET / is Elasticsearch 7.17" has "$root" '"number" : "7.17.'
            ;;   # unsigned_long is an x-pack type, not in the server jar
    esac

    r=$(req PUT /_index_template/espcap-smoke "{\"index_patterns\":[\"espcap-smoke-*\"],\"template\":{
      \"settings\":{\"number_of_shards\":1,\"number_of_replicas\":0},
      \"mappings\":{\"properties\":{\"src\":{\"type\":\"ip\"},\"dst\":{\"type\":\"ip\"},\"bytes\":{\"type\":\"long\"},$ulong
      \"ts\":{\"type\":\"date\",\"format\":\"strict_date_optional_time||epoch_millis\"},
      \"truncated\":{\"type\":\"boolean\"},\"proto\":{\"type\":\"keyword\"}}}}}")
    check "PUT _index_template (ip long ${ulong:+unsigned_long }date boolean keyword)" has "$r" '"acknowledged":true'

    r=$(req PUT /espcap-smoke-plain '{"settings":{"number_of_replicas":0}}')
    check "create an index" has "$r" '"acknowledged":true'

    bulk=$(printf '%s\n' \
      '{"index":{"_index":"espcap-smoke-1","_id":"1"}}' \
      "{\"src\":\"10.1.2.3\",\"dst\":\"192.168.0.1\",\"bytes\":1500,${ulong_doc[0]}\"ts\":\"2024-01-01T00:00:00.123Z\",\"truncated\":false,\"proto\":\"tcp\"}" \
      '{"index":{"_index":"espcap-smoke-1","_id":"2"}}' \
      "{\"src\":\"10.1.9.9\",\"dst\":\"2001:db8::1\",\"bytes\":60,${ulong_doc[1]}\"ts\":1704067200000,\"truncated\":true,\"proto\":\"udp\"}" \
      '{"index":{"_index":"espcap-smoke-1","_id":"3"}}' \
      "{\"src\":\"172.16.0.5\",\"dst\":\"10.1.2.3\",\"bytes\":9000,${ulong_doc[2]}\"ts\":\"2024-01-01T00:00:01Z\",\"truncated\":false,\"proto\":\"icmp\"}")
    r=$(curl -s -m 60 -X POST "$url/_bulk?refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"$'\n')
    check "bulk-index 3 documents" has "$r" '"errors":false'

    q() { req POST "/espcap-smoke-*/_search?filter_path=hits.total.value" "$1"; }
    check "CIDR term query on ip (IPv4)" has "$(q '{"query":{"term":{"src":"10.1.0.0/16"}}}')" '"value":2'
    check "CIDR term query on ip (IPv6)" has "$(q '{"query":{"term":{"dst":"2001:db8::/32"}}}')" '"value":1'
    check "date range query" has "$(q '{"query":{"range":{"ts":{"gte":"2024-01-01T00:00:00.100Z"}}}}')" '"value":2'
    check "boolean + keyword query" has "$(q '{"query":{"bool":{"filter":[{"term":{"truncated":true}},{"term":{"proto":"udp"}}]}}}')" '"value":1'
    if [ -n "$ulong" ]; then
        check "unsigned_long range above 2^63" has "$(q '{"query":{"range":{"offset":{"gte":9223372036854775808}}}}')" '"value":2'
    fi

    t0=$(now)
    pid1=$(cat "$tmp/$flavor-1.pid")
    "$here/stop-node.sh" "$tmp/$flavor-1.pid"
    check "$flavor node stops ($(since "$t0") s)" test ! -e "$tmp/$flavor-1.pid" -a ! -e "/proc/$pid1"

    # a one-slot write queue answers 429
    url=$(ESPCAP_NODE_FLAVOR=$flavor "$here/start-node.sh" "$tmp/$flavor-2.pid" --write-queue 1 --write-threads 1)
    pids+=("$tmp/$flavor-2.pid")
    check "$flavor node with thread_pool.write.queue_size=1 starts" test -n "$url" || return
    r=$(req GET "/_nodes/thread_pool?filter_path=nodes.*.thread_pool.write")
    check "write pool is size 1, queue 1" has "$r" '"size":1,"queue_size":1'
    got429=no
    for _round in 1 2 3; do
        codes=$(for _ in $(seq 40); do
            curl -s -m 30 -o /dev/null -w '%{http_code}\n' -X POST "$url/espcap-smoke-q/_doc" -H "$J" -d '{"n":1}' &
        done; wait)
        if grep -qx 429 <<<"$codes"; then got429=yes; break; fi
    done
    check "concurrent writes get 429 Too Many Requests" test $got429 = yes
    pid2=$(cat "$tmp/$flavor-2.pid")
    "$here/stop-node.sh" "$tmp/$flavor-2.pid"
    check "second $flavor node stops" test ! -e "/proc/$pid2"
}

# ---- a three-node cluster, a node killed and restarted ---------------------------
cluster_part() {
    local flavor=${ESPCAP_SMOKE_CLUSTER_FLAVOR:-os3} dir=$tmp/cluster t0 urls r docs i
    local -a u
    echo "---- cluster ($flavor)"
    clusters+=("$dir")
    t0=$(now)
    urls=$(ESPCAP_NODE_FLAVOR=$flavor "$here/start-cluster.sh" "$dir" 3)
    local took; took=$(since "$t0")
    IFS=, read -r -a u <<<"$urls"
    check "start-cluster.sh: 3 $flavor nodes green ($took s)" test ${#u[@]} = 3 || return
    timings+=("3-node $flavor cluster: $took s")
    echo "     $urls"
    url=${u[0]}
    r=$(req GET "/_cat/nodes?h=name" | sort | tr '\n' ' ')
    check "3 nodes in the cluster" has "$r" 'espcap-node-0 espcap-node-1 espcap-node-2'

    r=$(req PUT /espcap-smoke-cluster '{"settings":{"number_of_shards":3,"number_of_replicas":1},
        "mappings":{"properties":{"n":{"type":"long"},"src":{"type":"ip"}}}}')
    check "create an index with 3 shards, 1 replica" has "$r" '"acknowledged":true'
    docs=$(for i in $(seq 1 30); do
        printf '{"index":{"_id":"%d"}}\n{"n":%d,"src":"10.0.0.%d"}\n' "$i" "$i" "$i"; done)
    r=$(curl -s -m 60 -X POST "$url/espcap-smoke-cluster/_bulk?refresh=true" \
        -H 'Content-Type: application/x-ndjson' --data-binary "$docs"$'\n')
    check "bulk-index 30 documents" has "$r" '"errors":false'
    r=$(req GET "/_cluster/health?wait_for_status=green&wait_for_nodes=3&timeout=60s")
    check "green with 3 nodes" has "$r" '"status":"green","timed_out":false,"number_of_nodes":3'
    r=$(req GET "/_cat/shards/espcap-smoke-cluster?h=prirep,state" | sort | uniq -c | tr -s ' \n' ' ')
    check "3 primaries and 3 replicas started" has "$r" '3 p STARTED 3 r STARTED'
    r=$(req GET "/_cat/shards/espcap-smoke-cluster?h=node" | sort -u | wc -l)
    check "the shards are spread over the 3 nodes" test "$r" = 3

    # kill -9 the elected cluster manager: the hardest one to lose
    local cm victim other vpid
    cm=$(req GET "/_cat/cluster_manager?h=node" 2>/dev/null)
    [[ $cm == espcap-node-* ]] || cm=$(req GET "/_cat/master?h=node")
    victim=${cm##*-}; victim=${victim//[^0-9]/}
    [ -n "$victim" ] || victim=0
    other=$(((victim + 1) % 3))
    vpid=$(cat "$dir/node-$victim.pid")
    kill -KILL "$vpid"
    for _ in $(seq 100); do [ -e "/proc/$vpid" ] || break; sleep 0.1; done
    check "kill -9 node $victim (the cluster manager, pid $vpid)" test ! -e "/proc/$vpid"
    url=${u[$other]}
    r=$(req GET "/espcap-smoke-cluster/_count")
    check "30 documents searchable through node $other" has "$r" '"count":30'
    r=$(req POST "/espcap-smoke-cluster/_search?filter_path=hits.total.value" '{"query":{"term":{"src":"10.0.0.0/24"}},"track_total_hits":true}')
    check "a query through node $other finds all 30" has "$r" '"value":30'
    r=$(req GET "/_cluster/health?wait_for_nodes=2&wait_for_status=yellow&timeout=90s")
    check "2 nodes left, a new cluster manager elected" has "$r" '"timed_out":false,"number_of_nodes":2'
    r=$(curl -s -m 60 -X POST "$url/espcap-smoke-cluster/_doc/31?refresh=true" -H "$J" -d '{"n":31,"src":"10.0.0.31"}')
    check "writes go on through node $other" has "$r" '"result":"created"'

    t0=$(now)
    r=$("$here/start-cluster.sh" "$dir" --node "$victim")
    took=$(since "$t0")
    check "start-cluster.sh --node $victim restarts it on ${u[$victim]} ($took s)" test "$r" = "${u[$victim]}"
    timings+=("$flavor node restart into the cluster: $took s")
    url=${u[$victim]}
    r=$(req GET "/_cluster/health?wait_for_status=green&wait_for_nodes=3&timeout=120s")
    check "node $victim rejoined: green with 3 nodes" has "$r" '"status":"green","timed_out":false,"number_of_nodes":3'
    r=$(req GET "/espcap-smoke-cluster/_count")
    check "31 documents through the restarted node" has "$r" '"count":31'
    r=$(req GET "/_cat/shards/espcap-smoke-cluster?h=node,state" | grep -c "espcap-node-$victim STARTED")
    check "node $victim holds shards again" test "$r" -ge 1

    local allpids
    allpids=$(cat "$dir"/node-*.pid)
    "$here/stop-cluster.sh" "$dir"
    local left=0
    for p in $allpids; do [ -e "/proc/$p" ] && left=$((left + 1)); done
    check "stop-cluster.sh stops the 3 nodes" test $left = 0
}

cluster_py_part() {
    local flavor=${ESPCAP_SMOKE_PY_FLAVOR:-os2} out t0
    echo "---- cluster-py ($flavor)"
    command -v python3 >/dev/null || { check "python3 for tests/helpers/cluster.py" false; return; }
    t0=$(now)
    out=$(python3 "$here/../helpers/cluster.py" --flavor "$flavor" 2>&1)
    sed 's/^/     /' <<<"$out"
    check "tests/helpers/cluster.py self-test on $flavor ($(since "$t0") s)" has "$out" ' passed, 0 failed'
}

for p in "${parts[@]}"; do
    case $p in
        cluster) cluster_part ;;
        cluster-py) cluster_py_part ;;
        *) flavour_part "$p" ;;
    esac
done

if [ ${#timings[@]} -gt 0 ]; then
    echo "start-up (start-node.sh / start-cluster.sh until healthy):"
    printf '     %s\n' "${timings[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
