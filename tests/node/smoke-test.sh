#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Smoke test of the test node launcher: starts a node with start-node.sh,
# checks the mappings and queries espcap relies on, starts a second node with a
# one-slot write queue and checks it answers 429, stops both.
#
#   tests/node/smoke-test.sh            # OpenSearch 2.19
#   ESPCAP_NODE_FLAVOR=es7 tests/node/smoke-test.sh   # Elasticsearch 7.17
#
# Ends with "N passed, N failed"; exit status 0 only if nothing failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
flavor=${ESPCAP_NODE_FLAVOR:-opensearch}
command -v curl >/dev/null || { echo "smoke-test: curl is needed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/espcap-node-smoke.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do "$here/stop-node.sh" "$p" >/dev/null 2>&1; done
    rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0
check() { # name, then a command that must succeed
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); echo "ok   $name"
    else failed=$((failed + 1)); echo "FAIL $name"; fi
}
has() { grep -q -- "$2" <<<"$1" || { echo "     expected '$2' in: ${1:0:600}" >&2; return 1; }; }

J='Content-Type: application/json'
req() { curl -s -m 30 -X "$1" "$url$2" -H "$J" ${3:+-d "$3"}; }

# ---- node 1: mappings and queries -------------------------------------------
t0=$SECONDS
url=$(ESPCAP_NODE_FLAVOR=$flavor "$here/start-node.sh" "$tmp/node1.pid")
pids+=("$tmp/node1.pid")
check "node starts (${flavor}, $((SECONDS - t0)) s)" test -n "$url" || { echo "0 passed, 1 failed"; exit 1; }
echo "     $url, RSS $(awk '/VmRSS/{print $2, $3}' "/proc/$(cat "$tmp/node1.pid")/status" 2>/dev/null)"

root=$(req GET /)
if [ "$flavor" = opensearch ]; then
    check "GET / is OpenSearch 2.19" has "$root" '"number" : "2.19.'
    check "GET / distribution" has "$root" '"distribution" : "opensearch"'
    ulong='"offset":{"type":"unsigned_long"},'
    ulong_doc=('"offset":18446744073709551615,' '"offset":0,' '"offset":9223372036854775808,')
else
    check "GET / is Elasticsearch 7.17" has "$root" '"number" : "7.17.'
    ulong=''            # unsigned_long is an x-pack type, not in the server jar
    ulong_doc=('' '' '')
fi

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
r=$(curl -s -m 30 -X POST "$url/_bulk?refresh=true" -H 'Content-Type: application/x-ndjson' --data-binary "$bulk"$'\n')
check "bulk-index 3 documents" has "$r" '"errors":false'

q() { req POST "/espcap-smoke-*/_search?filter_path=hits.total.value" "$1"; }
check "CIDR term query on ip (IPv4)" has "$(q '{"query":{"term":{"src":"10.1.0.0/16"}}}')" '"value":2'
check "CIDR term query on ip (IPv6)" has "$(q '{"query":{"term":{"dst":"2001:db8::/32"}}}')" '"value":1'
check "date range query" has "$(q '{"query":{"range":{"ts":{"gte":"2024-01-01T00:00:00.100Z"}}}}')" '"value":2'
check "boolean + keyword query" has "$(q '{"query":{"bool":{"filter":[{"term":{"truncated":true}},{"term":{"proto":"udp"}}]}}}')" '"value":1'
if [ -n "$ulong" ]; then
    check "unsigned_long range above 2^63" has "$(q '{"query":{"range":{"offset":{"gte":9223372036854775808}}}}')" '"value":2'
fi

t0=$SECONDS
pid1=$(cat "$tmp/node1.pid")
"$here/stop-node.sh" "$tmp/node1.pid"
check "node stops ($((SECONDS - t0)) s)" test ! -e "$tmp/node1.pid" -a ! -e "/proc/$pid1"

# ---- node 2: a one-slot write queue answers 429 -----------------------------
url=$(ESPCAP_NODE_FLAVOR=$flavor "$here/start-node.sh" "$tmp/node2.pid" --write-queue 1 --write-threads 1)
pids+=("$tmp/node2.pid")
check "node with thread_pool.write.queue_size=1 starts" test -n "$url"
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
pid2=$(cat "$tmp/node2.pid")
"$here/stop-node.sh" "$tmp/node2.pid"
check "second node stops" test ! -e "/proc/$pid2"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
