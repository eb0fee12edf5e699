#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Start a real single-node OpenSearch 2.19 (tests/node, in-process launcher) in
# the background for the test suite; ESPCAP_NODE_FLAVOR=es7 starts an
# Elasticsearch 7.17 node instead (tests/node/es7).
#
#   tests/node/start-node.sh PIDFILE [launcher options...]
#
# Prints the node's base URL (http://127.0.0.1:PORT) on stdout, once
# GET /_cluster/health?wait_for_status=yellow answers; everything else goes to
# stderr.  The node's PID is written to PIDFILE; stop it with
# tests/node/stop-node.sh PIDFILE.
#
# Launcher options (see TestNode.java): --http-port N (default 0 = a free port),
# --data DIR, --write-queue N, --write-threads N, --keep, -Ekey=value ...
#
# Environment:
#   ESPCAP_NODE_FLAVOR     opensearch (default) or es7
#   ESPCAP_NODE_JAVA_OPTS  JVM options (default: -Xms512m -Xmx1g)
#   ESPCAP_NODE_TIMEOUT    seconds to wait for the node (default 120)
#   ESPCAP_NODE_REBUILD=1  rebuild the launcher even if the jar is up to date
#   JAVA_HOME / JAVA       the Java 17+ to run
#   MVN                    the Maven command (default mvn)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "start-node: $*" >&2; exit 1; }

case ${ESPCAP_NODE_FLAVOR:-opensearch} in
    opensearch) module=$here; jar=$here/target/espcap-testnode.jar ;;
    es7) module=$here/es7; jar=$here/es7/target/espcap-testnode-es7.jar ;;
    *) die "ESPCAP_NODE_FLAVOR must be opensearch or es7, not '$ESPCAP_NODE_FLAVOR'" ;;
esac

[ $# -ge 1 ] || die "usage: $0 PIDFILE [launcher options...]"
pidfile=$1; shift
case $pidfile in -*) die "usage: $0 PIDFILE [launcher options...] (PIDFILE first)";; esac
timeout_s=${ESPCAP_NODE_TIMEOUT:-120}

if [ -n "${JAVA:-}" ]; then java=$JAVA
elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then java=$JAVA_HOME/bin/java
else java=java; fi
command -v "$java" >/dev/null || die "no java found (Java 17+ is needed)"

# ---- build the launcher if it is missing or older than its sources ----------
need_build=${ESPCAP_NODE_REBUILD:-0}
if [ ! -f "$jar" ] || [ ! -d "$module/target/lib" ]; then
    need_build=1
elif [ -n "$(find "$module/pom.xml" "$module/src" -newer "$jar" -print -quit)" ]; then
    need_build=1
fi
if [ "$need_build" != 0 ]; then
    mvn=${MVN:-mvn}
    command -v "$mvn" >/dev/null || die "Maven ($mvn) is needed to build $jar"
    echo "start-node: building the test node launcher" >&2
    # offline first (everything in ~/.m2 after the first build), then online
    if ! "$mvn" -B -q -o -f "$module/pom.xml" package >/dev/null 2>&1; then
        "$mvn" -B -q -f "$module/pom.xml" package >&2 || die "the launcher build failed"
    fi
fi

# ---- JVM options --------------------------------------------------------------
java_major=$("$java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
[ -n "$java_major" ] && [ "$java_major" -ge 17 ] || die "Java 17+ is needed ($java is ${java_major:-unknown})"
# OpenSearch 2.x expects the JDK 8 compatible locale data for date parsing
# (the COMPAT provider was removed in JDK 23)
if [ "$java_major" -ge 23 ]; then locale=SPI,CLDR; else locale=SPI,COMPAT; fi
# shellcheck disable=SC2206
jvm_opts=(${ESPCAP_NODE_JAVA_OPTS:--Xms512m -Xmx1g})
jvm_opts+=(
    -XX:+UseG1GC -Xss1m
    -Djava.awt.headless=true -Dfile.encoding=UTF-8
    -Djava.locale.providers=$locale
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true -Dlog4j2.formatMsgNoLookups=true
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true
    -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0
    -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError
)

# ---- start ------------------------------------------------------------------
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

# GET a URL on 127.0.0.1; prints "STATUS\nBODY".  Uses curl, else bash's /dev/tcp.
http_get() { # port path
    if command -v curl >/dev/null; then
        curl -s -m 10 -o "$base/http.body" -w '%{http_code}\n' "http://127.0.0.1:$1$2" || echo 000
        cat "$base/http.body" 2>/dev/null
    else
        (
            exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || exit 1
            printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
            timeout 10 cat <&3
        ) | tr -d '\r' | awk 'NR==1{s=$2; next} body{b=b $0 "\n"} /^$/{body=1} END{print s; printf "%s", b}'
    fi
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

echo "start-node: node pid $pid ready on port $port (work folder $base)" >&2
echo "http://127.0.0.1:$port"
