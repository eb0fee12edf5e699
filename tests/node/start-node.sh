#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Start a real search node (tests/node, in-process launcher) in the background
# for the test suite: OpenSearch 2.19 by default, ESPCAP_NODE_FLAVOR=os3 for
# OpenSearch 3.x (on a Java 21+), es7 for Elasticsearch 7.17.
#
#   tests/node/start-node.sh PIDFILE [launcher options...]
#
# Prints the node's base URL (http://127.0.0.1:PORT) on stdout, once
# GET /_cluster/health?wait_for_status=yellow answers; everything else goes to
# stderr.  The node's PID is written to PIDFILE; stop it with
# tests/node/stop-node.sh PIDFILE.
#
# Launcher options (see README.md): --http-port N (default 0 = a free port),
# --transport-port N, --data DIR, --write-queue N, --write-threads N, --keep,
# --node-name NAME, --cluster-name NAME, --seed-hosts H:P,...,
# --cluster-managers NAME,..., --replicas N, -Ekey=value ...
# A node given --seed-hosts joins a cluster: start its peers at the same time
# (start-cluster.sh does), it is ready once the cluster has formed.
#
# Environment:
#   ESPCAP_NODE_FLAVOR     os2 (default; "opensearch" is the same), os3 or es7
#   ESPCAP_NODE_JAVA_OPTS  JVM options (default: -Xms512m -Xmx1g)
#   ESPCAP_NODE_TIMEOUT    seconds to wait for the node (default 120)
#   ESPCAP_NODE_REBUILD=1  rebuild the launcher even if the jar is up to date
#   JAVA_HOME / JAVA       the Java to run (17+; os3: 21+, else the JDK in
#                          /usr/lib/jvm/temurin-25-jdk-amd64 or another 21+)
#   MVN                    the Maven command (default mvn)
#   TMPDIR                 where the node's temporary folder goes
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "start-node: $*" >&2; exit 1; }

# shellcheck source=lib.sh
. "$here/lib.sh"

flavor=$(node_flavor)
[ $# -ge 1 ] || die "usage: $0 PIDFILE [launcher options...]"
pidfile=$1; shift
case $pidfile in -*) die "usage: $0 PIDFILE [launcher options...] (PIDFILE first)";; esac
timeout_s=${ESPCAP_NODE_TIMEOUT:-120}

find_java "$flavor"
build_launcher "$flavor"
jar=$(flavor_jar "$flavor")
jvm_options "$java_major"

# ---- start ------------------------------------------------------------------
mkdir -p "${TMPDIR:-/tmp}"
base=$(mktemp -d "${TMPDIR:-/tmp}/espcap-node.XXXXXX")
portfile=$base/http.port
console=$base/console.log

nohup "$java" "${jvm_opts[@]}" -Djava.io.tmpdir="$base" -jar "$jar" \
    --work-dir "$base/node" --port-file "$portfile" "$@" \
    </dev/null >"$console" 2>&1 &
pid=$!
mkdir -p "$(dirname "$pidfile")"
echo "$pid" >"$pidfile"

fail() {
    echo "start-node: $*" >&2
    if [ -s "$console" ]; then
        echo "start-node: --- last lines of the node's console ($console) ---" >&2
        tail -n 40 "$console" >&2
    fi
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    rm -rf "$base"
    exit 1
}

deadline=$((SECONDS + timeout_s))
port=
while :; do
    kill -0 "$pid" 2>/dev/null || fail "the node exited during start-up"
    [ $SECONDS -lt $deadline ] || fail "the node did not get ready within ${timeout_s} s"
    if [ -z "$port" ] && [ -s "$portfile" ]; then
        port=$(tr -dc 0-9 <"$portfile")
    fi
    if [ -n "$port" ]; then
        reply=$(http_get "$port" "/_cluster/health?wait_for_status=yellow&timeout=5s" || true)
        if [ "${reply%%$'\n'*}" = 200 ] && grep -q '"timed_out":false' <<<"$reply"; then
            break
        fi
    fi
    sleep 0.3
done

echo "start-node: node pid $pid ($flavor, $java) ready on port $port (work folder $base)" >&2
echo "http://127.0.0.1:$port"
